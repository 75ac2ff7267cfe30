// MixService: the mixes of this server (POST/GET/PATCH/DELETE
// /api/v1/mixes, mix_api.h). A mix counts as a transcode job: it takes one
// of transcode.max_jobs' slots (TranscodeService::acquire_slot) for its
// life. Each runs as a MixJob on the loop of the request that created it.
//
// Ids: "mx" + 16 hex digits, random; listed in id order. Mixes live in
// memory (a restart forgets them).
//
// Errors of create()/update()/remove() come as MixError with the API status
// to answer (400 naming the field, 404, 409 for a program already live, 503
// past max_jobs or when the job's loop refuses).
//
// Thread: create() on an API loop (the job runs there); update(), remove(),
// list(), get() on any loop; stop_all() on the main thread with loops
// running. The table is under one mutex, never held across a job call (those
// are posted to the job's loop).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "transcode/mix_job.h"
#include "transcode/mix_spec.h"

namespace weir::core {
class Loop;
class WorkerPool;
}  // namespace weir::core
namespace weir::origin {
class Origin;
}

namespace weir::transcode {

class TranscodeService;

struct MixError {
  int status = 400;
  std::string code;     // "bad_request", "not_found", "conflict", "unavailable"
  std::string message;
  std::string field;
};

class MixService {
 public:
  static constexpr size_t kMaxMixes = 256;

  MixService(origin::Origin& origin, core::WorkerPool& pool, TranscodeService& transcoder);
  ~MixService();

  // The mix's record (as GET answers) or an error.
  std::variant<nlohmann::json, MixError> create(const nlohmann::json& body);
  std::variant<nlohmann::json, MixError> update(const std::string& id, const nlohmann::json& body);
  std::variant<nlohmann::json, MixError> get(const std::string& id) const;
  std::optional<MixError> remove(const std::string& id);
  // Up to `limit` records with ids after `after`; `more` when others follow.
  nlohmann::json list(const std::string& after, size_t limit, bool& more, std::string& last_id) const;
  void write_metrics(std::string& out) const;
  void stop_all();

  static bool valid_id(std::string_view id);

  // For MixJob ----------------------------------------------------------------
  origin::Origin& origin() { return origin_; }
  core::WorkerPool& pool() { return pool_; }
  // From the job's loop as it ends (freed after).
  void job_ended(MixJob* job, const std::string& why);

 private:
  struct Entry {
    MixSpec spec;
    core::Loop* loop = nullptr;
    MixJob* job = nullptr;  // touched on `loop` only
    int64_t created_ms = 0;
    bool deleting = false;  // DELETE answered; the job stops on its loop (still holds its name and slot)
    std::shared_ptr<MixJob::Counters> counters;
  };
  nlohmann::json record(const std::string& id, const Entry& e) const;
  std::optional<MixError> check_apps(const MixSpec& spec) const;

  origin::Origin& origin_;
  core::WorkerPool& pool_;
  TranscodeService& transcoder_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> mixes_;  // by id; guarded by mu_
};

}  // namespace weir::transcode
