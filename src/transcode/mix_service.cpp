#include "transcode/mix_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <random>
#include <thread>

#include "core/clock.h"
#include "core/config.h"
#include "core/loop.h"
#include "origin/api/api_format.h"
#include "origin/origin.h"
#include "origin/registry.h"
#include "transcode/transcode_service.h"

namespace weir::transcode {

namespace {

MixError error(int status, std::string code, std::string message, std::string field = {}) {
  return MixError{status, std::move(code), std::move(message), std::move(field)};
}

std::string new_id() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard<std::mutex> lk(mu);
  return fmt::format("mx{:016x}", rng());
}

}  // namespace

MixService::MixService(origin::Origin& origin, core::WorkerPool& pool, TranscodeService& transcoder)
    : origin_(origin), pool_(pool), transcoder_(transcoder) {}

MixService::~MixService() {
  std::lock_guard<std::mutex> lk(mu_);
  if (!mixes_.empty()) spdlog::warn("mix: {} mixes still running at exit", mixes_.size());
}

bool MixService::valid_id(std::string_view id) {
  if (id.size() != 18 || id.substr(0, 2) != "mx") return false;
  for (char c : id.substr(2))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::optional<MixError> MixService::check_apps(const MixSpec& spec) const {
  const core::Config& cfg = origin_.config();
  if (!cfg.find_app(spec.app)) return error(400, "bad_request", "app: no app " + spec.app + " is configured", "app");
  for (size_t i = 0; i < spec.inputs.size(); ++i)
    if (!cfg.find_app(spec.inputs[i].app)) {
      const std::string f = fmt::format("inputs[{}].stream", i);
      return error(400, "bad_request", f + ": no app " + spec.inputs[i].app + " is configured", f);
    }
  return std::nullopt;
}

nlohmann::json MixService::record(const std::string& id, const Entry& e) const {
  nlohmann::json j = mix_spec_json(e.spec);
  j["id"] = id;
  j["stream"] = e.spec.key();
  j["created_at"] = origin::api::rfc3339_ms(e.created_ms);
  for (size_t i = 0; i < e.spec.inputs.size(); ++i)
    j["inputs"][i]["live"] = origin_.registry().find(e.spec.inputs[i].app, e.spec.inputs[i].stream) != nullptr;
  const auto& c = *e.counters;
  j["frames_out"] = c.frames_out.load();
  j["frames_dropped"] = c.frames_dropped.load();
  j["packets_dropped"] = c.packets_dropped.load();
  j["inputs_shown"] = c.inputs_shown.load();
  j["graph_builds"] = c.graph_builds.load();
  j["audio_underruns"] = c.audio_underruns.load();
  return j;
}

std::variant<nlohmann::json, MixError> MixService::create(const nlohmann::json& body) {
  MixSpec spec;
  if (auto e = parse_mix_create(body, spec)) return error(400, "bad_request", e->message, e->field);
  if (auto e = check_apps(spec)) return *e;
  core::Loop* loop = core::Loop::current();
  if (!loop) return error(503, "unavailable", "no loop");
  if (origin_.registry().find(spec.app, spec.name))
    return error(409, "conflict", "stream " + spec.key() + " is live already", "name");
  std::string id = new_id();
  MixJob* job = nullptr;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& [other, e] : mixes_)
      if (e.spec.key() == spec.key())
        return error(409, "conflict", "mix " + other + " makes " + spec.key() + " already", "name");
    if (mixes_.size() >= kMaxMixes) return error(503, "unavailable", fmt::format("{} mixes exist already", kMaxMixes));
    if (mixes_.count(id)) return error(503, "unavailable", "id collision; try again");
    if (!transcoder_.acquire_slot())
      return error(503, "unavailable",
                   fmt::format("transcode.max_jobs ({}) reached: no mix can start now", origin_.config().transcode.max_jobs));
    job = new MixJob(*this, *loop, id, spec);
    Entry e;
    e.spec = spec;
    e.loop = loop;
    e.job = job;
    e.created_ms = core::wall_clock_ms();
    e.counters = job->counters();
    mixes_.emplace(id, std::move(e));
  }
  if (core::Status st = job->start(); !st) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      mixes_.erase(id);
    }
    transcoder_.release_slot();
    delete job;
    return error(503, "unavailable", st.message());
  }
  auto rec = get(id);
  if (const auto* j = std::get_if<nlohmann::json>(&rec)) transcoder_.emit_event("mix.created", *j, spec.app);
  return rec;
}

std::variant<nlohmann::json, MixError> MixService::get(const std::string& id) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = mixes_.find(id);
  if (it == mixes_.end() || it->second.deleting) return error(404, "not_found", "no mix " + id);
  return record(id, it->second);
}

