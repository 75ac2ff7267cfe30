// One accepted HTTP/1.x connection: parses requests, dispatches them to the
// router one at a time, writes responses, and after a hand-over runs the
// connection as a close-delimited stream or a WebSocket.
//
// Thread: loop thread only.
// Ownership: created by HttpServer on accept; owns itself and is freed right
// after its TcpConn closes (HttpConnection::on_closed). Tracked by the loop
// (core::Closable) so shutdown closes it. Exchanges point back to it until
// they are detached (response started or connection gone).
// Invariants:
//  - At most one request is being handled (current_); bytes that arrive
//    meanwhile are buffered unparsed, up to kMaxBufferedInput, then the
//    connection is closed.
//  - A request must arrive complete within request_timeout_ms from the moment
//    the server starts waiting for it (accept, or the previous response fully
//    written); otherwise 408 (if part of it came) and close.
//  - Responses are queued in request order; parsing pauses while more than
//    kMaxQueuedOutput bytes wait to be written (a pipelining client that does
//    not read cannot grow our queue).
//  - A connection we decided to close is closed gracefully: its queued bytes
//    are written, our side is shut down, and input is discarded until the
//    client closes or kLingerMs passes.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/config.h"
#include "core/loop.h"
#include "core/tcp_conn.h"
#include "origin/http/exchange.h"
#include "origin/http/router.h"
#include "protocol/http_request_parser.h"
#include "protocol/ws_frame.h"

namespace weir::origin::http {

// What every connection of one HttpServer shares; immutable.
struct ServerContext {
  core::HttpConfig config;
  std::shared_ptr<const Router> router;
};

class HttpConnection final : public core::TcpConn::Handler, public core::Closable {
 public:
  static constexpr size_t kMaxRequestBody = 1 << 20;
  static constexpr size_t kMaxBufferedInput = 256 * 1024;
  static constexpr size_t kMaxQueuedOutput = 4 << 20;
  static constexpr size_t kMaxWsMessage = 64 * 1024;
  static constexpr uint64_t kLingerMs = 2000;
  static constexpr int kMaxPongsQueued = 16;

  // Takes over an accepted conn and starts reading.
  static void start(core::TcpConn* conn, std::shared_ptr<const ServerContext> ctx);

  void close_for_shutdown() override;

  // TcpConn::Handler
  void on_read(core::ByteView data) override;
  void on_read_end(int uv_status) override;
  void on_drained() override;
  void on_timeout(const char* what) override;
  void on_closed() override;

 private:
  friend class Exchange;
  enum class Mode { kHttp, kStream, kWebSocket };

  HttpConnection(core::TcpConn* conn, std::shared_ptr<const ServerContext> ctx);
  ~HttpConnection() = default;

  // Called by Exchange (which checked it is still attached).
  void respond(Exchange& ex, int status, Headers&& headers, std::string_view body, const core::Slice* body_slice);
  core::TcpConn* start_stream(Exchange& ex, int status, Headers&& headers, StreamSink* sink,
                              std::optional<uint64_t> content_length);
  core::TcpConn* accept_websocket(Exchange& ex, StreamSink* sink);

  void process();
  void dispatch(protocol::HttpRequest req);
  void after_response(bool keep_alive);
  void begin_wait();
  void check_deadline();
  void request_timeout();
  void send_error(int status, const std::string& reason);
  void finish_and_close();
  void start_linger();
  void feed_ws(core::ByteView data);
  void on_ws_message(const protocol::WsMessage& m);
  void ws_fail(uint16_t code, const std::string& reason);
  void release_sink();
  uint64_t now() const { return uv_now(loop_.uv()); }

  std::shared_ptr<const ServerContext> ctx_;
  core::Loop& loop_;
  std::string peer_;
  Mode mode_ = Mode::kHttp;
  protocol::HttpRequestParser parser_;
  std::string inbuf_;  // received, not yet parsed
  size_t in_off_ = 0;  // parsed prefix of inbuf_
  ExchangeRef current_;
  int http_minor_ = 1;  // of the last request, for error responses

  bool processing_ = false;     // process() is on the stack
  bool waiting_ = false;        // waiting for a request; deadline runs
  bool wait_after_drain_ = false;  // start waiting once the response is written
  bool waiting_drain_ = false;  // parsing paused on a full write queue
  uint64_t wait_start_ = 0;

  bool finishing_ = false;  // closing once queued bytes are written
  bool lingering_ = false;  // our side shut down; discarding input
  bool peer_eof_ = false;   // the client closed its side
  uint64_t linger_start_ = 0;
  uv_shutdown_t shutdown_req_{};

  StreamSink* sink_ = nullptr;
  std::unique_ptr<protocol::WsFrameParser> ws_;
  bool ws_counted_ = false;
  int pongs_queued_ = 0;  // pongs appended since the write queue last drained
};

}  // namespace weir::origin::http
