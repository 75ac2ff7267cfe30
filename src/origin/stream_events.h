// StreamEvents: a StreamObserver that turns stream lifecycles into events
// (../shared/API.md "Events"): `stream.published` when a stream's first
// publisher starts, `stream.unpublished` when the stream ends (its publisher
// did not come back within the app's reconnect grace, the operator ended it,
// or the server stopped). A publisher that reconnects within the grace is not
// an unpublish: the stream never ended for its viewers.
//
// Data of both: app, stream, protocol and peer of the publisher; unpublished
// adds reason, duration_ms (since published), bytes and video/audio frames.
//
// Thread: callbacks on any loop (stream_observer.h); `emit` must be
// thread-safe and non-blocking (EventSender::emit is). Owned by main; added
// with Origin::add_observer before the loops start; outlives them.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "origin/stream_observer.h"

namespace weir::origin {

class StreamEvents final : public StreamObserver {
 public:
  // `app`: the config app key of the stream (AppConfig::name), for per-app receivers.
  using Emit = std::function<void(std::string type, std::string data_json, std::string app)>;
  explicit StreamEvents(Emit emit) : emit_(std::move(emit)) {}

  void on_stream_published(const std::shared_ptr<StreamHub>& stream, const PublishEvent& e) override;
  void on_stream_ended(const std::shared_ptr<StreamHub>& stream, const std::string& why) override;

 private:
  Emit emit_;
};

}  // namespace weir::origin
