// TranscodeService: the transcoder's attachment to the origin. It is
//  - the StreamSource (origin/stream_sources.h) of rendition streams: a
//    viewer that misses live/foo_360p (apps.live.rendition_name) while
//    live/foo is published starts the job of foo, which publishes every
//    rendition of the app at once (one job per source);
//  - a StreamObserver: apps with transcode_mode `always` start the job when
//    the source is published;
//  - an admission check ("transcode") refusing with 503 a play that would
//    start a job past transcode.max_jobs (logged), so the viewer is told at
//    once instead of waiting;
//  - the same for the watermarked output of apps with watermark.enabled
//    (live/foo_wm: the job draws the stream's WatermarkSlot before the
//    renditions' split, so renditions carry the watermark too), the
//    WatermarkBoard of live streams' watermarks (forgotten at stream end),
//    and the PlayAlias of watermark.serve: replace;
//  - the metrics and the job list for the admin API;
//  - the events transcode.started, transcode.stopped and transcode.failed
//    (through `emit`, which must be callable from any loop).
//
//   transcode::TranscodeService transcoder(origin, transcode_pool, emit);   // main thread
//   origin.sources().add(&transcoder);
//   origin.add_observer(&transcoder);
//   origin.add_play_alias(&transcoder);
//   origin.admission().add(transcoder.admission_check());
//   ...
//   transcoder.stop_all();                                          // shutdown, loops running
//
// Jobs run on the loop that started them (the viewer's, or the publisher's);
// their FFmpeg work runs on `pool`. Outputs of a job are never sources of
// another (foo_360p_360p is not made).
//
// Thread: serves()/want()/check_now()/observer callbacks on any loop;
// write_metrics()/jobs_json() any thread; stop_all() on the main thread. The
// job table is under one mutex, taken per job start/end and per metrics
// scrape, never per packet.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include <functional>

#include <nlohmann/json.hpp>

#include "origin/admission.h"
#include "origin/play_alias.h"
#include "origin/stream_observer.h"
#include "origin/stream_sources.h"
#include "transcode/watermark_board.h"

namespace weir::core {
class Loop;
class WorkerPool;
struct AppConfig;
}  // namespace weir::core
namespace weir::origin {
class Origin;
}

namespace weir::transcode {

class TranscodeJob;

class TranscodeService final : public origin::StreamSource, public origin::StreamObserver, public origin::PlayAlias {
 public:
  // An event out (type, data as JSON text, app): called from the job's loop.
  using Emit = std::function<void(std::string type, std::string data_json, std::string app)>;
  TranscodeService(origin::Origin& origin, core::WorkerPool& pool, Emit emit = {});
  ~TranscodeService() override;

  // StreamSource
  int64_t serves(const core::AppConfig& app, std::string_view stream) const override;
  void want(const std::string& app, const std::string& stream, const origin::AdmissionRequest& first) override;
  // StreamObserver
  void on_stream_published(const std::shared_ptr<origin::StreamHub>& stream, const origin::PublishEvent& e) override;
  void on_stream_ended(const std::shared_ptr<origin::StreamHub>& stream, const std::string& why) override;
  // PlayAlias (watermark.serve: replace)
  std::string hub_for(const core::AppConfig& app, std::string_view stream) const override;

  // Watermarks of live streams (the admin API sets them). Any thread.
  WatermarkBoard& watermarks() { return watermarks_; }
  // The admission check to add to the origin's chain (refers to this service).
  std::unique_ptr<origin::AdmissionCheck> admission_check();

  void write_metrics(std::string& out) const;
  // GET /api/v1/transcodes: up to `limit` jobs after the key `after` (by
  // "app/stream"), as the API lists them; `more` when others follow.
  nlohmann::json jobs_json(const std::string& after, size_t limit, bool& more, std::string& last_key) const;
  // Main thread, loops running: stops every job and waits (up to 3 s).
  void stop_all();

  // An event of a transcoding module (jobs here, mixes): to `emit` if set. Any thread.
  void emit_event(std::string type, const nlohmann::json& data, std::string app) const;

  // For TranscodeJob ----------------------------------------------------------
  origin::Origin& origin() { return origin_; }
  core::WorkerPool& pool() { return pool_; }
  // From the job's loop as it ends (it is freed after): forgets it and
  // releases its output keys (`failure` non-empty: waiting viewers get it);
  // `why` is the reason given in its event.
  void job_ended(TranscodeJob* job, const std::string& why, const std::string& failure);

  // Whether app/stream is an output of a running job. Any thread.
  bool is_output(std::string_view app, std::string_view stream) const;
  // A job of another kind (a mix) takes one of transcode.max_jobs' slots for
  // its life: false (counted as refused) when none is free. Any thread.
  bool acquire_slot();
  void release_slot();

  // Why a play of app/stream must be refused now ("" if not): it would start
  // a job past transcode.max_jobs. Any thread.
  std::string refusal(const core::AppConfig& app, std::string_view app_name, std::string_view stream) const;

 private:
  // Starts the job of app/source on the calling loop. "" or why not.
  std::string start_job(const std::string& app, const std::string& source, const char* cause);
  // The source `stream` is an output of (a rendition or the watermarked
  // output), if it is one by name.
  static std::optional<std::string> source_of_output(const core::AppConfig& app, std::string_view stream);

  // Event data: the job's app, stream, mode and outputs (and counters when it ended).
  nlohmann::json job_event(const TranscodeJob& job, bool ended) const;

  origin::Origin& origin_;
  core::WorkerPool& pool_;
  Emit emit_;
  std::atomic<uint64_t> jobs_started_{0};
  std::atomic<uint64_t> jobs_failed_{0};
  std::atomic<uint64_t> jobs_refused_{0};
  mutable std::mutex mu_;
  std::map<std::string, TranscodeJob*> jobs_;        // by "app/source"; guarded by mu_
  std::set<std::string, std::less<>> outputs_;       // "app/stream" of every running job's outputs; guarded by mu_
  WatermarkBoard watermarks_;
  int64_t slots_taken_ = 0;                          // by acquire_slot(); guarded by mu_
};

}  // namespace weir::transcode
