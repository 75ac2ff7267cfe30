#include "core/clock.h"
#include "origin/stream_hub.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "core/loop.h"
#include "origin/hub_publisher.h"
#include "origin/loop_hub.h"
#include "origin/origin.h"

namespace weir::origin {

namespace {
// A new publisher's first packet lands this long after the previous one's last.
constexpr int64_t kRebaseGapMs = 20;
// A timestamp this far behind the timeline is a reset, not jitter.
constexpr int64_t kBackJumpMs = 3000;


GopRing::Limits ring_limits(const core::AppConfig& app) {
  return GopRing::Limits{app.gop_cache_max_ms, app.gop_cache_max_bytes};
}

// The grace timer lives on the publisher's loop and frees itself when closed:
// when it fires, or when the loop shuts down first (it is tracked).
struct GraceTimer final : core::Closable {
  uv_timer_t timer;
  core::Loop* loop = nullptr;
  std::weak_ptr<StreamHub> hub;
  uint64_t generation = 0;
  void close_for_shutdown() override {
    loop->untrack(this);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), [](uv_handle_t* h) { delete static_cast<GraceTimer*>(h->data); });
  }
};
}  // namespace

StreamHub::StreamHub(Origin& origin, std::string app, std::string name, const core::AppConfig& app_config,
                     std::shared_ptr<const core::Config> generation)
    : origin_(origin),
      app_(std::move(app)),
      name_(std::move(name)),
      key_(app_ + "/" + name_),
      generation_config_(std::move(generation)),
      app_config_(app_config),
      chunk_size_(uint32_t(origin.startup_config().rtmp.chunk_size)),
      app_counters_(origin.app_counters(app_config)),
      master_(ring_limits(app_config)) {
  stats_.app = app_;
  stats_.name = name_;
}

StreamHub::~StreamHub() = default;

StreamHub::State StreamHub::state() const {
  std::lock_guard<std::mutex> lk(mu_);
  return state_;
}

std::pair<PacketRef, PacketRef> StreamHub::configs() const {
  std::lock_guard<std::mutex> lk(mu_);
  return {master_.video_config(), master_.audio_config()};
}

StreamStats StreamHub::stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  StreamStats s = stats_;
  s.live = state_ == State::kLive && publisher_;
  s.loops = loop_hubs_.size();
  s.ring_packets = master_.packet_count();
  s.ring_bytes = master_.bytes();
  s.ring_ms = master_.duration_ms();
  s.last_dts = last_dts_;
  return s;
}

StreamHub::Take StreamHub::take_publisher(PublisherRef p) {
  PublisherRef old;
  Take take = Take::kFirst;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (state_ == State::kEnded) return Take::kRefused;
    if (state_ == State::kLive && publisher_) {
      if (!app_config_.allow_takeover) return Take::kRefused;
      old = publisher_;
      take = Take::kTakenOver;
      origin_.metrics().takeovers_total++;
    } else if (state_ == State::kGrace) {
      take = Take::kResumed;
      origin_.metrics().republish_total++;
    }
    mark_discontinuity_ = publisher_ || state_ == State::kGrace || stats_.publishes > 0;
    publisher_ = std::move(p);
    state_ = State::kLive;
    ++generation_;
    rebase_ = true;
    stats_.publisher_peer = publisher_->peer;
    stats_.publisher_protocol = publisher_->protocol;
    stats_.published_at_ms = core::wall_clock_ms();
    ++stats_.publishes;
  }
  if (old) kick(old, "stream " + key_ + " taken over by a new publisher");
  return take;
}

void StreamHub::kick(const PublisherRef& pub, const std::string& why) {
  if (!pub->loop) return;
  bool posted = pub->loop->post([pub, why] {
    if (pub->publisher) pub->publisher->kicked(why);
  });
  // The loop is stopping or its task queue is full: the old publisher keeps
  // its session, but the hub ignores its packets (it is no longer the publisher).
  if (!posted) spdlog::warn("stream {}: could not tell the old publisher ({}) to stop: its loop refused", key_, why);
}

