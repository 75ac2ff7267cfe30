#include "origin/hub_publisher.h"

#include <spdlog/spdlog.h>

#include "core/loop.h"
#include "origin/origin.h"
#include "origin/stream_hub.h"

namespace weir::origin {

HubPublisher::HubPublisher(Origin& origin, core::Loop& loop, Source source, KickFn on_kick)
    : origin_(origin), loop_(loop), source_(std::move(source)), on_kick_(std::move(on_kick)) {}

HubPublisher::~HubPublisher() {
  on_kick_ = nullptr;  // nothing is told any more
  end("publisher closed");
}

void HubPublisher::start(AdmissionRequest req, StartDone done, size_t admission_from) {
  end("publishing again");
  req.direction = Direction::kPublish;
  std::string app = req.app, name = req.stream;
  params_ = req.params;
  admission_ = origin_.admission().check(
      std::move(req),
      [this, app, name, done = std::move(done)](const AdmissionDecision& d) {
        if (!d.allowed()) {
          origin_.metrics().publish_refused_total++;
          return done(StartResult{nullptr, d.refusal, d.reason, false});
        }
        done(start_admitted(app, name));
      },
      admission_from);
}

HubPublisher::StartResult HubPublisher::start_admitted(std::string_view app, std::string_view name) {
  end("publishing again");
  auto handle = std::make_shared<PublisherHandle>();
  handle->loop = &loop_;
  handle->publisher = this;
  handle->peer = source_.peer;
  handle->protocol = source_.protocol;
  handle->params = params_;
  Registry::PublishResult r = origin_.registry().publish(app, name, handle);
  if (!r.hub) {
    handle->publisher = nullptr;
    origin_.metrics().publish_refused_total++;
    Refusal why = r.refusal == PublishRefusal::kUnknownApp   ? Refusal::kNotFound
                  : r.refusal == PublishRefusal::kInvalidName ? Refusal::kBadRequest
                                                              : Refusal::kConflict;
    return StartResult{nullptr, why, r.reason, false};
  }
  handle_ = std::move(handle);
  hub_ = r.hub;
  origin_.metrics().publishes_total++;
  origin_.metrics().publishers_open++;
  return StartResult{r.hub, Refusal::kNone, {}, r.created};
}

void HubPublisher::publish(core::MediaPacket pkt) {
  if (!hub_) return;
  hub_->publish(handle_, std::move(pkt));
  if (!unflushed_) {
    unflushed_ = true;
    origin_.at(loop_.index()).schedule_flush(this);
  }
}

void HubPublisher::flush() {
  if (!unflushed_ || !hub_) return;
  unflushed_ = false;
  origin_.at(loop_.index()).cancel_flush(this);
  hub_->flush();
}

void HubPublisher::end(const std::string& why) {
  admission_.cancel();
  if (!hub_) return;
  flush();
  origin_.at(loop_.index()).cancel_flush(this);
  auto hub = std::move(hub_);
  hub_.reset();
  auto handle = std::move(handle_);
  handle_.reset();
  handle->publisher = nullptr;
  hub->end_publish(handle, why);
  origin_.metrics().publishers_open--;
}

void HubPublisher::kicked(const std::string& why) {
  if (!hub_) return;
  // The hub has already dropped us: nothing to end there.
  origin_.at(loop_.index()).cancel_flush(this);
  unflushed_ = false;
  hub_.reset();
  handle_->publisher = nullptr;
  handle_.reset();
  origin_.metrics().publishers_open--;
  if (auto kick = on_kick_) kick(why);
}

}  // namespace weir::origin
