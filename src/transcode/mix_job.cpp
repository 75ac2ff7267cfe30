#include "transcode/mix_job.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "core/config.h"
#include "core/loop.h"
#include "origin/hub_packet.h"
#include "origin/origin.h"
#include "origin/registry.h"
#include "origin/stream_hub.h"
#include "transcode/mix_service.h"
#include "transcode/release_on_pool.h"

namespace weir::transcode {

namespace {
int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

MixJob::MixJob(MixService& service, core::Loop& loop, std::string id, MixSpec spec)
    : service_(service),
      loop_(loop),
      id_(std::move(id)),
      spec_(std::move(spec)),
      out_(service.origin(), loop, origin::HubPublisher::Source{"mix", id_},
           [this](const std::string& why) { stop("program taken over: " + why); }),
      ticker_(loop),
      attach_(loop) {}

MixJob::~MixJob() = default;

core::Status MixJob::start() {
  const core::TranscodeConfig& tc = service_.origin().config().transcode;
  strand_ = std::make_unique<core::WorkerPool::Strand>(
      service_.pool(), size_t(service_.origin().startup_config().transcode.max_queued_packets));
  engine_ = std::make_shared<MixEngine>(spec_, int(tc.encoder_threads));
  auto r = out_.start_admitted(spec_.app, spec_.name);
  if (!r.hub) return core::Status::errorf("program {}: {}", spec_.key(), r.reason);
  out_hub_ = r.hub;
  start_ms_ = mono_ms();
  set_links();
  const uint64_t period = uint64_t(std::max(5, 500 / spec_.fps));
  ticker_.start(period, [this] { on_timer(); }, period);
  attach_.start(kAttachMs, [this] {
    for (auto& l : links_) l->try_attach();
  }, kAttachMs);
  spdlog::info("mix {}: program {} started, {}x{} at {} fps, {} inputs", id_, spec_.key(), spec_.width, spec_.height,
               spec_.fps, spec_.inputs.size());
  return core::Status::ok();
}

void MixJob::set_links() {
  std::vector<std::unique_ptr<Link>> next;
  for (const auto& in : spec_.inputs) {
    auto it = std::find_if(links_.begin(), links_.end(), [&](const auto& l) { return l && l->key() == in.key(); });
    if (it != links_.end()) next.push_back(std::move(*it));
    else next.push_back(std::make_unique<Link>(*this, in.app, in.stream));
  }
  links_ = std::move(next);  // inputs no longer listed are released here
  for (auto& l : links_) l->try_attach();
}

void MixJob::update(const MixSpec& spec) {
  if (stopped_) return;
  spec_ = spec;
  auto engine = engine_;
  // Strand order: the change lands between the ticks around it. A full strand
  // must not lose it: the engine is told on the next tick instead.
  if (!strand_->submit(loop_, [engine, spec]() -> core::Status {
        engine->set_spec(spec);
        return core::Status::ok();
      }, nullptr))
    pending_spec_ = true;
  set_links();
  spdlog::info("mix {}: updated ({} inputs, layout {})", id_, spec_.inputs.size(),
               spec_.layout_template.empty() ? "rects" : spec_.layout_template);
}

void MixJob::Link::try_attach() {
  if (in_.attached() || job_.stopped_) return;
  auto hub = job_.service_.origin().registry().find(app_, stream_);
  if (!hub) return;
  gate_.reset();
  if (!in_.attach(hub, {origin::ConsumerPolicy::kLossless, origin::StartAt::kLatestKeyframe})) return;
  spdlog::info("mix {}: input {} attached", job_.id_, key_);
  on_packets();
}

void MixJob::Link::on_packets() {
  while (!job_.stopped_ && in_.attached()) {
    batch_.clear();
    origin::ReadResult r = in_.read(batch_, 1 << 20);
    if (r == origin::ReadResult::kGap) {
      gate_.gap();
      continue;
    }
    if (r != origin::ReadResult::kOk) break;
    for (const auto& ref : batch_) {
      const core::MediaPacket& m = ref->media();
      if (m.is_data()) continue;
      // Overflow action: this input's packets wait for its next keyframe.
      const auto o = gate_.offer(m, [this](const core::MediaPacket& p) { return job_.submit_packet(key_, p); });
      if (!o.sent && !m.is_config()) job_.counters_->packets_dropped++;
    }
  }
}

void MixJob::Link::on_stream_end(const std::string& why) {
  spdlog::info("mix {}: input {} ended ({}); background and silence until it is back", job_.id_, key_, why);
  in_.release();
  auto engine = job_.engine_;
  // Refused (strand full): the picture goes stale and the sound dry anyway.
  (void)job_.strand_->submit(job_.loop_, [engine, key = key_]() -> core::Status {
    engine->lost(key);
    return core::Status::ok();
  }, nullptr);
}

bool MixJob::submit_packet(const std::string& key, const core::MediaPacket& pkt) {
  auto engine = engine_;
  auto counters = counters_;
  const int64_t now = mono_ms() - start_ms_;  // the program's clock
  const bool ok = strand_->submit(loop_, [engine, counters, key, pkt, now]() -> core::Status {
    counters->queued--;
    engine->push(key, pkt, now);
    return core::Status::ok();
  }, nullptr);
  if (ok) counters_->queued++;
  return ok;
}

void MixJob::on_timer() {
  if (stopped_) return;
  const int64_t due = (mono_ms() - start_ms_) * spec_.fps / 1000;
  if (due - next_frame_ >= kMaxCatchUp) {
    // Too far behind real time: those frames are skipped (the timeline keeps its pace).
    const int64_t skip = due - next_frame_ - (kMaxCatchUp - 1);
    counters_->frames_dropped += uint64_t(skip);
    next_frame_ += skip;
  }
  while (next_frame_ <= due) tick(next_frame_++);
}

void MixJob::tick(int64_t frame) {
  auto engine = engine_;
  auto counters = counters_;
  const int64_t now = mono_ms() - start_ms_;  // the program's clock
  std::optional<MixSpec> spec;
  if (pending_spec_) spec = spec_;
  const bool ok = strand_->submit(
      loop_,
      [engine, counters, frame, now, spec]() -> core::Result<std::vector<core::MediaPacket>> {
        counters->queued--;
        if (spec) engine->set_spec(*spec);
        std::vector<core::MediaPacket> out;
        core::Status st = engine->tick(frame, now, out);
        const auto& v = engine->video().stats();
        counters->frames_out = v.frames_out;
        counters->graph_builds = v.graph_builds;
        counters->inputs_shown = v.inputs_shown;
        counters->audio_underruns = engine->audio().stats().underruns;
        if (!st) return st;
        return out;
      },
      [this](core::Result<std::vector<core::MediaPacket>> r) { deliver(std::move(r)); });
  if (ok) {
    counters_->queued++;
    pending_spec_ = false;
  } else {
    counters_->frames_dropped++;  // overflow action: this tick is not made
  }
}

void MixJob::deliver(core::Result<std::vector<core::MediaPacket>> r) {
  if (stopped_) return;
  if (!r) {
    spdlog::error("mix {}: failed: {}", id_, r.error());
    return stop("failed: " + r.error());
  }
  for (auto& p : *r) out_.publish(std::move(p));
}

void MixJob::stop(const std::string& why) {
  if (stopped_) return;
  stopped_ = true;
  ticker_.stop();
  attach_.stop();
  links_.clear();
  if (strand_) strand_->cancel();
  out_.end(why);
  if (out_hub_) out_hub_->end("mix stopped: " + why);
  out_hub_.reset();
  // The encoders are closed on the pool (x264 joins its threads), not here.
  release_on_pool(service_.pool(), loop_, std::move(engine_), "mix " + id_);
  const auto& c = *counters_;
  spdlog::info("mix {}: stopped ({}): frames out {}, dropped {}, input packets dropped {}", id_, why,
               c.frames_out.load(), c.frames_dropped.load(), c.packets_dropped.load());
  service_.job_ended(this, why);
  if (!loop_.post([this] { delete this; })) delete this;
}

}  // namespace weir::transcode
