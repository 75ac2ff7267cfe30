#include "origin/consumer_handle.h"

#include "origin/loop_hub.h"
#include "origin/origin.h"
#include "origin/stream_hub.h"

namespace weir::origin {

bool ConsumerHandle::attach(const std::shared_ptr<StreamHub>& hub, ConsumerOptions opts) {
  release();
  auto lh = hub->origin().current().attach(hub);
  if (!lh) return false;
  if (opts.ts) {
    // TS output on before the cursor is placed: the GOP cache is muxed now.
    hub->add_ts_user();
    ts_hub_ = hub;
  }
  attach_to(std::move(lh), opts);
  return true;
}

void ConsumerHandle::attach_to(std::shared_ptr<LoopHub> lh, ConsumerOptions opts) {
  if (lh_) release();
  opts_ = opts;
  lh_ = std::move(lh);
  sent_video_config_.reset();
  sent_audio_config_.reset();
  sent_metadata_.reset();
  lh_->add(*this, opts.start);
  count_attach(true);
}

void ConsumerHandle::count_attach(bool attach) {
  if (opts_.policy != ConsumerPolicy::kViewer || !lh_ || !lh_->stream()) return;
  Metrics& m = lh_->stream()->origin().metrics();
  if (attach) {
    m.viewers_total++;
    m.viewers_open++;
  } else {
    m.viewers_open--;
  }
}

void ConsumerHandle::detached() {
  count_attach(false);
  lh_.reset();
  start_ = GopStart{};
  if (auto ts = std::move(ts_hub_)) ts->remove_ts_user();
}

void ConsumerHandle::release() {
  if (!lh_) return;
  std::shared_ptr<LoopHub> lh = lh_;  // keeps the mirror alive through detached()
  lh->remove(*this);
  detached();
  if (const auto& hub = lh->stream()) hub->origin().current().release_if_unused(lh.get());
}

ReadResult ConsumerHandle::read(std::vector<PacketRef>& out, size_t max_bytes) {
  if (!lh_) return ReadResult::kEmpty;
  return lh_->read(*this, out, max_bytes);
}

bool ConsumerHandle::wait_if_caught_up() { return lh_ && lh_->wait_if_caught_up(*this); }

uint64_t ConsumerHandle::backlog() const { return lh_ ? lh_->backlog(*this) : 0; }

const GopRing* ConsumerHandle::ring() const { return lh_ ? &lh_->ring() : nullptr; }

StreamHub* ConsumerHandle::stream() const { return lh_ ? lh_->stream().get() : nullptr; }

}  // namespace weir::origin