void StreamHub::publish(const PublisherRef& p, core::MediaPacket pkt) {
  core::Loop* here = core::Loop::current();
  std::shared_ptr<LoopHub> local;
  PacketRef hp;
  bool new_config = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (publisher_ != p || state_ != State::kLive) return;
    // Timeline continuity across publishers and resets.
    if (pkt.is_config() || pkt.is_data()) {
      if (rebase_) {
        offset_ = have_output_ ? last_dts_ + kRebaseGapMs - pkt.dts : 0;
        rebase_ = false;
      }
      int64_t cts = pkt.pts - pkt.dts;
      int64_t floor = pkt.is_video()   ? last_track_dts_[0]
                      : pkt.is_audio() ? last_track_dts_[1]
                                       : (have_output_ ? last_dts_ : INT64_MIN);
      pkt.dts = std::max(pkt.dts + offset_, floor);
      pkt.pts = pkt.dts + cts;
    } else {
      if (rebase_) {
        offset_ = have_output_ ? last_dts_ + kRebaseGapMs - pkt.dts : 0;
        rebase_ = false;
      } else if (have_output_ && pkt.dts + offset_ < last_dts_ - kBackJumpMs) {
        if (auto n = jump_log_.allow(core::wall_clock_ms()))
          spdlog::warn("stream {}: timestamp went back from {} to {} ms; rebasing ({} such jumps since the last "
                       "line)",
                       key_, last_dts_, pkt.dts + offset_, *n);
        offset_ = last_dts_ + kRebaseGapMs - pkt.dts;
      }
      pkt.dts += offset_;
      pkt.pts += offset_;
      last_dts_ = std::max(last_dts_, pkt.dts);
      if (pkt.is_video()) last_track_dts_[0] = std::max(last_track_dts_[0], pkt.dts);
      if (pkt.is_audio()) last_track_dts_[1] = std::max(last_track_dts_[1], pkt.dts);
      have_output_ = true;
    }
    if (mark_discontinuity_) {
      pkt.flags |= core::packet_flags::kDiscontinuity;
      mark_discontinuity_ = false;
    }
    ++stats_.packets;
    stats_.bytes += pkt.body.size();
    // Frames are packets with coded media: not configs, and not the
    // end-of-sequence / command / metadata tags that carry no payload.
    if (!pkt.is_config() && !pkt.payload().empty()) {
      if (pkt.is_video()) {
        ++stats_.video_frames;
        if (pkt.is_keyframe()) ++stats_.keyframes;
      } else if (pkt.is_audio()) {
        ++stats_.audio_frames;
      }
    }
    origin_.metrics().packets_in_total.fetch_add(1, std::memory_order_relaxed);
    origin_.metrics().bytes_in_total.fetch_add(pkt.body.size(), std::memory_order_relaxed);
    app_counters_.bytes_in.fetch_add(pkt.body.size(), std::memory_order_relaxed);

    hp = HubPacket::make(std::move(pkt), chunk_size_);
    if (hp->media().is_config() && !hp->media().is_data()) {
      const PacketRef& prev = hp->media().is_video() ? master_.video_config() : master_.audio_config();
      const core::ByteView a = hp->media().payload();
      new_config = !prev || prev->media().codec != hp->media().codec ||
                   !std::equal(a.begin(), a.end(), prev->media().payload().begin(), prev->media().payload().end());
    }
    if (ts_users_ > 0) mux_ts_locked(*hp);
    master_.push(hp);
    for (const auto& lh : loop_hubs_) {
      if (here && &lh->loop() == here) {
        local = lh;
      } else {
        origin_.at(lh->loop().index()).enqueue(lh, hp);
        touched_loops_ |= uint64_t(1) << (lh->loop().index() & 63);
      }
    }
  }
  if (new_config) notify_config(*hp);
  if (local) local->append(std::move(hp));
}

