#include "core/timer.h"

namespace weir::core {

void Timer::Handle::close() {
  auto* uh = reinterpret_cast<uv_handle_t*>(&timer);
  if (!uv_is_closing(uh)) uv_close(uh, [](uv_handle_t* x) { delete static_cast<Handle*>(x->data); });
}

void Timer::Handle::close_for_shutdown() {
  if (owner) owner->h_ = nullptr;
  owner = nullptr;
  uv_timer_stop(&timer);
  cb = nullptr;
  close();
}

void Timer::start(uint64_t ms, std::function<void()> cb, uint64_t repeat_ms) {
  if (!h_) {
    h_ = new Handle();
    uv_timer_init(loop_.uv(), &h_->timer);
    h_->timer.data = h_;
    h_->owner = this;
    loop_.track(h_);
  }
  h_->cb = std::move(cb);
  uv_timer_start(&h_->timer, [](uv_timer_t* t) {
    auto* h = static_cast<Handle*>(t->data);
    // Copy: the callback may stop or destroy the owning Timer.
    auto cb = h->cb;
    if (cb) cb();
  }, ms, repeat_ms);
}

void Timer::stop() {
  if (h_) {
    uv_timer_stop(&h_->timer);
    h_->cb = nullptr;
  }
}

bool Timer::active() const { return h_ && uv_is_active(reinterpret_cast<const uv_handle_t*>(&h_->timer)); }

void Timer::release() {
  if (!h_) return;
  Handle* h = h_;
  h_ = nullptr;
  h->owner = nullptr;
  loop_.untrack(h);
  uv_timer_stop(&h->timer);
  h->cb = nullptr;
  h->close();
}

}  // namespace weir::core
