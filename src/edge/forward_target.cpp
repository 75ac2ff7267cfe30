#include "edge/forward_target.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "edge/forward_service.h"
#include "edge/upstream_url.h"
#include "core/srt_url.h"
#include "origin/stream_hub.h"

namespace weir::edge {

using origin::ConsumerOptions;
using origin::ConsumerPolicy;
using origin::ReadResult;
using origin::StartAt;

namespace {
constexpr size_t kReadBytes = 256 * 1024;  // per read: bounds one loop turn's work
}  // namespace

ForwardTarget* ForwardTarget::start(ForwardService& service, core::Loop& loop,
                                    const std::shared_ptr<origin::StreamHub>& hub, std::shared_ptr<ForwardEntry> entry,
                                    ForwardRoute route, const core::ForwardConfig& cfg) {
  auto* t = new ForwardTarget(service, loop, hub, std::move(entry), std::move(route), cfg);
  t->entry_->target = t;
  // Until the destination accepts, packets are read and dropped: start at the
  // live edge. The handle is placed at the newest keyframe once it accepts.
  if (!t->in_.attach(hub, ConsumerOptions{ConsumerPolicy::kLossless, StartAt::kLiveEdge, t->srt_dest_})) {
    t->stop("the stream already ended");
    return nullptr;
  }
  const std::string source = t->entry_->source == ForwardSource::kApi       ? "admin API"
                             : t->entry_->source == ForwardSource::kUpstream ? "apps." + hub->app_config().name + ".upstream.publish"
                                                                             : "apps." + hub->app_config().name + ".forward.urls";
  spdlog::info("forward {}/{}: started ({}, {} destination{})", t->entry_->app, t->entry_->stream, source,
               t->route_.candidates.size(), t->route_.candidates.size() == 1 ? "" : "s");
  t->new_round();
  t->on_packets();
  return t;
}

ForwardTarget::ForwardTarget(ForwardService& service, core::Loop& loop, std::shared_ptr<origin::StreamHub> hub,
                             std::shared_ptr<ForwardEntry> entry, ForwardRoute route, const core::ForwardConfig& cfg)
    : service_(service),
      loop_(loop),
      hub_(std::move(hub)),
      entry_(std::move(entry)),
      route_(std::move(route)),
      cfg_(cfg),
      srt_dest_(route_.candidates.front().url.rfind("srt://", 0) == 0),
      retry_(loop) {}

ForwardTarget::~ForwardTarget() { service_.target_destroyed(); }

void ForwardTarget::new_round() {
  const size_t n = route_.candidates.size();
  std::vector<bool> healthy;
  if (route_.health) {
    std::vector<std::string> origins;
    for (const ForwardDestination& d : route_.candidates) origins.push_back(d.origin);
    healthy = route_.health->healthy(origins, OriginHealth::now_ms());
  }
  order_ = upstream_order(route_.policy, n, entry_->stream, route_.ticket + rounds_++, healthy);
  attempt_ = 0;
  connect();
}

void ForwardTarget::connect() {
  if (ended_) return;
  const ForwardDestination& d = current();
  service_.set_state(*entry_, ForwardState::kConnecting, {}, d.shown);
  origin_ = route_.health ? &route_.health->at(d.origin) : nullptr;
  if (srt_dest_) {
    ingest::srt::SrtBridge* bridge = service_.srt_bridge();
    if (!bridge) return failed("SRT is not available in this process");
    auto u = core::parse_srt_url(d.url);  // checked when the destination was added
    if (!u) return failed(u.error());
    ingest::srt::SrtCallerOptions o;
    o.connect_timeout_ms = uint64_t(cfg_.connect_timeout_ms);
    o.receive = false;
    o.max_queued_bytes = size_t(uint64_t(cfg_.max_queued_bytes));
    srt_ = std::make_unique<ingest::srt::SrtCaller>(loop_, *bridge, static_cast<ingest::srt::SrtCaller::Handler&>(*this),
                                                    o);
    if (core::Status st = srt_->start(*u); !st) failed(st.message());
    return;
  }
  client::RtmpClientOptions o;
  o.mode = client::RtmpMode::kPublish;
  o.connect_timeout_ms = uint64_t(cfg_.connect_timeout_ms);
  o.response_timeout_ms = uint64_t(cfg_.connect_timeout_ms);
  o.stall_timeout_ms = route_.stall_timeout_ms;
  o.max_queued_bytes = size_t(uint64_t(cfg_.max_queued_bytes));
  o.tls = service_.tls();
  rtmp_ = std::make_unique<client::RtmpClient>(loop_, static_cast<client::RtmpClient::Handler&>(*this), o);
  if (core::Status st = rtmp_->start(d.url); !st) failed(st.message());
}

void ForwardTarget::on_ready() {
  connected_ = true;
  connected_at_ms_ = OriginHealth::now_ms();
  const size_t idx = order_[attempt_];
  if (last_connected_ != kNone && last_connected_ != idx) service_.count_failover();
  last_connected_ = idx;
  if (origin_) route_.health->connected(*origin_, true);
  service_.set_state(*entry_, ForwardState::kForwarding, {});
  spdlog::info("forward {}/{} -> {}: forwarding", entry_->app, entry_->stream, current().shown);
  offset_set_ = false;
  need_sync_ = false;
  resend_configs_ = false;
  // From the newest keyframe, the configs and metadata in effect first.
  if (!in_.attach(hub_, ConsumerOptions{ConsumerPolicy::kLossless, StartAt::kLatestKeyframe, srt_dest_}))
    return stop("the stream ended");
  on_packets();
}

void ForwardTarget::on_closed(const core::Status& why) { failed(why.message()); }

namespace {
// A refusal or the stream ending there is about this stream; anything else
// (timeouts, a lost connection, a bad handshake) about the destination itself.
bool about_stream(const std::string& why) {
  return why.find("NetStream.") != std::string::npos || why.find("NetConnection.Connect.Rejected") != std::string::npos;
}
}  // namespace

void ForwardTarget::failed(std::string why) {  // by value: `why` may live in the client it frees
  if (ended_) return;
  const bool was_connected = connected_;
  const bool stable = was_connected && OriginHealth::now_ms() - connected_at_ms_ >= kStableMs;
  connected_ = false;
  bytes_before_ = bytes_now();
  rtmp_.reset();
  srt_.reset();  // (inside its on_srt_closed: allowed, SrtCaller does nothing after)
  entry_->bytes_out.store(bytes_before_, std::memory_order_relaxed);
  entry_->queued_bytes.store(0, std::memory_order_relaxed);
  if (origin_)
    route_.health->ended(*origin_, was_connected, why, !about_stream(why), OriginHealth::now_ms(), cfg_.backoff_ms,
                         cfg_.backoff_max_ms, true);
  origin_ = nullptr;
  const std::string shown = current().shown;
  if (stable) failures_ = 0;
  int64_t wait = 0;
  bool round = true;  // the next attempt starts a new round
  if (!was_connected && attempt_ + 1 < order_.size()) {
    ++attempt_;  // the next candidate of this round, at once
    round = false;
  } else if (!stable) {
    wait = upstream_backoff_ms(cfg_.backoff_ms, cfg_.backoff_max_ms, failures_++);
  }
  service_.set_state(*entry_, ForwardState::kBackoff, why);
  spdlog::warn("forward {}/{} -> {}: {}; {} in {} ms", entry_->app, entry_->stream, shown, why,
               round ? (route_.candidates.size() > 1 ? "next round" : "reconnecting") : "next destination", wait);
  retry_.start(uint64_t(wait), [this, round] { round ? new_round() : connect(); });
}

void ForwardTarget::on_packets() {
  while (in_.attached() && !ended_) {
    batch_.clear();
    ReadResult r = in_.read(batch_, kReadBytes);
    if (r == ReadResult::kGap) {
      // Lost packets (eviction, inbox overflow): resume at a sync point.
      need_sync_ = true;
      resend_configs_ = true;
      continue;
    }
    if (r != ReadResult::kOk) break;
    for (const origin::PacketRef& p : batch_) {
      const core::MediaPacket& m = p->media();
      if (m.is_config()) (m.is_video() ? video_config_ : m.is_audio() ? audio_config_ : metadata_) = p;
      if (connected_ && rtmp_) forward(m);
      else if (connected_ && srt_) forward_ts(p);
      if (ended_) break;
    }
  }
  if (srt_) srt_->flush();  // the live edge goes out now, not when a message fills
  batch_.clear();
  note_bytes();
}

void ForwardTarget::forward(const core::MediaPacket& m) {
  if (m.is_config()) {
    // Tracked by the caller; while resyncing it goes out before the sync point.
    if (need_sync_) {
      resend_configs_ = true;
    } else if (!send(m)) {
      need_sync_ = resend_configs_ = true;
    }
    return;
  }
  const bool media = !m.is_data();
  if (need_sync_) {
    const bool sync = video_config_ ? (m.is_video() && m.is_keyframe()) : m.is_audio();
    if (!sync) {
      if (media) service_.count_dropped(*entry_, 1);
      return;
    }
    if (resend_configs_) {
      send_configs();
      if (resend_configs_) {
        service_.count_dropped(*entry_, 1);
        return;
      }
    }
    if (!send(m)) {
      service_.count_dropped(*entry_, 1);
      return;
    }
    need_sync_ = false;
    return;
  }
  if (!send(m)) {
    // Overflow action: drop up to the next sync point (counted).
    need_sync_ = resend_configs_ = true;
    if (media) service_.count_dropped(*entry_, 1);
  }
}

void ForwardTarget::forward_ts(const origin::PacketRef& p) {
  const core::MediaPacket& m = p->media();
  // Configs and metadata are in the TS already: PAT/PMT and the parameter
  // sets go before every keyframe (StreamHub's muxer, tables_before_keyframes).
  if (m.is_config() || m.is_data()) return;
  const core::Buffer* ts = p->ts();
  if (!ts || ts->size() == 0) return;
  if (need_sync_) {
    const bool sync = video_config_ ? (m.is_video() && m.is_keyframe()) : m.is_audio();
    if (!sync) {
      service_.count_dropped(*entry_, 1);
      return;
    }
  }
  if (!srt_->send(ts->view())) {
    // Overflow action: drop up to the next sync point (counted).
    need_sync_ = true;
    service_.count_dropped(*entry_, 1);
    return;
  }
  need_sync_ = false;
}

void ForwardTarget::send_configs() {
  for (const origin::PacketRef* p : {&metadata_, &video_config_, &audio_config_})
    if (*p && !send((*p)->media())) return;  // still resend_configs_
  resend_configs_ = false;
}

bool ForwardTarget::send(const core::MediaPacket& m) {
  if (!rtmp_) return false;
  const size_t track = std::min<size_t>(size_t(m.track), last_out_.size() - 1);
  const int64_t last = *std::max_element(last_out_.begin(), last_out_.end());
  core::MediaPacket out = m;  // shares the body
  if (m.is_config() || m.is_data()) {
    // Configs carry the time they were first seen; they go out at the
    // current position (a timestamp that never goes back).
    out.dts = offset_set_ ? std::max(m.dts + offset_, last_out_[track]) : std::max<int64_t>(0, last);
  } else {
    if (!offset_set_) {
      // A new connection: its first media packet at or after everything sent before.
      if (last >= 0) offset_ = std::max(offset_, last - m.dts);
      offset_set_ = true;
    }
    out.dts = std::max(m.dts + offset_, last_out_[track]);
  }
  out.dts = std::max<int64_t>(0, out.dts);
  out.pts = out.dts + std::max<int64_t>(0, m.pts - m.dts);
  if (!rtmp_->send(out)) return false;
  last_out_[track] = out.dts;
  return true;
}

uint64_t ForwardTarget::bytes_now() const {
  return bytes_before_ + (rtmp_ ? rtmp_->stats().bytes_sent : 0) + (srt_ ? srt_->bytes_out() : 0);
}

void ForwardTarget::note_bytes() {
  if (rtmp_ || srt_) entry_->bytes_out.store(bytes_now(), std::memory_order_relaxed);
  entry_->queued_bytes.store(rtmp_ ? rtmp_->queued_bytes() : srt_ ? srt_->queued_bytes() : 0, std::memory_order_relaxed);
}

void ForwardTarget::on_stream_end(const std::string& why) { stop("the stream ended (" + why + ")"); }

void ForwardTarget::stop(const std::string& why) {
  if (ended_) return;
  ended_ = true;
  retry_.stop();
  in_.release();
  bytes_before_ = bytes_now();
  rtmp_.reset();
  srt_.reset();
  if (origin_) route_.health->ended(*origin_, connected_, {}, false, 0, 0, 0, true);
  origin_ = nullptr;
  connected_ = false;
  entry_->bytes_out.store(bytes_before_, std::memory_order_relaxed);
  entry_->queued_bytes.store(0, std::memory_order_relaxed);
  hub_.reset();
  spdlog::info("forward {}/{} -> {}: stopped: {}", entry_->app, entry_->stream, current().shown, why);
  service_.target_ended(entry_);
  if (!loop_.post([this] { delete this; })) delete this;  // loop stopping: nothing of ours runs on it any more
}

}  // namespace weir::edge
