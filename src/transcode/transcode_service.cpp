#include "transcode/transcode_service.h"

extern "C" {
#include <libavutil/log.h>
}

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/log_limiter.h"
#include "core/loop.h"
#include "origin/api/api_format.h"
#include "origin/origin.h"
#include "origin/registry.h"
#include "origin/stream_hub.h"
#include "transcode/rendition_name.h"
#include "transcode/transcode_job.h"
#include "transcode/watermark_names.h"

namespace weir::transcode {

namespace {
// How long a viewer of a rendition waits for its first packets: the job's
// start plus the first GOP through the encoders.
constexpr int64_t kViewerWaitMs = 15000;

std::string key_of(std::string_view app, std::string_view stream) {
  return std::string(app) + "/" + std::string(stream);
}

// Whether the app's streams are transcoded at all (renditions or a watermark).
bool transcodes(const core::AppConfig& app) { return !app.renditions.empty() || app.watermark.enabled; }

class TranscodeAdmission final : public origin::AdmissionCheck {
 public:
  TranscodeAdmission(TranscodeService& svc) : svc_(svc) {}
  std::string_view name() const override { return "transcode"; }
  std::optional<origin::AdmissionDecision> check_now(const origin::AdmissionRequest& req) override {
    if (req.direction != origin::Direction::kPlay) return origin::AdmissionDecision::allow();
    const core::AppConfig* cfg = svc_.origin().config().find_app(req.app);
    if (!cfg || !transcodes(*cfg)) return origin::AdmissionDecision::allow();
    std::string why = svc_.refusal(*cfg, req.app, svc_.origin().play_hub_name(cfg, req.stream));
    if (why.empty()) return origin::AdmissionDecision::allow();
    std::optional<uint64_t> n;
    {
      std::lock_guard<std::mutex> lk(mu_);
      n = log_.allow(core::wall_clock_ms());
    }
    if (n) spdlog::warn("transcode: play of {}/{} from {} refused: {} ({} similar before)", req.app, req.stream,
                        req.client, why, *n - 1);
    return origin::AdmissionDecision::deny(origin::Refusal::kUnavailable, why);
  }

