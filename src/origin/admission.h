// Admission: the one question every protocol asks before a publish or a play
// starts: may this client publish / play this stream? RTMP publish and play,
// SRT publish and play, HTTP-FLV, WS-FLV, HTTP .ts, HLS playlists, segments,
// parts, init segments and keys, recorded (VOD) assets and live snapshots all ask it with
// the same request, so access rules (signed URLs, HTTP callbacks, IP lists)
// are written once, as checks.
//
// A chain of AdmissionChecks runs in order; the first refusal wins, and a
// request every check allows is admitted. The built-in checks (added by the
// constructor) are: names valid, app configured, the app's access rules
// (access_check.h, apps.<app>.access: addresses, HTTP players' Referer), the
// app's signed URLs (signed_url_check.h, apps.<app>.sign), the operator's
// publish blocks (stream_blocks.h), a live stream not published twice unless
// the app allows takeover.
//
//   struct TokenCheck : AdmissionCheck {                        // answers at once
//     std::string_view name() const override { return "token"; }
//     std::optional<AdmissionDecision> check_now(const AdmissionRequest& r) override {
//       if (valid(r.param("token"), r.app, r.stream)) return AdmissionDecision::allow();
//       return AdmissionDecision::deny(Refusal::kForbidden, "bad or expired token");
//     }
//   };
//   struct CallbackCheck : AdmissionCheck {                     // answers later
//     std::optional<AdmissionDecision> check_now(const AdmissionRequest&) override { return std::nullopt; }
//     void check_later(const AdmissionRequest& r, core::Loop& loop, Done done) override {
//       http_post(loop, url_, body_of(r), [done](int status) {   // on `loop`
//         done(status / 100 == 2 ? AdmissionDecision::allow() : AdmissionDecision::deny(Refusal::kForbidden, "on_play refused"));
//       });
//     }
//   };
//   origin.admission().add(std::make_unique<TokenCheck>());    // main thread, before the loops start
//
// Asynchronous answers on every protocol: HTTP, RTMP and HLS hold the request
// while a check_later runs. SRT decides in libsrt's listen callback, which is
// synchronous (on a libsrt thread): it runs check_now() there, refusing with a
// reject code; when a check needs to answer later, the connection is accepted
// and its session runs the rest of the chain (check() from Partial::next) on
// its loop before publishing or playing, and closes the connection if refused
// (the caller then sees a closed connection, not a reject code).
//
// Threads: add() on the main thread before the loops start (the chain is fixed
// afterwards and read without locks); check_now() on any thread; check() on a
// loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/query_params.h"

namespace weir::core {
class Loop;
}

namespace weir::origin {

class Origin;

enum class Direction : uint8_t { kPublish, kPlay };

// Who asks, on which path into Weir.
enum class AccessProtocol : uint8_t {
  kRtmp,
  kSrt,
  kHttpFlv,
  kWsFlv,
  kHttpTs,
  kHlsPlaylist,  // .m3u8 (MPEG-TS and LL-HLS playlists)
  kHlsSegment,   // .ts / .m4s segments and init segments
  kHlsPart,      // LL-HLS parts
  kHlsKey,       // AES-128 keys
  kVod,          // recorded assets (/vod/...: MP4, HLS VOD playlist, segments, cover)
  kSnapshot,     // a live stream's latest picture (/{app}/{stream}/snapshot.jpg|png)
};
// The last AccessProtocol (array sizes by protocol).
inline constexpr AccessProtocol kLastAccessProtocol = AccessProtocol::kSnapshot;
std::string_view access_protocol_name(AccessProtocol p);

struct AdmissionRequest {
  Direction direction = Direction::kPlay;
  AccessProtocol protocol = AccessProtocol::kRtmp;
  std::string app, stream;
  std::string client;  // the peer, "IP:PORT" ("[V6]:PORT")
  // The client's parameters: URL query (HTTP; RTMP: the app's and the stream
  // name's queries, in that order) or SRT stream-id keys (u, s, h and the
  // others). Decoded; bounded by protocol::kMaxQueryParams.
  protocol::QueryParams params;
  // HTTP plays only (HTTP-FLV, WS-FLV, .ts, HLS): the Referer and Origin
  // headers as sent (the WebSocket upgrade's for WS-FLV), bounded by
  // http.max_header_size; empty when absent and for RTMP and SRT.
  std::string referer, origin;

