#include "loadgen/runner.h"

#include <uv.h>

#include <algorithm>

#include "loadgen/player.h"

namespace weir::loadgen {

int64_t mono_us() { return int64_t(uv_hrtime() / 1000); }

Runner::Runner(const Options& options, int64_t t0_us, std::vector<uint32_t> player_ids)
    : options_(options),
      t0_us_(t0_us),
      stall_us_(int64_t(options.stall * 1e6)),
      warmup_us_(int64_t(options.warmup * 1e6)),
      ids_(std::move(player_ids)),
      stats_(ids_.size()) {}

Runner::~Runner() = default;

void Runner::start(core::Loop& loop) {
  loop_ = &loop;
  loop.track(this);
  players_.reserve(ids_.size());
  // Ramp: check often enough that starts are not bunched (but at most every ms).
  double per_loop = options_.ramp / double(std::max(1, options_.loops));
  uint64_t period = uint64_t(std::clamp(1000.0 / std::max(per_loop, 1.0), 1.0, 20.0));
  ramp_timer_ = std::make_unique<core::Timer>(loop);
  ramp_timer_->start(0, [this] { on_ramp(); }, period);
  tick_timer_ = std::make_unique<core::Timer>(loop);
  tick_timer_->start(250, [this] { on_tick(); }, 250);
}

void Runner::on_ramp() {
  if (ending_) return;
  int64_t now = mono_us();
  while (next_ < ids_.size()) {
    int64_t due = t0_us_ + int64_t(double(ids_[next_]) * 1e6 / options_.ramp);
    if (due > now) break;
    players_.push_back(make_player(options_.kind, *this, stats_[next_]));
    ++next_;
    players_.back()->start();
  }
  if (next_ >= ids_.size() && ramp_timer_) ramp_timer_->stop();
}

void Runner::on_tick() {
  if (ending_) return;
  int64_t now = mono_us();
  for (auto& p : players_) p->tick(now);
}

void Runner::close_for_shutdown() {
  if (ending_) return;
  ending_ = true;
  end_us_ = mono_us();
  ramp_timer_.reset();
  tick_timer_.reset();
  for (auto& p : players_) p->finish(end_us_);
  for (auto& p : players_) p->shutdown();
  if (loop_) loop_->untrack(this);
}

}  // namespace weir::loadgen