void StreamHub::notify_config(const HubPacket& config) {
  auto self = shared_from_this();
  for (StreamObserver* o : origin_.observers()) o->on_codec_config(self, config);
}

void StreamHub::flush() {
  uint64_t touched;
  std::shared_ptr<LoopHub> local;
  core::Loop* here = core::Loop::current();
  {
    std::lock_guard<std::mutex> lk(mu_);
    touched = touched_loops_;
    touched_loops_ = 0;
    for (const auto& lh : loop_hubs_)
      if (here && &lh->loop() == here) local = lh;
  }
  for (size_t i = 0; touched && i < origin_.loops().size(); ++i)
    if (touched & (uint64_t(1) << (i & 63))) origin_.at(int(i)).wake();
  if (local) local->notify();
}

void StreamHub::end_publish(const PublisherRef& p, const std::string& why) {
  uint64_t gen;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (publisher_ != p || state_ != State::kLive) return;
    publisher_.reset();
    gen = ++generation_;
    if (app_config_.reconnect_grace_ms > 0) state_ = State::kGrace;
  }
  auto self = shared_from_this();
  for (StreamObserver* o : origin_.observers()) o->on_publisher_lost(self, why);
  if (app_config_.reconnect_grace_ms <= 0) {
    end("publisher left: " + why);
    return;
  }
  // The timer lives on the publisher's loop, whichever thread ends the
  // publish; a loop that cannot take the task (stopping) ends the stream now.
  core::Loop* loop = p->loop;
  if (loop && loop == core::Loop::current()) return start_grace_timer(*loop, gen);
  std::weak_ptr<StreamHub> weak = self;
  if (!loop || !loop->post([weak, gen] {
        if (auto hub = weak.lock()) hub->start_grace_timer(*core::Loop::current(), gen);
      }))
    end("publisher left: " + why + " (no loop to wait for it on)");
}

void StreamHub::start_grace_timer(core::Loop& loop, uint64_t generation) {
  auto* gt = new GraceTimer{};
  gt->loop = &loop;
  gt->hub = weak_from_this();
  gt->generation = generation;
  uv_timer_init(loop.uv(), &gt->timer);
  gt->timer.data = gt;
  loop.track(gt);
  uv_timer_start(&gt->timer, [](uv_timer_t* t) {
    auto* g = static_cast<GraceTimer*>(t->data);
    if (auto hub = g->hub.lock()) hub->grace_expired(g->generation);
    g->close_for_shutdown();
  }, uint64_t(app_config_.reconnect_grace_ms), 0);
}

void StreamHub::grace_expired(uint64_t generation) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (generation != generation_ || state_ != State::kGrace) return;
  }
  end("publisher did not come back within " + std::to_string(app_config_.reconnect_grace_ms) + " ms");
}

void StreamHub::end_locked(const std::string& why, std::vector<std::shared_ptr<LoopHub>>& to_end) {
  if (state_ == State::kEnded) return;
  state_ = State::kEnded;
  ++generation_;
  to_end.swap(loop_hubs_);
  master_.clear();
  origin_.metrics().streams_ended_total++;
  spdlog::info("stream {} ended: {}", key_, why);
}

void StreamHub::end(const std::string& why) {
  std::vector<std::shared_ptr<LoopHub>> to_end;
  PublisherRef pub;
  bool ended_now = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    pub = std::move(publisher_);
    ended_now = state_ != State::kEnded;
    end_locked(why, to_end);
  }
  if (!ended_now) return;
  origin_.registry().remove(this);
  if (pub) kick(pub, why);
  for (auto& lh : to_end) {
    bool posted = lh->loop().post([lh, why, o = &origin_] { o->current().end_hub(lh, why); });
    // That loop's sweep finds the ended stream within half a second and ends
    // its mirror there (OriginLoop::on_sweep).
    if (!posted)
      spdlog::warn("stream {}: loop {} refused the end task; its sweep ends the stream's viewers", key_,
                   lh->loop().index());
  }
  auto self = shared_from_this();
  for (StreamObserver* o : origin_.observers()) o->on_stream_ended(self, why);
}

