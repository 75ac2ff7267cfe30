#include "transcode/transcode_job.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "core/clock.h"
#include "core/config.h"
#include "core/loop.h"
#include "origin/hub_packet.h"
#include "origin/origin.h"
#include "origin/stream_hub.h"
#include "origin/viewer_activity.h"
#include "transcode/release_on_pool.h"
#include "transcode/transcode_service.h"

namespace weir::transcode {

namespace {
constexpr uint64_t kSweepMs = 500;

int64_t mono_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

TranscodeJob::TranscodeJob(TranscodeService& service, core::Loop& loop, std::string app, std::string source,
                           std::vector<RenditionSpec> specs, bool on_demand,
                           std::shared_ptr<const WatermarkSlot> watermark)
    : service_(service),
      loop_(loop),
      app_(std::move(app)),
      source_(std::move(source)),
      key_(app_ + "/" + source_),
      specs_(std::move(specs)),
      on_demand_(on_demand),
      watermark_(std::move(watermark)),
      started_ms_(core::wall_clock_ms()),
      sweep_(loop) {}

TranscodeJob::~TranscodeJob() = default;

core::Status TranscodeJob::start(const std::shared_ptr<origin::StreamHub>& source) {
  const core::TranscodeConfig& tc = service_.origin().config().transcode;
  strand_ = std::make_unique<core::WorkerPool::Strand>(service_.pool(),
                                                       size_t(service_.origin().startup_config().transcode.max_queued_packets));
  pipe_ = std::make_shared<TranscodePipeline>(specs_, int(tc.encoder_threads));
  if (watermark_) pipe_->set_watermark(watermark_, key_);
  for (const auto& s : specs_) {
    auto out = std::make_unique<origin::HubPublisher>(service_.origin(), loop_, origin::HubPublisher::Source{"transcode", key_},
                                                      [this](const std::string& why) { stop("output taken over: " + why); });
    auto r = out->start_admitted(app_, s.stream);
    if (!r.hub) {
      for (auto& h : out_hubs_) h->end("transcode could not start");
      return core::Status::errorf("output {}/{}: {}", app_, s.stream, r.reason);
    }
    out_hubs_.push_back(r.hub);
    outs_.push_back(std::move(out));
  }
  if (!in_.attach(source, {origin::ConsumerPolicy::kLossless, origin::StartAt::kLatestKeyframe})) {
    for (auto& h : out_hubs_) h->end("transcode source ended");
    return core::Status::errorf("source {} ended", key_);
  }
  idle_since_ms_ = mono_ms();
  sweep_.start(kSweepMs, [this] { sweep(); }, kSweepMs);
  std::string names;
  for (const auto& s : specs_) names += (names.empty() ? "" : ", ") + s.stream;
  spdlog::info("transcode {}: started ({}), outputs {}", key_, on_demand_ ? "on demand" : "always", names);
  on_packets();
  return core::Status::ok();
}

void TranscodeJob::on_packets() {
  while (!stopped_ && in_.attached()) {
    batch_.clear();
    origin::ReadResult r = in_.read(batch_, 1 << 20);
    if (r == origin::ReadResult::kGap) {
      gate_.gap();  // resume at the next keyframe
      continue;
    }
    if (r != origin::ReadResult::kOk) break;
    for (const auto& ref : batch_) {
      const core::MediaPacket& m = ref->media();
      if (m.is_data()) continue;
      const bool video_frame = m.is_video() && !m.is_config();
      if (video_frame) counters_->frames_in++;
      // Overflow action: nothing goes to the pipeline until a source keyframe.
      const auto o = gate_.offer(m, [this](const core::MediaPacket& p) { return submit(p); });
      if (o.resumed) spdlog::info("transcode {}: resumed at the source keyframe at {} ms", key_, m.pts);
      if (o.began_dropping)
        spdlog::warn("transcode {}: {} source packets queued (transcode.max_queued_packets): the encoders cannot "
                     "keep up; dropping to the next keyframe",
                     key_, counters_->queued.load());
      if (!o.sent) {
        if (video_frame) counters_->frames_dropped++;
        else if (m.is_audio() && !m.is_config()) counters_->audio_dropped++;
      } else if (video_frame) {
        timed_[m.pts] = Timed{mono_us(), specs_.size()};
        if (timed_.size() > kMaxTimedFrames) timed_.erase(timed_.begin());
      }
    }
    if (stopped_) return;
  }
}

bool TranscodeJob::submit(const core::MediaPacket& pkt) {
  auto pipe = pipe_;
  auto counters = counters_;
  const bool ok = strand_->submit(
      loop_,
      [pipe, counters, pkt]() -> core::Result<std::vector<TranscodePipeline::Output>> {
        counters->queued--;
        std::vector<TranscodePipeline::Output> out;
        core::Status st = pipe->push(pkt, out);
        const auto& s = pipe->stats();
        counters->frames_decoded = s.frames_in;
        counters->frames_out = s.frames_out;
        counters->decode_errors = s.decode_errors;
        counters->audio_decoded = s.audio_frames_in;
        counters->audio_decode_errors = s.audio_decode_errors;
        counters->graph_builds = s.graph_builds;
        counters->watermark_errors = s.watermark_errors;
        if (!st) return st;
        return out;
      },
      [this](core::Result<std::vector<TranscodePipeline::Output>> r) { deliver(std::move(r)); });
  if (ok) counters_->queued++;
  return ok;
}

void TranscodeJob::deliver(core::Result<std::vector<TranscodePipeline::Output>> r) {
  if (stopped_) return;
  if (!r) {
    spdlog::error("transcode {}: failed: {}", key_, r.error());
    return stop("failed", "transcode of " + key_ + " failed: " + r.error());
  }
  for (auto& o : *r)
    if (o.rendition < outs_.size()) {
      observe_latency(o.pkt);
      outs_[o.rendition]->publish(std::move(o.pkt));
    }
}

void TranscodeJob::observe_latency(const core::MediaPacket& out) {
  if (!out.is_video() || out.is_config()) return;
  auto it = timed_.find(out.pts);
  if (it == timed_.end()) return;
  counters_->latency.observe_us(uint64_t(std::max<int64_t>(0, mono_us() - it->second.in_us)));
  if (--it->second.outputs_left == 0) timed_.erase(it);
}

void TranscodeJob::on_stream_end(const std::string& why) { stop("source ended: " + why); }

void TranscodeJob::sweep() {
  if (stopped_ || !on_demand_) return;
  const int64_t now = mono_ms();
  const int64_t idle = service_.origin().config().transcode.idle_ms;
  for (size_t i = 0; i < specs_.size(); ++i)
    if (origin::has_viewers(service_.origin(), app_, specs_[i].stream, out_hubs_[i].get(), idle)) {
      idle_since_ms_ = now;
      return;
    }
  if (now - idle_since_ms_ < idle) return;
  spdlog::info("transcode {}: no viewer for {} ms; stopping", key_, idle);
  stop("idle");
}

void TranscodeJob::stop(const std::string& why, const std::string& failure) {
  if (stopped_) return;
  stopped_ = true;
  sweep_.stop();
  in_.release();
  if (strand_) strand_->cancel();
  for (auto& o : outs_) o->end(why);
  outs_.clear();
  // No publisher resumes an output: end them now, not after the grace.
  for (auto& h : out_hubs_) h->end("transcode stopped: " + why);
  out_hubs_.clear();
  // The encoders are closed on the pool (x264 joins its threads), not here.
  release_on_pool(service_.pool(), loop_, std::move(pipe_), "transcode " + key_);
  const auto& c = *counters_;
  spdlog::info("transcode {}: stopped ({}): frames in {}, decoded {}, out {}, dropped {}", key_, why, c.frames_in.load(),
               c.frames_decoded.load(), c.frames_out.load(), c.frames_dropped.load());
  service_.job_ended(this, why, failure);
  if (!loop_.post([this] { delete this; })) delete this;
}

}  // namespace weir::transcode
