// ListenerSet: the server's TCP listeners (rtmp, rtmps, http, https, api),
// one server object per loop per listener on a shared SO_REUSEPORT port, and
// the TLS context they hand to connections.
//
// A reload changes them in two steps so that a bad new config changes
// nothing: prepare() (main thread) opens the sockets of every listener whose
// settings changed and re-reads the certificate; any error there refuses the
// reload. apply() then starts the new servers on every loop and stops the old
// ones accepting; connections already open go on where they are. A listener
// whose address is unchanged but whose settings changed (http.*, api.tls,
// limits.max_connections) gets new sockets on the same port (SO_REUSEPORT),
// then the old ones close: a connection still in the old sockets' accept
// queue at that instant is reset (the kernel's behaviour; clients retry).
//
// Threads: open(), prepare(), apply(), stop_accepting() and bound() on the
// main thread; start_on() on each loop's thread from LoopGroup::start.
// servers_[i] is touched only on loop i (apply() and stop_accepting() post
// there). Bounds: a stopped server stays allocated (tracked by its loop) until
// shutdown: one small object per loop per reload that rebinds.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/loop.h"
#include "core/net.h"
#include "core/status.h"
#include "core/tls_slot.h"
#include "origin/http/router.h"

namespace weir::ingest::rtmp {
class RtmpServer;
}
namespace weir::origin {
class Origin;
namespace http {
class HttpServer;
}
}  // namespace weir::origin

namespace weir::server {

class ListenerSet {
 public:
  enum Kind { kRtmp, kRtmps, kHttp, kHttps, kApi, kKinds };
  static const char* key_of(Kind k);  // "rtmp", ... (the config section)

  // What prepare() found to change; its destructor closes sockets never
  // handed to a loop. Move-only.
  class Plan {
   public:
    Plan() = default;
    Plan(Plan&&) = default;
    Plan& operator=(Plan&&) = default;
    ~Plan();
    // Kinds that change ("rtmp", "api", ...), in Kind order.
    std::vector<std::string> changing() const;

   private:
    friend class ListenerSet;
    struct Pending {
      bool active = false;  // this kind changes
      bool off = false;     // ...to no listener at all
      std::string signature;
      core::SocketAddress addr;
      std::vector<int> fds;  // one per loop; -1 once handed over
    };
    std::array<Pending, kKinds> pending_;
    std::shared_ptr<const core::Config> config_;   // the settings the new servers take
    std::shared_ptr<const core::TlsContext> tls_;  // the certificate as re-read; null: no TLS in use
  };

  ListenerSet(core::LoopGroup& loops, origin::Origin& origin, std::shared_ptr<const origin::http::Router> media,
              std::shared_ptr<const origin::http::Router> admin);
  ~ListenerSet();
  ListenerSet(const ListenerSet&) = delete;
  ListenerSet& operator=(const ListenerSet&) = delete;

  // Main thread, before the loops start: the first plan (every listener of
  // `cfg`). Errors name the key ("rtmp.listen: bind ...: Address in use",
  // "tls: ...").
  core::Status open(std::shared_ptr<const core::Config> cfg);
  // Loop thread, from LoopGroup::start: starts this loop's servers.
  core::Status start_on(core::Loop& loop);

  // Main thread: what applying `next` needs (see above); nothing changes yet.
  core::Result<Plan> prepare(std::shared_ptr<const core::Config> next);
  // Returns the errors of loops that could not start a server (that loop
  // keeps its old one) or refused the task; empty when all went well.
  std::vector<std::string> apply(Plan plan);
  // Every loop stops accepting on every listener but the admin API's, which
  // stays up while the server drains (graceful shutdown).
  void stop_accepting();

  // "HOST:PORT" the listener is bound to; empty when it is off.
  std::string bound(Kind k) const { return bound_[k]; }
  bool api_tls() const { return api_tls_; }

 private:
  struct Server {
    ingest::rtmp::RtmpServer* rtmp = nullptr;
    origin::http::HttpServer* http = nullptr;
    void stop_accepting();
    explicit operator bool() const { return rtmp || http; }
  };
  static std::string listen_of(const core::Config& c, Kind k);
  static std::string signature_of(const core::Config& c, Kind k);
  static bool uses_tls(const core::Config& c);
  // Loop thread: starts kind `k` on `fd` with the settings of `cfg`.
  core::Result<Server> start_one(core::Loop& loop, Kind k, int fd, const core::Config& cfg);
  void install_tls(std::shared_ptr<const core::TlsContext> ctx);

  core::LoopGroup& loops_;
  origin::Origin& origin_;
  std::shared_ptr<const origin::http::Router> media_, admin_;
  std::shared_ptr<core::TlsSlot> tls_;  // null until some listener uses TLS
  std::array<std::string, kKinds> signature_;  // main thread: the settings running now
  std::array<std::string, kKinds> bound_;      // main thread
  bool api_tls_ = false;
  Plan first_;  // open() -> start_on()
  std::vector<std::array<Server, kKinds>> servers_;  // [loop][kind], loop thread
};

}  // namespace weir::server
