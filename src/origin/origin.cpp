#include "origin/origin.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "origin/hls/hls_service.h"
#include "origin/hub_publisher.h"
#include "origin/loop_hub.h"
#include "origin/stream_hub.h"

namespace weir::origin {

namespace {
constexpr uint64_t kSweepMs = 500;
}

OriginLoop::OriginLoop(Origin& origin, core::Loop& loop) : origin_(origin), loop_(loop) {}

OriginLoop::~OriginLoop() = default;

void OriginLoop::start() {
  uv_async_init(loop_.uv(), &async_, &OriginLoop::on_wake);
  async_.data = this;
  uv_timer_init(loop_.uv(), &sweep_);
  sweep_.data = this;
  uv_timer_start(&sweep_, &OriginLoop::on_sweep, kSweepMs, kSweepMs);
  uv_unref(reinterpret_cast<uv_handle_t*>(&sweep_));
  uv_check_init(loop_.uv(), &check_);
  check_.data = this;
  uv_check_start(&check_, &OriginLoop::on_check);
  uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
  started_ = true;
}

void OriginLoop::schedule_flush(HubPublisher* p) {
  if (p->flush_queued_) return;
  p->flush_queued_ = true;
  unflushed_.push_back(p);
}

void OriginLoop::cancel_flush(HubPublisher* p) {
  if (!p->flush_queued_) return;
  p->flush_queued_ = false;
  std::erase(unflushed_, p);
  std::replace(flushing_.begin(), flushing_.end(), p, static_cast<HubPublisher*>(nullptr));
}

void OriginLoop::on_check(uv_check_t* c) {
  auto* self = static_cast<OriginLoop*>(c->data);
  if (self->unflushed_.empty()) return;
  self->flushing_.swap(self->unflushed_);
  for (size_t i = 0; i < self->flushing_.size(); ++i) {
    HubPublisher* p = self->flushing_[i];
    if (!p) continue;  // ended by an earlier flush's callbacks
    p->flush_queued_ = false;
    p->flush();
  }
  self->flushing_.clear();
}

std::shared_ptr<LoopHub> OriginLoop::attach(const std::shared_ptr<StreamHub>& hub) {
  auto it = hubs_.find(hub.get());
  if (it != hubs_.end() && !it->second->ended()) return it->second;
  auto lh = hub->attach(loop_);
  if (lh) hubs_[hub.get()] = lh;
  return lh;
}

void OriginLoop::release_if_unused(LoopHub* lh) {
  if (lh->consumer_count() != 0) return;
  auto it = hubs_.find(lh->stream().get());
  if (it == hubs_.end() || it->second.get() != lh) return;
  auto keep = it->second;
  hubs_.erase(it);
  keep->stream()->detach(keep);
}

void OriginLoop::forget(LoopHub* lh) {
  auto it = hubs_.find(lh->stream().get());
  if (it != hubs_.end() && it->second.get() == lh) hubs_.erase(it);
}

void OriginLoop::end_hub(const std::shared_ptr<LoopHub>& lh, const std::string& why) {
  drain();
  lh->notify();
  forget(lh.get());
  lh->end(why);
}

void OriginLoop::enqueue(const std::shared_ptr<LoopHub>& lh, const PacketRef& pkt) {
  std::lock_guard<std::mutex> lk(mu_);
  if (inbox_.size() >= kInboxCap) {
    origin_.metrics().inbox_overflow_total.fetch_add(1, std::memory_order_relaxed);
    // Drop it; drain() resyncs that LoopHub at the next sync point.
    for (auto& o : overflowed_)
      if (o == lh) return;
    overflowed_.push_back(lh);
    return;
  }
  inbox_.push_back(Item{lh, pkt});
}

void OriginLoop::wake() {
  if (started_) uv_async_send(&async_);
}

void OriginLoop::on_wake(uv_async_t* h) { static_cast<OriginLoop*>(h->data)->drain(); }

void OriginLoop::drain() {
  std::vector<std::shared_ptr<LoopHub>> overflowed;
  {
    std::lock_guard<std::mutex> lk(mu_);
    draining_.swap(inbox_);
    overflowed.swap(overflowed_);
  }
  // touched_ holds references: clearing draining_ below may drop the last
  // one to a LoopHub whose consumers all left meanwhile.
  touched_.clear();
  for (auto& item : draining_) {
    LoopHub* lh = item.lh.get();
    if (lh->ended()) continue;
    lh->append(std::move(item.pkt));
    if (touched_.empty() || touched_.back().get() != lh) touched_.push_back(item.lh);
  }
  draining_.clear();
  // Packets were lost after the ones just appended: restart at the next sync point.
  for (auto& lh : overflowed) {
    if (lh->ended()) continue;
    spdlog::warn("loop {}: inbox overflow for stream {}; its viewers resync at the next keyframe", loop_.index(),
                 lh->stream()->key());
    lh->resync();
  }
  // Only LoopHubs still mapped are notified (one released meanwhile has no
  // consumer); the local vector keeps them alive while consumers close.
  std::vector<std::shared_ptr<LoopHub>> alive;
  alive.swap(touched_);
  for (auto& lh : alive) {
    auto it = hubs_.find(lh->stream().get());
    if (it != hubs_.end() && it->second == lh) lh->notify();
  }
  alive.clear();
  touched_.swap(alive);  // keeps the capacity for the next drain
}

void OriginLoop::on_sweep(uv_timer_t* t) {
  auto* self = static_cast<OriginLoop*>(t->data);
  const uint64_t now = uv_hrtime();
  if (self->last_sweep_ns_) {
    const uint64_t due = self->last_sweep_ns_ + kSweepMs * 1000000;
    self->lag_.observe_us(now > due ? (now - due) / 1000 : 0);
  }
  self->last_sweep_ns_ = now;
  std::vector<std::shared_ptr<LoopHub>> hubs;
  hubs.reserve(self->hubs_.size());
  for (auto& [k, lh] : self->hubs_) hubs.push_back(lh);
  for (auto& lh : hubs) {
    // A stream that ended while this loop refused the task that tells it
    // (its queue was full) is ended here: its viewers are told, and the map
    // lets go of the mirror (which holds the stream).
    if (!lh->ended() && lh->stream()->state() == StreamHub::State::kEnded) {
      self->end_hub(lh, "stream ended");
      continue;
    }
    lh->sweep();
  }
}

Origin::Origin(const core::Config& config, core::LoopGroup& loops)
    : Origin(std::make_unique<core::ConfigStore>(config), loops) {}

Origin::Origin(core::ConfigStore& configs, core::LoopGroup& loops) : Origin(std::unique_ptr<core::ConfigStore>(), configs, loops) {}

Origin::Origin(std::unique_ptr<core::ConfigStore> owned, core::LoopGroup& loops)
    : Origin(std::move(owned), *owned, loops) {}

Origin::Origin(std::unique_ptr<core::ConfigStore>&& owned, core::ConfigStore& configs, core::LoopGroup& loops)
    : owned_configs_(std::move(owned)),
      configs_(configs),
      loops_(loops),
      registry_(*this),
      ingest_budget_(configs.get().limits.ingest_buffer_bytes),
      connections_per_ip_(configs.get().limits.max_connections_per_ip),
      hls_(std::make_unique<hls::HlsService>(*this)) {
  for (size_t i = 0; i < loops.size(); ++i) loops_ctx_.push_back(std::make_unique<OriginLoop>(*this, loops.at(i)));
  config_installed(configs.get());
  add_observer(hls_.get());
}

void Origin::config_installed(const core::Config& next) {
  {
    std::lock_guard<std::mutex> lk(app_counters_mu_);
    for (const auto& [name, app] : next.apps)
      if (!app_counters_.count(name)) app_counters_.emplace(name, std::make_unique<AppCounters>());
  }
  connections_per_ip_.set_cap(next.limits.max_connections_per_ip);
}

AppCounters& Origin::app_counters(const core::AppConfig& app) const {
  std::lock_guard<std::mutex> lk(app_counters_mu_);
  auto it = app.name.empty() ? app_counters_.end() : app_counters_.find(app.name);
  return it != app_counters_.end() ? *it->second : *unlisted_counters_;
}

Origin::~Origin() = default;

OriginLoop& Origin::current() {
  core::Loop* l = core::Loop::current();
  return *loops_ctx_[size_t(l ? l->index() : 0)];
}

}  // namespace weir::origin