 private:
  TranscodeService& svc_;
  std::mutex mu_;
  core::LogLimiter log_;  // guarded by mu_: a flood of refused plays costs a line per 5 s
};
}  // namespace

TranscodeService::TranscodeService(origin::Origin& origin, core::WorkerPool& pool, Emit emit)
    : origin_(origin), pool_(pool), emit_(std::move(emit)) {
  // FFmpeg's own log goes to stderr per packet (a garbage source would flood
  // it); the pipeline reports what fails in its own one-line errors.
  av_log_set_level(AV_LOG_FATAL);
}

TranscodeService::~TranscodeService() {
  std::lock_guard<std::mutex> lk(mu_);
  if (!jobs_.empty()) spdlog::warn("transcode: {} jobs still running at exit", jobs_.size());
}

std::unique_ptr<origin::AdmissionCheck> TranscodeService::admission_check() {
  return std::make_unique<TranscodeAdmission>(*this);
}

bool TranscodeService::is_output(std::string_view app, std::string_view stream) const {
  std::lock_guard<std::mutex> lk(mu_);
  return outputs_.count(key_of(app, stream)) > 0;
}

std::optional<std::string> TranscodeService::source_of_output(const core::AppConfig& app, std::string_view stream) {
  if (auto m = match_rendition(app.rendition_name, app.renditions, stream)) return m->source;
  if (app.watermark.enabled) return watermark_source_of(app.watermark, stream);
  return std::nullopt;
}

int64_t TranscodeService::serves(const core::AppConfig& app, std::string_view stream) const {
  if (!transcodes(app)) return 0;
  auto source = source_of_output(app, stream);
  if (!source || is_output(app.name, *source)) return 0;
  return kViewerWaitMs;
}

std::string TranscodeService::refusal(const core::AppConfig& app, std::string_view app_name, std::string_view stream) const {
  auto source = source_of_output(app, stream);
  if (!source) return "";
  if (origin_.registry().find(app_name, stream)) return "";  // live already (a job's output, or a plain stream)
  const int64_t max_jobs = origin_.config().transcode.max_jobs;
  std::lock_guard<std::mutex> lk(mu_);
  if (outputs_.count(key_of(app_name, stream)) || outputs_.count(key_of(app_name, *source))) return "";
  if (jobs_.count(key_of(app_name, *source))) return "";
  if (int64_t(jobs_.size()) + slots_taken_ < max_jobs) return "";
  return fmt::format("transcode.max_jobs ({}) reached: {}/{} cannot be transcoded now", max_jobs, app_name, *source);
}

std::string TranscodeService::hub_for(const core::AppConfig& app, std::string_view stream) const {
  return watermark_play_hub(app, stream);
}

void TranscodeService::want(const std::string& app, const std::string& stream, const origin::AdmissionRequest&) {
  const core::AppConfig* cfg = origin_.config().find_app(app);
  std::optional<std::string> source;
  if (cfg) source = source_of_output(*cfg, stream);
  if (!source) return origin_.sources().release(app, stream, "not a rendition or watermarked output of this app");
  std::string why = start_job(app, *source, "on demand");
  if (!why.empty()) {
    spdlog::warn("transcode {}/{}: not started: {}", app, *source, why);
    origin_.sources().release(app, stream, why);
  }
}

void TranscodeService::on_stream_ended(const std::shared_ptr<origin::StreamHub>& stream, const std::string&) {
  watermarks_.forget(stream->app(), stream->name());
}

void TranscodeService::on_stream_published(const std::shared_ptr<origin::StreamHub>& stream, const origin::PublishEvent&) {
  const core::AppConfig* cfg = origin_.config().find_app(stream->app());
  if (!cfg || !transcodes(*cfg) || cfg->transcode_mode != "always") return;
  if (is_output(stream->app(), stream->name())) return;
  core::Loop* loop = core::Loop::current();
  if (!loop) return;
  // Not from inside the publish: the job publishes streams of its own.
  (void)loop->post([this, app = stream->app(), name = stream->name()] {
    if (std::string why = start_job(app, name, "always"); !why.empty())
      spdlog::warn("transcode {}/{}: not started: {}", app, name, why);
  });
}

std::string TranscodeService::start_job(const std::string& app, const std::string& source, const char* cause) {
  core::Loop* loop = core::Loop::current();
  if (!loop) return "no loop";
  const core::AppConfig* cfg = origin_.config().find_app(app);
  if (!cfg || !transcodes(*cfg)) return "app " + app + " has no renditions and no watermark";
  auto hub = origin_.registry().find(app, source);
  if (!hub) return "source stream " + app + "/" + source + " is not published";
  std::vector<RenditionSpec> specs;
  for (const auto& [name, r] : cfg->renditions)
    specs.push_back(RenditionSpec{name, rendition_stream_name(cfg->rendition_name, source, name), r});
  std::shared_ptr<WatermarkSlot> watermark;
  if (cfg->watermark.enabled) {
    // The watermarked output: the source's size, no fps cap.
    core::RenditionConfig out;
    out.width = out.height = 0;
    out.video_codec = cfg->watermark.video_codec;
    out.preset = cfg->watermark.preset;
    out.bitrate_kbps = cfg->watermark.bitrate_kbps;
    specs.push_back(RenditionSpec{"watermark", watermark_stream_name(cfg->watermark, source), out});
    watermark = watermarks_.slot(app, source, cfg->watermark);
  }
  const std::string key = key_of(app, source);
  TranscodeJob* job = nullptr;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (outputs_.count(key)) return "stream " + key + " is a rendition itself";
    if (jobs_.count(key)) return "";  // running: its outputs are published
    const int64_t max_jobs = origin_.config().transcode.max_jobs;
    if (int64_t(jobs_.size()) + slots_taken_ >= max_jobs) {
      jobs_refused_++;
      return fmt::format("transcode.max_jobs ({}) reached", max_jobs);
    }
    job = new TranscodeJob(*this, *loop, app, source, specs, std::string_view(cause) != "always", watermark);
    jobs_[key] = job;
    for (const auto& s : specs) outputs_.insert(key_of(app, s.stream));
  }
  jobs_started_++;
  if (core::Status st = job->start(hub); !st) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      jobs_.erase(key);
      for (const auto& s : specs) outputs_.erase(key_of(app, s.stream));
    }
    jobs_failed_++;
    nlohmann::json data = job_event(*job, false);
    data["error"] = {{"message", st.message()}};
    emit_event("transcode.failed", data, app);
    delete job;
    return st.message();
  }
  nlohmann::json data = job_event(*job, false);
  data["cause"] = cause;
  emit_event("transcode.started", data, app);
  return "";
}

