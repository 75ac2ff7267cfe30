// SrtServer: Weir's SRT listener. One libsrt listener socket watched by the
// process's SRT bridge (ingest/srt/srt_bridge.h: ONE thread running
// srt_epoll_wait for every SRT socket, inbound and outbound). No thread per
// connection: the bridge calls the server to accept, then reads publishers'
// datagrams into each connection's bounded input queue and hands everything
// else to the event loops with Loop::post. Accepted connections go to the
// loops round-robin.
//
// Admission happens in libsrt's listen callback, during the handshake: the
// stream id is parsed (protocol/srt_streamid.h), the origin's admission
// checks that can answer at once run (names, app, already published, access
// rules; origin/admission.h), and a played stream must exist (unless the app
// has play_wait_ms). The app's SRT options are set on the socket there. A
// refusal sets an access-control reject code (1000 + HTTP status: 1400 bad
// stream id or name, 1401/1403 credentials, 1404 unknown app / stream not
// found, 1405 bad mode, 1409 already published, 1415 unsupported type, 1402
// connection limit (limits.max_connections, or max_connections_per_ip for the
// peer's address), 1503 shutting down) and logs one line with the peer and
// the reason. Checks that answer later run on the session's loop after the
// accept (SrtConn::admission_from); a refusal there closes the connection.
//
// Threads: start() and stop() on the main thread; request_*() from loop
// threads; accepting on the bridge thread; the listen callback runs on a
// libsrt thread and only reads the config and the registry (both
// thread-safe). Lifetime: created after the loops started, stopped before
// they stop and before the bridge stops, destroyed after both (tasks posted
// to loops and the bridge's close hooks may still name it until then).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/net.h"
#include "core/status.h"
#include "ingest/srt/srt_bridge.h"
#include "ingest/srt/srt_conn.h"
#include "origin/admission.h"
#include "origin/client_registry.h"

namespace weir::origin {
class Origin;
}

namespace weir::ingest::srt {

// The admission request of a connection: its stream id's app, stream and
// direction, and its keys (u, s, h and the others) as parameters.
origin::AdmissionRequest admission_request(const protocol::SrtStreamId& id, const std::string& peer);
// Loop thread of `c`: lists a session that publishes or plays in the origin's
// ClientRegistry (bytes from c->io); `close` is its session's close().
origin::ClientRegistry::Handle register_srt_client(const SrtConnRef& c, origin::ClientRole role,
                                                   origin::ClientRegistry::CloseFn close);

class SrtServer {
 public:
  // Main thread, after the loops started. Starts the bridge if it is not
  // running, binds config.srt.listen, listens, has the bridge watch it.
  static core::Result<std::unique_ptr<SrtServer>> start(origin::Origin& origin, SrtBridge& bridge);
  ~SrtServer();
  SrtServer(const SrtServer&) = delete;
  SrtServer& operator=(const SrtServer&) = delete;

  const core::SocketAddress& bound() const { return bound_; }
  // Main thread; idempotent. Refuses new connections, closes every session on
  // its loop (waits up to 3 s: their sockets are closed by the bridge), stops
  // watching the listener and closes it. The bridge goes on for other users.
  void stop();
  // Any thread: refuses new connections (reject 1503 SRT_REJX_DOWN, "server draining");
  // sessions go on (graceful shutdown, before stop()).
  void stop_accepting() { draining_.store(true, std::memory_order_release); }

  // Loop threads. The session is done with the socket: the bridge closes it.
  void request_close(const SrtConnRef& c);
  // Loop threads. Player: the send buffer was full; post on_writable() when
  // the socket can take more.
  void request_writable(const SrtConnRef& c);

  // Loop thread of the session: sessions register so stop() can close them.
  void add_session(core::Loop& loop, SrtSession* s);
  void remove_session(core::Loop& loop, SrtSession* s);
  // Loop thread of the session, at the end of its close(): unregisters it,
  // asks the bridge to close the socket and frees the session from a task of
  // its own (close() may run inside the session's own callbacks).
  void retire_session(core::Loop& loop, SrtSession* s, const SrtConnRef& c);

  origin::Origin& origin() { return origin_; }
  size_t open_connections() const { return open_.load(std::memory_order_relaxed); }

 private:
  explicit SrtServer(origin::Origin& origin, SrtBridge& bridge);
  core::Status open();
  void accept_one();
  void on_accepted(SRTSOCKET s);

  void on_library_rejection(std::string_view message);
  static int listen_callback(void* opaque, SRTSOCKET ns, int hsversion, const struct sockaddr* peer,
                             const char* streamid);
  int admit(SRTSOCKET ns, const struct sockaddr* peer, const char* streamid);

  origin::Origin& origin_;
  SrtBridge& bridge_;
  SRTSOCKET listener_ = SRT_INVALID_SOCK;
  bool watched_ = false;  // the bridge watches listener_
  core::SocketAddress bound_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> draining_{false};
  bool stopped_ = false;
  std::atomic<size_t> open_{0};
  std::atomic<uint64_t> next_num_{1};


  // Admitted by the listen callback, not accepted yet (libsrt may still
  // refuse them: wrong passphrase). Any thread, under admitted_mu_.
  struct Admitted {
    std::string peer, streamid;
    int64_t at_ms = 0;
    size_t admission_from = 0;  // admission checks left for the loop (Admission::Partial::next)
  };
  std::mutex admitted_mu_;
  std::unordered_map<SRTSOCKET, Admitted> admitted_;

  // Per loop (indexed by Loop::index), touched only on that loop's thread.
  std::vector<std::unordered_set<SrtSession*>> sessions_;
};

}  // namespace weir::ingest::srt