std::variant<nlohmann::json, MixError> MixService::update(const std::string& id, const nlohmann::json& body) {
  core::Loop* loop = nullptr;
  nlohmann::json rec;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = mixes_.find(id);
    if (it == mixes_.end() || it->second.deleting) return error(404, "not_found", "no mix " + id);
    MixSpec next;
    if (auto e = parse_mix_patch(body, it->second.spec, next)) return error(400, "bad_request", e->message, e->field);
    if (auto e = check_apps(next)) return *e;
    it->second.spec = std::move(next);
    loop = it->second.loop;
    rec = record(id, it->second);
  }
  // On the job's loop, which applies the table's spec as it is then (the
  // latest of several PATCHes, whatever loops they came from).
  if (!loop->post([this, id] {
        MixJob* job = nullptr;
        MixSpec spec;
        {
          std::lock_guard<std::mutex> lk(mu_);
          auto it = mixes_.find(id);
          if (it == mixes_.end() || it->second.deleting) return;
          spec = it->second.spec;
          job = it->second.job;
        }
        job->update(spec);
      }))
    return error(503, "unavailable", "the mix's loop refused the change; try again");
  transcoder_.emit_event("mix.updated", rec, rec.value("app", ""));
  return rec;
}

std::optional<MixError> MixService::remove(const std::string& id) {
  core::Loop* loop = nullptr;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = mixes_.find(id);
    if (it == mixes_.end() || it->second.deleting) return error(404, "not_found", "no mix " + id);
    it->second.deleting = true;  // 404 for GET/PATCH/DELETE from now on, before its loop stops the job
    loop = it->second.loop;
  }
  // The job is stopped on its loop; it leaves the table there (job_ended).
  if (!loop->post([this, id] {
        MixJob* job = nullptr;
        {
          std::lock_guard<std::mutex> lk(mu_);
          auto it = mixes_.find(id);
          if (it != mixes_.end()) job = it->second.job;
        }
        if (job) job->stop("deleted");
      })) {
    std::lock_guard<std::mutex> lk(mu_);
    if (auto it = mixes_.find(id); it != mixes_.end()) it->second.deleting = false;
    return error(503, "unavailable", "the mix's loop refused the removal; try again");
  }
  return std::nullopt;
}

void MixService::job_ended(MixJob* job, const std::string& why) {
  std::optional<nlohmann::json> rec;
  std::string app;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = mixes_.find(job->id());
    if (it != mixes_.end() && it->second.job == job) {
      rec = record(it->first, it->second);
      app = it->second.spec.app;
      mixes_.erase(it);
    }
  }
  spdlog::info("mix {}: ended ({})", job->id(), why);
  if (!rec) return;
  transcoder_.release_slot();
  // deleted: by the API; failed: the job's own error; ended: anything else
  // (the program's name taken over, shutdown).
  (*rec)["reason"] = why;
  const bool failed = why.rfind("failed", 0) == 0;
  if (failed) (*rec)["error"] = {{"message", why}};
  transcoder_.emit_event(why == "deleted" ? "mix.deleted" : failed ? "mix.failed" : "mix.ended", *rec, app);
}

nlohmann::json MixService::list(const std::string& after, size_t limit, bool& more, std::string& last_id) const {
  nlohmann::json items = nlohmann::json::array();
  more = false;
  std::lock_guard<std::mutex> lk(mu_);
  for (auto it = mixes_.upper_bound(after); it != mixes_.end(); ++it) {
    if (it->second.deleting) continue;
    if (items.size() >= limit) {
      more = true;
      break;
    }
    last_id = it->first;
    items.push_back(record(it->first, it->second));
  }
  return items;
}

void MixService::stop_all() {
  std::vector<std::pair<core::Loop*, std::string>> open;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& [id, e] : mixes_) open.emplace_back(e.loop, id);
  }
  for (auto& [loop, id] : open) {
    (void)loop->post([this, id = id] {
      MixJob* job = nullptr;
      {
        std::lock_guard<std::mutex> lk(mu_);
        auto it = mixes_.find(id);
        if (it != mixes_.end()) job = it->second.job;
      }
      if (job) job->stop("server shutting down");
    });
  }
  for (int i = 0; i < 300; ++i) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (mixes_.empty()) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& [id, e] : mixes_) spdlog::warn("mix {}: did not stop within 3 s", id);
}

void MixService::write_metrics(std::string& out) const {
  std::lock_guard<std::mutex> lk(mu_);
  out += fmt::format("# HELP weir_mix_jobs Mixes running.\n# TYPE weir_mix_jobs gauge\nweir_mix_jobs {}\n", mixes_.size());
  struct Family {
    const char* name;
    const char* help;
    std::atomic<uint64_t> MixJob::Counters::*field;
  };
  static const Family kFamilies[] = {
      {"weir_mix_frames_out_total", "Program pictures a mix encoded.", &MixJob::Counters::frames_out},
      {"weir_mix_frames_dropped_total", "Program frames a mix skipped (its strand was full or its timer late).",
       &MixJob::Counters::frames_dropped},
      {"weir_mix_packets_dropped_total", "Input packets a mix dropped up to the input's next keyframe (strand full).",
       &MixJob::Counters::packets_dropped},
  };
  for (const auto& f : kFamilies) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", f.name, f.help, f.name);
    for (const auto& [id, e] : mixes_)
      out += fmt::format("{}{{id=\"{}\",app=\"{}\",stream=\"{}\"}} {}\n", f.name, id, e.spec.app, e.spec.name,
                         (e.counters.get()->*(f.field)).load());
  }
}

}  // namespace weir::transcode
