// StreamObserver: told of every stream's lifecycle. HLS (time-shift starts
// packaging at publish), the recorder, transcoding, events and cluster
// discovery register one with Origin::add_observer before the loops start;
// the list is fixed afterwards, so notifying takes no lock.
//
//   struct Announcer : StreamObserver {
//     void on_stream_published(const std::shared_ptr<StreamHub>& s, const PublishEvent& e) override {
//       queue_event("stream.published", s->key(), e.protocol);   // quick, non-blocking
//     }
//   };
//   origin.add_observer(&announcer);   // main thread, before loops start
//
// Threads: every callback runs with no origin lock held, on the thread where
// the event happened: the publisher's loop for published / resumed /
// publisher_lost / codec_config; for ended, the loop whose grace timer
// expired, or the thread that called StreamHub::end (the main thread at
// shutdown, an API handler's loop). Callbacks must be quick and must not
// block; heavy work goes to the worker pool or the observer's own loop.
// Callbacks for one stream arrive in event order; callbacks for different
// streams may run concurrently on different loops, so observers are
// thread-safe.
#pragma once

#include <memory>
#include <string>

#include "protocol/query_params.h"

namespace weir::origin {

class HubPacket;
class StreamHub;

struct PublishEvent {
  std::string protocol;  // of the (new) publisher: "rtmp", "srt", ...
  std::string peer;
  bool takeover = false;  // replaced a live publisher (the app allows takeover)
  // The publisher's admitted parameters (origin/publisher.h); valid for the
  // call only (copy what is kept).
  const protocol::QueryParams* params = nullptr;
};

class StreamObserver {
 public:
  virtual ~StreamObserver() = default;
  // A new stream: its first publisher started.
  virtual void on_stream_published(const std::shared_ptr<StreamHub>& stream, const PublishEvent& e) {}
  // A publisher came back within the reconnect grace, or took the stream over.
  virtual void on_stream_resumed(const std::shared_ptr<StreamHub>& stream, const PublishEvent& e) {}
  // The publisher left; viewers stay for the app's reconnect grace.
  virtual void on_publisher_lost(const std::shared_ptr<StreamHub>& stream, const std::string& why) {}
  // A codec config (video or audio decoder config record) that differs from
  // the track's previous one, including the first. `config` is the hub's
  // packet (timeline already applied).
  virtual void on_codec_config(const std::shared_ptr<StreamHub>& stream, const HubPacket& config) {}
  // The stream is over (grace expired, operator, shutdown). No packet follows.
  virtual void on_stream_ended(const std::shared_ptr<StreamHub>& stream, const std::string& why) {}
};

}  // namespace weir::origin
