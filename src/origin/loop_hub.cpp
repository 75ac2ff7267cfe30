#include "origin/loop_hub.h"

#include <algorithm>

namespace weir::origin {

LoopHub::LoopHub(core::Loop& loop, std::shared_ptr<StreamHub> hub, GopRing::Limits limits, const core::AppConfig& app,
                 std::atomic<uint64_t>* skip_counter)
    : loop_(loop), stream_(std::move(hub)), ring_(limits), app_(app), skip_counter_(skip_counter) {}

LoopHub::~LoopHub() = default;

void LoopHub::append(PacketRef pkt) {
  if (ended_) return;
  ring_.push(std::move(pkt));
  pending_notify_ = true;
}

void LoopHub::notify() {
  if (!pending_notify_ || ended_) return;
  pending_notify_ = false;
  notifying_.swap(waiting_);
  for (size_t i = 0; i < notifying_.size(); ++i) {
    ConsumerHandle* c = notifying_[i];
    if (!c || c->lh_.get() != this || !c->waiting_) continue;
    c->waiting_ = false;
    c->consumer_.on_packets();
  }
  notifying_.clear();
}

void LoopHub::resync() {
  ring_.clear();
  for (ConsumerHandle* c : consumers_) {
    if (c->opts_.policy == ConsumerPolicy::kLossless && !c->gap_pending_) {
      c->gap_pending_ = true;
      c->gap_ = ConsumerGap{c->cursor_, ring_.end_seq(), 0, c->last_dts_, -1, "inbox overflow"};
    }
    c->cursor_ = ring_.end_seq();
    c->need_sync_ = true;
    c->send_start_ = false;
    if (c->opts_.policy == ConsumerPolicy::kViewer) {
      ++c->skips_;
      if (skip_counter_) skip_counter_->fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void LoopHub::place_at(ConsumerHandle& c, const GopStart* start) {
  if (start) {
    c.cursor_ = start->seq;
    c.start_ = *start;
    c.send_start_ = true;
    c.need_sync_ = false;
  } else {
    c.cursor_ = ring_.end_seq();
    c.need_sync_ = true;
    c.send_start_ = false;
  }
}

void LoopHub::add(ConsumerHandle& c, StartAt at) {
  c.waiting_ = false;
  c.gap_pending_ = false;
  c.last_dts_ = -1;
  consumers_.push_back(&c);
  const GopStart* start = at == StartAt::kLatestKeyframe   ? ring_.latest_start()
                          : at == StartAt::kOldestKeyframe ? ring_.oldest_start()
                                                           : nullptr;
  place_at(c, start);
}

void LoopHub::remove(ConsumerHandle& c) {
  c.waiting_ = false;
  std::erase(consumers_, &c);
  std::erase(waiting_, &c);
  std::replace(notifying_.begin(), notifying_.end(), &c, static_cast<ConsumerHandle*>(nullptr));
}

void LoopHub::skip_to_latest(ConsumerHandle& c) {
  const GopStart* latest = ring_.latest_start();
  if (latest && latest->seq > c.cursor_) {
    place_at(c, latest);
  } else if (c.cursor_ < ring_.first_seq()) {
    place_at(c, nullptr);
  } else {
    return;  // nothing newer to skip to
  }
  ++c.skips_;
  if (skip_counter_) skip_counter_->fetch_add(1, std::memory_order_relaxed);
}

uint64_t LoopHub::backlog(const ConsumerHandle& c) const {
  return ring_.bytes_from(c.cursor_) + c.consumer_.queued_bytes();
}

void LoopHub::mark_waiting(ConsumerHandle& c) {
  if (c.waiting_) return;
  c.waiting_ = true;
  waiting_.push_back(&c);
}

namespace {
// Appends pkt unless it repeats the config/metadata the consumer already has.
void emit_config(std::vector<PacketRef>& out, const PacketRef& pkt, PacketRef& sent, size_t& bytes) {
  if (!pkt || pkt == sent) return;
  sent = pkt;
  bytes += pkt->flv_size();
  out.push_back(pkt);
}
}  // namespace

ReadResult LoopHub::read(ConsumerHandle& c, std::vector<PacketRef>& out, size_t max_bytes) {
  const bool lossless = c.opts_.policy == ConsumerPolicy::kLossless;
  if (c.gap_pending_) {
    c.gap_pending_ = false;
    return ReadResult::kGap;
  }
  if (c.cursor_ < ring_.first_seq()) {
    if (lossless) {
      // Evicted before it was read: resume at the oldest start point left (or
      // the next sync point) and say exactly what was lost.
      const GopStart* oldest = ring_.oldest_start();
      c.gap_ = ConsumerGap{c.cursor_, 0, 0, c.last_dts_, -1, "evicted"};
      if (oldest) {
        place_at(c, oldest);
        c.gap_.resume_dts = oldest->dts;
      } else {
        c.cursor_ = ring_.first_seq();
        c.need_sync_ = true;
        c.send_start_ = false;
      }
      c.gap_.resume_seq = c.cursor_;
      c.gap_.lost_packets = c.gap_.resume_seq - c.gap_.lost_from_seq;
      return ReadResult::kGap;
    }
    skip_to_latest(c);
  }
  if (!lossless) {
    uint64_t lag = backlog(c);
    if (lag > app_.viewer_max_bytes) return ReadResult::kTooSlow;
    if (lag > app_.viewer_skip_bytes) skip_to_latest(c);
  }

  size_t bytes = 0;
  if (c.send_start_) {
    c.send_start_ = false;
    emit_config(out, c.start_.metadata, c.sent_metadata_, bytes);
    emit_config(out, c.start_.video_config, c.sent_video_config_, bytes);
    emit_config(out, c.start_.audio_config, c.sent_audio_config_, bytes);
    c.start_ = GopStart{};
  }
  const uint64_t end = ring_.end_seq();
  while (c.cursor_ < end && bytes < max_bytes) {
    uint64_t seq = c.cursor_++;
    const PacketRef& p = ring_.at(seq);
    const core::MediaPacket& m = p->media();
    if (c.need_sync_) {
      if (m.is_config()) {
        // Keep configs flowing so the sync point decodes.
      } else if (!ring_.is_sync(seq)) {
        continue;
      } else {
        c.need_sync_ = false;
        if (const GopStart* g = ring_.start_for(seq)) {
          emit_config(out, g->metadata, c.sent_metadata_, bytes);
          emit_config(out, g->video_config, c.sent_video_config_, bytes);
          emit_config(out, g->audio_config, c.sent_audio_config_, bytes);
        }
      }
    }
    if (m.is_config()) {
      emit_config(out, p,
                  m.is_video()   ? c.sent_video_config_
                  : m.is_audio() ? c.sent_audio_config_
                                 : c.sent_metadata_,
                  bytes);
      continue;
    }
    c.last_dts_ = m.dts;
    bytes += p->flv_size();
    out.push_back(p);
  }
  if (out.empty()) {
    mark_waiting(c);
    return ReadResult::kEmpty;
  }
  return ReadResult::kOk;
}

bool LoopHub::wait_if_caught_up(ConsumerHandle& c) {
  if (c.cursor_ < ring_.end_seq() || c.send_start_ || c.gap_pending_) return false;
  mark_waiting(c);
  return true;
}

void LoopHub::sweep() {
  // Copy: detaching changes consumers_.
  std::vector<ConsumerHandle*> slow;
  for (ConsumerHandle* c : consumers_) {
    if (c->opts_.policy != ConsumerPolicy::kViewer) continue;
    c->consumer_.sample_queue();
    uint64_t lag = backlog(*c);
    if (lag > app_.viewer_max_bytes) slow.push_back(c);
    // A consumer with a write in flight reads again only when it drains;
    // moving its cursor now makes that next read start at the newest
    // keyframe (what is already queued goes out whole).
    else if (lag > app_.viewer_skip_bytes) skip_to_latest(*c);
  }
  for (ConsumerHandle* c : slow) {
    if (c->lh_.get() != this) continue;  // released by an earlier callback of this sweep
    uint64_t lag = backlog(*c);
    remove(*c);
    Consumer& consumer = c->consumer_;
    c->detached();
    consumer.on_too_slow(lag);
  }
}

void LoopHub::end(const std::string& why) {
  if (ended_) return;
  ended_ = true;  // nothing is appended from here on
  // Each consumer may take what it has not read before anything is detached.
  // on_stream_ending may not release a handle, so consumers_ holds still.
  for (ConsumerHandle* c : consumers_) c->consumer_.on_stream_ending();
  std::vector<ConsumerHandle*> all;
  all.swap(consumers_);
  waiting_.clear();
  std::fill(notifying_.begin(), notifying_.end(), nullptr);
  std::vector<Consumer*> tell;
  tell.reserve(all.size());
  for (ConsumerHandle* c : all) {
    c->waiting_ = false;
    tell.push_back(&c->consumer_);
    c->detached();
  }
  // Every handle is detached before any consumer is told, so a consumer may
  // release or free its handle from the callback.
  for (Consumer* c : tell) c->on_stream_end(why);
  ring_.clear();
}

}  // namespace weir::origin