void TranscodeService::emit_event(std::string type, const nlohmann::json& data, std::string app) const {
  if (emit_) emit_(std::move(type), data.dump(), std::move(app));
}

nlohmann::json TranscodeService::job_event(const TranscodeJob& job, bool ended) const {
  nlohmann::json outs = nlohmann::json::array();
  for (const auto& s : job.specs()) outs.push_back({{"rendition", s.name}, {"stream", s.stream}});
  nlohmann::json j = {{"app", job.app()},
                      {"stream", job.source()},
                      {"mode", job.on_demand() ? "on_demand" : "always"},
                      {"outputs", std::move(outs)},
                      {"started_at", origin::api::rfc3339_ms(job.started_ms())}};
  if (ended) {
    const auto& c = job.counters();
    j["duration_ms"] = std::max<int64_t>(0, core::wall_clock_ms() - job.started_ms());
    j["frames_in"] = c.frames_in.load();
    j["frames_out"] = c.frames_out.load();
    j["frames_dropped"] = c.frames_dropped.load();
  }
  return j;
}

bool TranscodeService::acquire_slot() {
  const int64_t max_jobs = origin_.config().transcode.max_jobs;
  std::lock_guard<std::mutex> lk(mu_);
  if (int64_t(jobs_.size()) + slots_taken_ >= max_jobs) {
    jobs_refused_++;
    return false;
  }
  slots_taken_++;
  return true;
}

void TranscodeService::release_slot() {
  std::lock_guard<std::mutex> lk(mu_);
  if (slots_taken_ > 0) slots_taken_--;
}

void TranscodeService::job_ended(TranscodeJob* job, const std::string& why, const std::string& failure) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = jobs_.find(job->key());
    if (it != jobs_.end() && it->second == job) jobs_.erase(it);
    for (const auto& s : job->specs()) outputs_.erase(key_of(job->app(), s.stream));
  }
  if (!failure.empty()) jobs_failed_++;
  nlohmann::json data = job_event(*job, true);
  data["reason"] = why;
  if (!failure.empty()) data["error"] = {{"message", failure}};
  emit_event(failure.empty() ? "transcode.stopped" : "transcode.failed", data, job->app());
  for (const auto& s : job->specs()) origin_.sources().release(job->app(), s.stream, failure);
}

void TranscodeService::stop_all() {
  std::vector<std::pair<core::Loop*, std::string>> open;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& [key, j] : jobs_) open.emplace_back(&j->loop(), key);
  }
  for (auto& [loop, key] : open) {
    (void)loop->post([this, key = key] {
      TranscodeJob* j = nullptr;
      {
        std::lock_guard<std::mutex> lk(mu_);
        auto it = jobs_.find(key);
        if (it != jobs_.end()) j = it->second;
      }
      if (j) j->stop("server shutting down");
    });
  }
  for (int i = 0; i < 300; ++i) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (jobs_.empty()) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& [key, j] : jobs_) spdlog::warn("transcode {}: did not stop within 3 s", key);
}

