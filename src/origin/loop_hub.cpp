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
    Consumer* c = notifying_[i];
    if (!c || c->hub_ != this || !c->waiting_) continue;
    c->waiting_ = false;
    c->on_packets();
  }
  notifying_.clear();
}

void LoopHub::resync() {
  ring_.clear();
  for (Consumer* c : consumers_) {
    c->cursor_ = ring_.end_seq();
    c->need_sync_ = true;
    c->send_start_ = false;
    ++c->skips_;
    if (skip_counter_) skip_counter_->fetch_add(1, std::memory_order_relaxed);
  }
}

void LoopHub::place_at(Consumer& c, const GopStart* start) {
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

void LoopHub::add_consumer(Consumer* c, StartAt at) {
  c->hub_ = this;
  c->waiting_ = false;
  consumers_.push_back(c);
  const GopStart* start = at == StartAt::kLatestKeyframe   ? ring_.latest_start()
                          : at == StartAt::kOldestKeyframe ? ring_.oldest_start()
                                                           : nullptr;
  place_at(*c, start);
}

void LoopHub::remove_consumer(Consumer* c) {
  if (c->hub_ != this) return;
  c->hub_ = nullptr;
  c->waiting_ = false;
  std::erase(consumers_, c);
  std::erase(waiting_, c);
  std::replace(notifying_.begin(), notifying_.end(), c, static_cast<Consumer*>(nullptr));
}

void LoopHub::skip_to_latest(Consumer& c) {
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

namespace {
// Appends pkt unless it repeats the config/metadata the consumer already has.
void emit_config(std::vector<PacketRef>& out, const PacketRef& pkt, const HubPacket*& sent, size_t& bytes) {
  if (!pkt || pkt.get() == sent) return;
  sent = pkt.get();
  bytes += pkt->flv_size();
  out.push_back(pkt);
}
}  // namespace

ReadResult LoopHub::read(Consumer& c, std::vector<PacketRef>& out, size_t max_bytes) {
  if (c.cursor_ < ring_.first_seq()) skip_to_latest(c);
  uint64_t lag = backlog(c);
  if (lag > app_.viewer_max_bytes) return ReadResult::kTooSlow;
  if (lag > app_.viewer_skip_bytes) skip_to_latest(c);

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
    bytes += p->flv_size();
    out.push_back(p);
  }
  if (out.empty()) {
    if (!c.waiting_) {
      c.waiting_ = true;
      waiting_.push_back(&c);
    }
    return ReadResult::kEmpty;
  }
  return ReadResult::kOk;
}

bool LoopHub::wait_if_caught_up(Consumer& c) {
  if (c.cursor_ < ring_.end_seq() || c.send_start_) return false;
  if (!c.waiting_) {
    c.waiting_ = true;
    waiting_.push_back(&c);
  }
  return true;
}

void LoopHub::sweep() {
  // Copy: on_too_slow closes (and removes) the consumer.
  std::vector<Consumer*> slow;
  for (Consumer* c : consumers_) {
    c->sample_queue();
    uint64_t lag = backlog(*c);
    if (lag > app_.viewer_max_bytes) slow.push_back(c);
    // A consumer with a write in flight reads again only when it drains;
    // moving its cursor now makes that next read start at the newest
    // keyframe (what is already queued goes out whole).
    else if (lag > app_.viewer_skip_bytes) skip_to_latest(*c);
  }
  for (Consumer* c : slow) {
    uint64_t lag = backlog(*c);
    remove_consumer(c);
    c->on_too_slow(lag);
  }
}

void LoopHub::end(const std::string& why) {
  if (ended_) return;
  ended_ = true;
  std::vector<Consumer*> all;
  all.swap(consumers_);
  waiting_.clear();
  for (Consumer* c : all) {
    c->hub_ = nullptr;
    c->waiting_ = false;
  }
  for (Consumer* c : all) c->on_stream_end(why);
  ring_.clear();
}

}  // namespace weir::origin
