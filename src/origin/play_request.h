// PlayRequest: the one way every protocol starts a viewer (RTMP play, SRT
// play, HTTP-FLV, WS-FLV, HTTP .ts, HLS playlists): ask admission, then find
// the stream, or wait for it up to the app's play_wait_ms (a publisher may be
// about to start), or ask a StreamSource to make it (origin/stream_sources.h:
// an edge pull) and wait for that, then hand over the hub.
//
//   PlayRequest play_{origin};   // a member of the session
//   play_.start(std::move(req), [this](PlayRequest::Outcome o) {
//     if (!o.hub) return refuse(o.refusal, o.reason);   // the protocol's own error
//     start_playing(o.hub);
//   });
//
// RAII: destroying the PlayRequest (or cancel()) guarantees `done` never runs
// afterwards, even if the stream appeared and its wake-up was already queued
// on the loop: a session freed while waiting is never called back.
//
// Thread: the loop it was started on, for everything. `done` runs once on that
// loop, possibly before start() returns (admitted and the stream is live).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "origin/admission.h"

namespace weir::origin {

class Origin;
class StreamHub;

class PlayRequest {
 public:
  struct Outcome {
    std::shared_ptr<StreamHub> hub;  // set when admitted and live
    Refusal refusal = Refusal::kNone;  // else why: the admission's refusal, or kNotFound
    std::string reason;
  };
  using Done = std::function<void(Outcome)>;

  explicit PlayRequest(Origin& origin) : origin_(origin) {}
  ~PlayRequest() { cancel(); }
  PlayRequest(const PlayRequest&) = delete;
  PlayRequest& operator=(const PlayRequest&) = delete;

  // Starts (cancelling a request in flight). `admission_from`: the first
  // admission check still to run (SRT ran the synchronous ones in its
  // handshake; see Admission::Partial).
  void start(AdmissionRequest req, Done done, size_t admission_from = 0);
  void cancel();
  bool pending() const { return state_ != nullptr; }

 private:
  struct State;
  void on_admitted(const std::shared_ptr<State>& st);
  static void finish(const std::shared_ptr<State>& st, Outcome o);
  std::string not_found_reason(const AdmissionRequest& req, const std::string& what) const;

  Origin& origin_;
  std::shared_ptr<State> state_;
};

}  // namespace weir::origin