void TranscodeService::write_metrics(std::string& out) const {
  std::lock_guard<std::mutex> lk(mu_);
  out += fmt::format(
      "# HELP weir_transcode_jobs Transcode jobs running (one per source stream).\n# TYPE weir_transcode_jobs gauge\n"
      "weir_transcode_jobs {}\n"
      "# HELP weir_transcode_jobs_started_total Transcode jobs started.\n# TYPE weir_transcode_jobs_started_total counter\n"
      "weir_transcode_jobs_started_total {}\n"
      "# HELP weir_transcode_jobs_failed_total Transcode jobs that failed (undecodable source, encoder error).\n"
      "# TYPE weir_transcode_jobs_failed_total counter\nweir_transcode_jobs_failed_total {}\n"
      "# HELP weir_transcode_jobs_refused_total Jobs not started: transcode.max_jobs reached.\n"
      "# TYPE weir_transcode_jobs_refused_total counter\nweir_transcode_jobs_refused_total {}\n",
      jobs_.size(), jobs_started_.load(), jobs_failed_.load(), jobs_refused_.load());
  struct Family {
    const char* name;
    const char* help;
    std::atomic<uint64_t> TranscodeJob::Counters::*field;
  };
  static const Family kFamilies[] = {
      {"weir_transcode_frames_in_total", "Source video frames a job received.", &TranscodeJob::Counters::frames_in},
      {"weir_transcode_frames_out_total", "Video frames a job encoded (all renditions).", &TranscodeJob::Counters::frames_out},
      {"weir_transcode_frames_dropped_total",
       "Source video frames a job dropped up to the next keyframe (its queue was full: the encoders could not keep up).",
       &TranscodeJob::Counters::frames_dropped},
      {"weir_transcode_graph_builds_total",
       "Filter graphs a job built (the first, a source size or format change, a watermark change).",
       &TranscodeJob::Counters::graph_builds},
      {"weir_transcode_watermark_errors_total",
       "Filter graphs a job built without its watermark because it could not be drawn (image or font unreadable).",
       &TranscodeJob::Counters::watermark_errors},
  };
  for (const auto& f : kFamilies) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", f.name, f.help, f.name);
    for (const auto& [key, j] : jobs_)
      out += fmt::format("{}{{app=\"{}\",stream=\"{}\"}} {}\n", f.name, j->app(), j->source(),
                         (j->counters().*(f.field)).load());
  }
  out += "# HELP weir_transcode_latency_seconds Time from a job reading a source video frame to publishing a "
         "rendition frame of the same pts (decode, filter, the encoder's lookahead, the hand-offs), per rendition "
         "frame.\n# TYPE weir_transcode_latency_seconds histogram\n";
  for (const auto& [key, j] : jobs_)
    j->counters().latency.write(out, "weir_transcode_latency_seconds",
                                fmt::format("app=\"{}\",stream=\"{}\"", j->app(), j->source()));
}

nlohmann::json TranscodeService::jobs_json(const std::string& after, size_t limit, bool& more,
                                           std::string& last_key) const {
  nlohmann::json items = nlohmann::json::array();
  more = false;
  std::lock_guard<std::mutex> lk(mu_);
  for (auto it = jobs_.upper_bound(after); it != jobs_.end(); ++it) {
    if (items.size() >= limit) {
      more = true;
      break;
    }
    const auto& [key, j] = *it;
    last_key = key;
    nlohmann::json outs = nlohmann::json::array();
    for (const auto& s : j->specs())
      outs.push_back({{"rendition", s.name}, {"stream", s.stream}, {"width", s.cfg.width}, {"height", s.cfg.height},
                      {"video_codec", s.cfg.video_codec}, {"bitrate_kbps", s.cfg.bitrate_kbps},
                      {"audio", s.cfg.audio}, {"audio_bitrate_kbps", s.cfg.audio_bitrate_kbps}});
    const auto& c = j->counters();
    items.push_back({{"app", j->app()},
                     {"stream", j->source()},
                     {"started_at", origin::api::rfc3339_ms(j->started_ms())},
                     {"mode", j->on_demand() ? "on_demand" : "always"},
                     {"outputs", std::move(outs)},
                     {"frames_in", c.frames_in.load()},
                     {"frames_decoded", c.frames_decoded.load()},
                     {"frames_out", c.frames_out.load()},
                     {"frames_dropped", c.frames_dropped.load()},
                     {"audio_frames_decoded", c.audio_decoded.load()},
                     {"audio_decode_errors", c.audio_decode_errors.load()},
                     {"queued_packets", c.queued.load()}});
  }
  return items;
}

}  // namespace weir::transcode