std::shared_ptr<LoopHub> StreamHub::attach(core::Loop& loop) {
  std::lock_guard<std::mutex> lk(mu_);
  if (state_ == State::kEnded) return nullptr;
  for (auto& lh : loop_hubs_)
    if (&lh->loop() == &loop) return lh;
  auto lh = std::make_shared<LoopHub>(loop, shared_from_this(), ring_limits(app_config_), app_config_,
                                      &origin_.metrics().viewer_skips_total);
  // Seed with the master ring: packets published after this point are queued
  // to this loop (the publisher sees lh in loop_hubs_ under the same lock).
  // The configs in effect at the ring's start come first: their packets may
  // have been evicted long ago.
  GopRing& ring = lh->ring_for_seed();
  if (const GopStart* oldest = master_.oldest_start()) {
    ring.set_initial_configs(oldest->video_config, oldest->audio_config, oldest->metadata);
  } else {
    ring.set_initial_configs(master_.video_config(), master_.audio_config(), master_.metadata());
  }
  for (uint64_t s = master_.first_seq(); s < master_.end_seq(); ++s) ring.push(master_.at(s));
  loop_hubs_.push_back(lh);
  return lh;
}

void StreamHub::mux_ts_locked(const HubPacket& hp) {
  const core::MediaPacket& m = hp.media();
  if (m.is_data()) return;
  if (m.is_config()) {
    core::Status st = m.is_video() ? ts_mux_->set_video(m.codec, m.payload()) : ts_mux_->set_audio(m.codec, m.payload());
    if (!st && !ts_failed_logged_) {
      ts_failed_logged_ = true;
      spdlog::warn("stream {}: no MPEG-TS output for this codec: {}", key_, st.message());
    }
    return;
  }
  if (m.payload().empty() || hp.ts()) return;  // muxed before the last TS user left
  core::ByteWriter w(m.body.size() + m.body.size() / 8 + 512);
  if (auto st = ts_mux_->write_packet(w, m); !st) {
    if (!ts_failed_logged_) {
      ts_failed_logged_ = true;
      spdlog::warn("stream {}: MPEG-TS muxing failed: {}", key_, st.message());
    }
    return;
  }
  if (w.size()) hp.set_ts(w.finish());
}

void StreamHub::add_ts_user() {
  std::lock_guard<std::mutex> lk(mu_);
  if (ts_users_++ > 0) return;
  if (!ts_mux_) {
    protocol::TsMuxerOptions opts;
    opts.audio_frames_per_pes = 1;        // low latency: each frame goes out at once
    opts.tables_before_keyframes = true;  // every keyframe is a join point
    opts.bounded_video_pes = true;        // a reader completes each frame without waiting for the next
    ts_mux_ = std::make_unique<protocol::TsMuxer>(opts);
    ts_failed_logged_ = false;
  }
  const GopStart* g = master_.latest_start();
  if (!g) return;
  if (g->video_config) mux_ts_locked(*g->video_config);
  if (g->audio_config) mux_ts_locked(*g->audio_config);
  for (uint64_t seq = g->seq; seq < master_.end_seq(); ++seq) mux_ts_locked(*master_.at(seq));
}

void StreamHub::remove_ts_user() {
  std::lock_guard<std::mutex> lk(mu_);
  // The muxer stays (idle) for the stream's life: packets of the current GOP
  // may already carry its bytes, and the next first user's replay must
  // continue its continuity counters rather than start a second sequence.
  if (ts_users_ > 0) --ts_users_;
}

void StreamHub::detach(const std::shared_ptr<LoopHub>& lh) {
  std::lock_guard<std::mutex> lk(mu_);
  std::erase(loop_hubs_, lh);
}

}  // namespace weir::origin
