#include "origin/play_request.h"

#include <algorithm>

#include "core/loop.h"
#include "core/timer.h"
#include "origin/origin.h"
#include "origin/registry.h"
#include "origin/stream_hub.h"

namespace weir::origin {

// Loop thread only. Owned by the PlayRequest; callbacks in flight hold weak refs.
struct PlayRequest::State {
  PlayRequest* owner = nullptr;
  core::Loop* loop = nullptr;
  AdmissionRequest req;
  Done done;
  Admission::Ticket ticket;
  uint64_t wait_id = 0;
  std::unique_ptr<core::Timer> timer;
  bool finished = false;
};

void PlayRequest::start(AdmissionRequest req, Done done, size_t admission_from) {
  cancel();
  auto st = std::make_shared<State>();
  st->owner = this;
  st->loop = core::Loop::current();
  st->req = std::move(req);
  st->done = std::move(done);
  state_ = st;
  std::weak_ptr<State> weak = st;
  AdmissionRequest copy = st->req;
  auto ticket = origin_.admission().check(
      std::move(copy),
      [this, weak](const AdmissionDecision& d) {
        auto s = weak.lock();
        if (!s || s->finished) return;
        if (!d.allowed()) return finish(s, Outcome{nullptr, d.refusal, d.reason});
        on_admitted(s);
      },
      admission_from);
  // The answer may have come (and finished, even freed this request's owner's
  // interest) already; keep the ticket only while still waiting for it.
  if (!st->finished) st->ticket = std::move(ticket);
}

void PlayRequest::on_admitted(const std::shared_ptr<State>& st) {
  const std::string& app = st->req.app;
  const core::AppConfig* cfg = origin_.config().find_app(app);
  // The stream the viewer reads (a watermark's serve: replace maps names).
  const std::string stream = origin_.play_hub_name(cfg, st->req.stream);
  if (auto hub = origin_.registry().find(app, stream)) return finish(st, Outcome{hub, Refusal::kNone, {}});
  int64_t wait_ms = cfg ? cfg->play_wait_ms : 0;
  // A source that makes the stream on demand (an edge pull) is told now,
  // once per stream however many viewers miss it; they all wait for it.
  if (cfg && !origin_.sources().empty()) wait_ms = std::max(wait_ms, origin_.sources().want(*cfg, app, stream, st->req).wait_ms);
  if (wait_ms <= 0) return finish(st, Outcome{nullptr, Refusal::kNotFound, "stream " + app + "/" + stream + " is not published"});
  std::weak_ptr<State> weak = st;
  st->wait_id = origin_.registry().wait_for(app, stream, *st->loop, [this, weak](std::shared_ptr<StreamHub> hub) {
    auto s = weak.lock();
    if (!s || s->finished) return;
    s->wait_id = 0;
    if (hub) return finish(s, Outcome{std::move(hub), Refusal::kNone, {}});
    // The source gave up (every origin failed, ...).
    finish(s, Outcome{nullptr, Refusal::kNotFound, not_found_reason(s->req, "could not be started")});
  });
  st->timer = std::make_unique<core::Timer>(*st->loop);
  st->timer->start(uint64_t(wait_ms), [this, weak, wait_ms] {
    auto s = weak.lock();
    if (!s || s->finished) return;
    origin_.registry().cancel_wait(s->wait_id);
    s->wait_id = 0;
    finish(s, Outcome{nullptr, Refusal::kNotFound,
                      not_found_reason(s->req, "was not published within " + std::to_string(wait_ms) + " ms")});
  });
}

std::string PlayRequest::not_found_reason(const AdmissionRequest& req, const std::string& what) const {
  std::string r = "stream " + req.app + "/" + req.stream + " " + what;
  if (std::string why = origin_.sources().last_failure(req.app, req.stream); !why.empty()) r += ": " + why;
  return r;
}

void PlayRequest::finish(const std::shared_ptr<State>& st, Outcome o) {
  if (st->finished) return;
  st->finished = true;
  if (st->timer) st->timer->stop();
  Done done = std::move(st->done);
  if (st->owner && st->owner->state_ == st) st->owner->state_.reset();
  st->owner = nullptr;
  // `done` may destroy the PlayRequest; nothing of it is touched after.
  if (done) done(std::move(o));
}

void PlayRequest::cancel() {
  if (!state_) return;
  auto st = std::move(state_);
  state_.reset();
  st->finished = true;
  st->owner = nullptr;
  st->done = nullptr;
  st->ticket.cancel();
  if (st->wait_id) origin_.registry().cancel_wait(st->wait_id);
  st->wait_id = 0;
  if (st->timer) st->timer->stop();
}

}  // namespace weir::origin
