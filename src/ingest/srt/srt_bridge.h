// SrtBridge: the one thread that drives every libsrt socket of the process,
// listeners (SrtServer) and outbound callers (SrtCaller: the edge's SRT
// upstreams and forward destinations) alike. It runs srt_epoll_wait over
// every socket and a wake-up eventfd (srt_epoll_add_ssock), so commands from
// the loops are taken at once rather than at the next timeout. No thread per
// connection: the bridge accepts (through the listener's hook), completes
// non-blocking connects, reads datagrams of connections that receive
// (non-blocking srt_recvmsg) into each connection's bounded input queue, and
// hands everything else to the event loops with Loop::post. Loops never call
// srt_epoll_*, srt_connect or srt_close; they may call srt_sendmsg on a
// connection they own (see SrtConn).
//
// Lifetime: one per process, created by main before the loops start and not
// running; ensure_running() starts it the first time SRT is used (the SRT
// listener, or the first srt:// upstream or forward destination), so a
// server without SRT runs no SRT thread and never calls srt_startup.
// stop() (main thread, after every user of SRT stopped its sessions, while
// the loops still run) closes what is left, joins the thread and calls
// srt_cleanup. srt_startup/srt_cleanup are called once per run, by
// ensure_running() and stop().
//
// Threads: ensure_running(), connect(), request_*() from any thread;
// add_listener()/remove_listener() from any thread but the bridge's;
// adopt() on the bridge thread (a listener's hook). Hooks set on a
// connection (SrtConn::on_closed, on_input_dropped) and a listener's hook run
// on the bridge thread (on_closed also on the stopping thread in stop()).
#pragma once

#include <srt/srt.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/net.h"
#include "core/status.h"
#include "ingest/srt/srt_conn.h"

namespace weir::ingest::srt {

// libsrt's last error, with the system error behind it when there is one.
std::string srt_last_error();

class SrtBridge {
 public:
  SrtBridge() = default;
  ~SrtBridge();
  SrtBridge(const SrtBridge&) = delete;
  SrtBridge& operator=(const SrtBridge&) = delete;

  // Any thread; idempotent: srt_startup, the epoll set, the wake fd, the thread.
  // Fails once stop() was called.
  core::Status ensure_running();
  bool running() const { return running_.load(std::memory_order_acquire); }
  // Main thread; idempotent. Joins the thread, closes every socket still
  // watched (calling their on_closed hooks), srt_cleanup.
  void stop();

  // Any thread but the bridge's, bridge running: `on_readable` runs on the
  // bridge thread whenever `sock` (a listening socket) is readable.
  core::Status add_listener(SRTSOCKET sock, std::function<void()> on_readable);
  // Any thread but the bridge's: the bridge stops watching `sock` and never
  // calls its hook again once this returns (waits up to 3 s for the bridge).
  void remove_listener(SRTSOCKET sock);

  // Bridge thread: watches an accepted connection (c->sock non-blocking);
  // readable if c->receives.
  void adopt(const SrtConnRef& c);
  // Any thread: connects `c` (c->sock created non-blocking and configured by
  // the caller, c->session set on its loop) to `to`. The bridge calls
  // srt_connect and posts on_connected() or on_conn_end("...") to c->loop.
  void connect(const SrtConnRef& c, const core::SocketAddress& to);
  // Any thread (the connection's loop). The session is done with the socket:
  // the bridge closes it (a connection never adopted: closed at once).
  void request_close(const SrtConnRef& c);
  // The connection's loop: the send buffer was full; post on_writable() when
  // the socket can take more.
  void request_writable(const SrtConnRef& c);

  // Connections watched now (accepted and outbound). Any thread.
  size_t open_connections() const { return open_.load(std::memory_order_relaxed); }
  // Messages libsrt logs while refusing a connection go to `hook` (libsrt's
  // threads) as well as to debug; the listener names the peer. Set while running.
  void set_rejection_hook(std::function<void(std::string_view)> hook);

 private:
  enum class CmdKind { kClose, kWatchWritable, kConnect, kAddListener, kRemoveListener };
  struct Cmd {
    CmdKind kind;
    SrtConnRef conn;
    core::SocketAddress to;
    SRTSOCKET listener = SRT_INVALID_SOCK;
    std::function<void()> hook;  // kAddListener: on_readable; kRemoveListener: done
  };

  void push(Cmd cmd);
  void run();
  void wake();
  void take_commands();
  void start_connect(const SrtConnRef& c, const core::SocketAddress& to);
  void on_event(const SrtConnRef& c, bool readable, bool writable);
  void read_input(const SrtConnRef& c);
  // The connection ended on the SRT side (or its connect failed); tell its session.
  void post_end(const SrtConnRef& c, const std::string& why);
  void retry_ends();
  void close_conn(const SrtConnRef& c);
  void set_events(const SrtConnRef& c, int events);
  static void log_handler(void* opaque, int level, const char* file, int line, const char* area, const char* message);

  std::mutex start_mu_;  // ensure_running() / stop()
  bool started_ = false, stopped_ = false;  // under start_mu_
  std::atomic<bool> running_{false};
  std::atomic<bool> quit_{false};
  int eid_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<size_t> open_{0};

  std::mutex cmd_mu_;
  std::vector<Cmd> cmds_;       // guarded by cmd_mu_
  std::vector<Cmd> cmds_work_;  // bridge

  std::mutex hook_mu_;
  std::function<void(std::string_view)> rejection_hook_;  // guarded by hook_mu_

  // Bridge thread (and stop() after the join).
  std::unordered_map<SRTSOCKET, SrtConnRef> conns_;
  std::unordered_map<SRTSOCKET, std::function<void()>> listeners_;
  std::vector<std::pair<SrtConnRef, std::string>> ends_to_retry_;  // end notices a loop refused
};

}  // namespace weir::ingest::srt