  // First value of `key`, or "".
  std::string_view param(std::string_view key) const;
  // The client's address without the port.
  std::string_view client_ip() const;
};

// "IP:PORT" or "[V6]:PORT" -> the address without the port.
std::string_view peer_ip(std::string_view peer);

// Why a request is refused. Each protocol maps it to its own error: HTTP
// status, RTMP status code, SRT reject reason 1000 + the HTTP status.
enum class Refusal : uint8_t {
  kNone,
  kBadRequest,    // 400
  kUnauthorized,  // 401: credentials missing
  kForbidden,     // 403: credentials wrong or not allowed
  kNotFound,      // 404: no such app or stream
  kConflict,      // 409: already published
  kUnavailable,   // 503: cannot decide now (a callback failed and the app fails closed)
  kLoopDetected,  // 508: an edge pull that came round to a node it passed already
};
int http_status(Refusal r);

struct AdmissionDecision {
  Refusal refusal = Refusal::kNone;
  std::string reason;  // one line, for the log and the protocol's error text
  std::string check;   // name of the check that refused

  bool allowed() const { return refusal == Refusal::kNone; }
  static AdmissionDecision allow() { return {}; }
  static AdmissionDecision deny(Refusal r, std::string reason) { return {r, std::move(reason), {}}; }
};

class AdmissionCheck {
 public:
  using Done = std::function<void(AdmissionDecision)>;
  virtual ~AdmissionCheck() = default;
  virtual std::string_view name() const = 0;
  // Any thread; must not block. The answer now, or nullopt when the check has
  // to ask elsewhere (then check_later is called).
  virtual std::optional<AdmissionDecision> check_now(const AdmissionRequest& req) = 0;
  // On `loop`'s thread, after check_now returned nullopt. Calls `done` once,
  // on `loop`. If the request was cancelled meanwhile the call does nothing.
  // The default refuses with kUnavailable (a check that says "later" must
  // implement it).
  virtual void check_later(const AdmissionRequest& req, core::Loop& loop, Done done);
};

class Admission {
 public:
  // Installs the built-in checks. `origin` outlives the admission.
  explicit Admission(Origin& origin);
  ~Admission();

  // Main thread, before the loops start: at the end of the chain.
  void add(std::unique_ptr<AdmissionCheck> check);
  // Main thread, before the loops start: a check that judges the request
  // alone (its form, the path it took through the cluster: edge/loop_check.h)
  // goes after the access and signed-URL checks but before those that look
  // at the stream's state (operator blocks, publish conflict), so its reason
  // is the one a client gets when both would refuse (a forward loop, not
  // "already being published"). In the order added among themselves.
  void add_request_check(std::unique_ptr<AdmissionCheck> check);

  // The synchronous pass (any thread): checks run until one refuses, one
  // needs to answer later (pending, `next` = its index), or all allowed.
  struct Partial {
    AdmissionDecision decision;
    bool pending = false;
    size_t next = 0;
  };
  Partial check_now(const AdmissionRequest& req) const;

  // Cancels on destruction: `done` is not called after that.
  class Ticket {
   public:
    Ticket() = default;
    ~Ticket() { cancel(); }
    Ticket(Ticket&&) = default;
    Ticket& operator=(Ticket&& o) {
      cancel();
      state_ = std::move(o.state_);
      return *this;
    }
    void cancel();
    bool pending() const;

   private:
    friend class Admission;
    struct State;
    std::shared_ptr<State> state_;
  };

  // Loop thread: the chain from check `from` (0, or Partial::next after a
  // synchronous pass). `done` runs on this loop once, unless the ticket is
  // cancelled first; when every check answers at once it runs before check()
  // returns.
  [[nodiscard]] Ticket check(AdmissionRequest req, std::function<void(const AdmissionDecision&)> done,
                             size_t from = 0) const;

  size_t size() const { return checks_.size(); }

 private:
  static void run(const std::shared_ptr<Ticket::State>& st);
  static void finish(const std::shared_ptr<Ticket::State>& st, AdmissionDecision d);

  Origin& origin_;
  std::vector<std::unique_ptr<AdmissionCheck>> checks_;
  size_t state_checks_at_ = 0;  // index of the first built-in check on the stream's state
};

}  // namespace weir::origin
