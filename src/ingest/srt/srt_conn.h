// SrtConn: one SRT connection (accepted by SrtServer, or opened by an
// SrtCaller) as shared by the SRT bridge thread (ingest/srt/srt_bridge.h) and
// the event loop its session runs on. SrtSession: what the loop side of a
// connection implements (SrtPublisher, SrtPlayer, SrtCaller).
//
// Ownership: shared_ptr, held by the bridge's connection map until the socket
// is closed and by every task posted to the loop for it; whichever side lets
// go last frees it, so neither side can reach freed memory when the other
// closes first.
// Threads and invariants:
//  - Only the bridge thread calls srt_epoll_*, srt_connect and srt_close for
//    `sock`, and it closes the socket only after the loop asked
//    (SrtBridge::request_close), or at bridge stop after every session was closed. So a session may call
//    srt_sendmsg / srt_getsndbuffer on `sock` until it asks for the close.
//  - `session` is read and written on `loop`'s thread only; tasks posted for
//    the connection go through it and do nothing once it is null.
//  - The input queue (publisher datagrams, bridge -> loop) is under `mu`,
//    hard-capped at kInputQueueCap bytes; overflow action: the bridge drops
//    the whole batch it just read and counts it (logged at most once per second).
#pragma once

#include <srt/srt.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/connections_per_ip.h"
#include "core/io_counters.h"
#include "core/loop.h"
#include "protocol/srt_streamid.h"

namespace weir::ingest::srt {

class SrtServer;
class SrtBridge;

class SrtSession : public core::Closable {
 public:
  // Loop thread. Publisher: datagrams are waiting in the input queue.
  virtual void on_input() {}
  // Loop thread. Player: the send buffer has room again (after request_writable).
  virtual void on_writable() {}
  // Loop thread. Caller: the outbound connection is established.
  virtual void on_connected() {}
  // Loop thread. The bridge saw the connection end (peer closed, broken,
  // timed out); the session must close itself (and so ask for srt_close).
  virtual void on_conn_end(const std::string& why) = 0;
};

struct SrtConn {
  static constexpr size_t kInputQueueCap = 4 << 20;

  SrtBridge* bridge = nullptr;
  SrtServer* server = nullptr;  // accepted connections only
  SRTSOCKET sock = SRT_INVALID_SOCK;
  core::Loop* loop = nullptr;
  uint64_t num = 0;  // for logs: "srt #num"
  std::string peer;
  protocol::SrtStreamId id;
  bool publisher = false;
  bool receives = false;  // the bridge reads datagrams into `input` (publishers, pulling callers)
  size_t admission_from = 0;  // first admission check the session still runs (set before the session starts)

  // Loop thread only.
  SrtSession* session = nullptr;
  // Payload bytes the session took in (publisher) or sent (player); written
  // on the loop thread, read by the admin API from any thread.
  core::IoCounters io;

  // Input queue, bridge -> loop.
  std::mutex mu;
  std::vector<uint8_t> input;  // guarded by mu
  bool input_posted = false;   // guarded by mu: a drain task is queued on the loop
  std::atomic<uint64_t> dropped_batches{0};
  std::atomic<uint64_t> dropped_bytes{0};

  // Set before the bridge sees the connection; run on the bridge thread (on_closed
  // also by SrtBridge::stop()). Either may be empty.
  std::function<void()> on_closed;         // the socket was closed
  std::function<void()> on_input_dropped;  // a batch was dropped at a full input queue

  // Bridge thread only.
  int events = 0;                 // current epoll subscription
  bool connecting = false;        // an outbound connect is under way
  bool end_posted = false;        // the loop was told the connection ended
  bool close_requested = false;   // the loop asked for srt_close
  bool sock_closed = false;       // srt_close was called
  int64_t last_drop_log_ms = 0;
  core::ConnectionsPerIp::Slot ip_slot;  // limits.max_connections_per_ip; released when the socket is closed
};

using SrtConnRef = std::shared_ptr<SrtConn>;

}  // namespace weir::ingest::srt
