// HubPublisher: the one way a loop-owned source puts a stream into the hub:
// an RTMP or SRT publishing session, an edge puller, a transcoder output. It
// owns the registry publish (create, resume within the reconnect grace, or
// take over), the packets' way into the hub, flushing, the end of publishing
// (which starts the app's reconnect grace), being kicked (another publisher
// took over, the operator dropped the stream, shutdown) and the publisher
// metrics. Sources hold one as a member and never touch StreamHub's
// publisher API themselves.
//
//   HubPublisher out_{origin, loop, {"rtmp", peer}, [this](const std::string& why) { close(why); }};
//   out_.start(std::move(admission_request), [this](const HubPublisher::StartResult& r) {
//     if (!r.hub) return refuse(r.refusal, r.reason);   // the protocol's own error
//     ...                                               // publishing
//   });
//   out_.publish(std::move(pkt));            // per packet
//   // flushed when this loop iteration's I/O is done (or call out_.flush())
//   out_.end("peer closed");                 // or just destroy it
//
// Flushing cannot be forgotten: publish() registers the publisher with its
// loop's OriginLoop, whose check handle flushes it once the loop has run this
// iteration's I/O callbacks; flush() at the end of a read batch is optional
// and delivers a little sooner.
//
// Thread: its loop only (the loop given at construction). Lifetime: owned by
// the source; destroying it ends publishing. The kick callback runs on the
// loop, never after destruction, and may destroy the HubPublisher.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/media_packet.h"
#include "origin/admission.h"
#include "origin/publisher.h"
#include "origin/registry.h"

namespace weir::core {
class Loop;
}

namespace weir::origin {

class Origin;
class StreamHub;

class HubPublisher {
 public:
  struct Source {
    std::string protocol;  // "rtmp", "srt", ...
    std::string peer;      // address or upstream URL, for logs and the API
  };
  using KickFn = std::function<void(const std::string& why)>;

  HubPublisher(Origin& origin, core::Loop& loop, Source source, KickFn on_kick);
  ~HubPublisher();
  HubPublisher(const HubPublisher&) = delete;
  HubPublisher& operator=(const HubPublisher&) = delete;

  struct StartResult {
    std::shared_ptr<StreamHub> hub;    // set when publishing
    Refusal refusal = Refusal::kNone;  // else why not
    std::string reason;
    bool created = false;              // a new stream (else resumed or taken over)
  };
  using StartDone = std::function<void(const StartResult&)>;

  // Asks admission (direction publish) and then publishes req.app/req.stream:
  // creates the stream, resumes it within its reconnect grace, or takes it
  // over when the app allows. `done` runs once on the loop, possibly before
  // start() returns, never after this publisher is destroyed. Refusals are
  // counted in weir_publish_refused_total. `admission_from`: see
  // Admission::Partial (SRT ran the synchronous checks in its handshake).
  void start(AdmissionRequest req, StartDone done, size_t admission_from = 0);
  // Publishes without asking admission, for sources Weir starts itself (an
  // edge puller admitted as a play, a transcoder output the operator set up).
  StartResult start_admitted(std::string_view app, std::string_view name);
  // One packet (ignored unless active()).
  void publish(core::MediaPacket pkt);
  // Delivers what was published to every loop now.
  void flush();
  // Stops publishing (flushes first); the stream keeps its viewers for the
  // app's reconnect grace. Idempotent.
  void end(const std::string& why);

  bool active() const { return hub_ != nullptr; }
  const std::shared_ptr<StreamHub>& hub() const { return hub_; }
  core::Loop& loop() const { return loop_; }

 private:
  friend class StreamHub;   // kicked()
  friend class OriginLoop;  // flush_queued_
  // The hub dropped this publisher (loop thread, from a posted task).
  void kicked(const std::string& why);

  Origin& origin_;
  core::Loop& loop_;
  Source source_;
  protocol::QueryParams params_;  // of the admitted request (start()); empty for start_admitted() alone
  KickFn on_kick_;
  PublisherRef handle_;
  std::shared_ptr<StreamHub> hub_;
  Admission::Ticket admission_;
  bool unflushed_ = false;      // packets published since the last flush
  bool flush_queued_ = false;   // listed for the loop's end-of-iteration flush
};

}  // namespace weir::origin
