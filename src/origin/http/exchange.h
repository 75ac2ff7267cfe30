// One HTTP request and its response, handed to route handlers.
//
// Thread: loop thread only (the loop of the connection that received it).
// Ownership: shared (ExchangeRef). The connection holds one ref while the
// request is pending; a handler may keep another to answer later (from a
// timer, after a reload, once a publisher appears). The exchange never keeps
// the connection alive: once the client is gone, or once a response has been
// started, it is detached, alive() is false and every response call is a
// no-op (start_stream/accept_websocket return nullptr).
// Invariants: exactly one response per exchange; responses on one connection
// go out in request order (the next pipelined request is parsed only after
// this one's response has been queued).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/buffer.h"
#include "core/loop.h"
#include "core/tcp_conn.h"
#include "origin/http/response.h"
#include "protocol/http_request_parser.h"
#include "protocol/ws_frame.h"

namespace weir::origin::http {

class HttpConnection;
using HttpRequest = protocol::HttpRequest;

// Receives the events of a connection handed over by start_stream() or
// accept_websocket(). Loop thread only. The sink must stay valid until its
// on_closed(); to end early, close the TcpConn and wait for on_closed().
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Everything queued has been written (after a TcpConn::flush() that
  // returned false): write more now.
  virtual void on_writable() {}
  // The conn is gone or is closing (client left, error, timeout, websocket
  // close handshake, shutdown). Afterwards the TcpConn must not be touched.
  virtual void on_closed() = 0;
  // WebSocket only: a text or binary message from the client (payload valid
  // during the call). Default: ignored.
  virtual void on_ws_message(const protocol::WsMessage& msg) {}
};

class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  // Made by HttpConnection.
  Exchange(HttpConnection* conn, protocol::HttpRequest req, std::string peer, core::Loop& loop);
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  const protocol::HttpRequest& request() const { return req_; }
  // A path parameter of the matched route pattern ("" if the pattern has none
  // of that name); see router.h.
  std::string_view param(std::string_view name) const {
    for (const auto& [k, v] : params_)
      if (k == name) return v;
    return {};
  }
  // Set by the Router before it runs the handler.
  void set_params(std::vector<std::pair<std::string, std::string>> params) { params_ = std::move(params); }
  const std::string& peer() const { return peer_; }
  core::Loop& loop() const { return *loop_; }
  // True while a response can still be sent: the client is connected and no
  // response has been started.
  bool alive() const { return conn_ != nullptr; }

  // A complete response with Content-Length (HEAD: head only). The Slice form
  // sends the bytes without copying them (cached media).
  void respond(int status, Headers headers, std::string body);
  void respond(int status, Headers headers, core::Slice body);
  // A one-line text/plain answer (errors: "stream live/x is not published"),
  // not cached.
  void respond_text(int status, std::string_view message);
  // Called once if the client goes away (or the server shuts down) before a
  // response was started. Replaces an earlier callback.
  void on_abort(std::function<void()> cb) { on_abort_ = std::move(cb); }

  // Writes the head of a close-delimited response (no Content-Length,
  // Connection: close) and hands the TcpConn over: the caller appends body
  // bytes itself; `sink` gets on_writable()/on_closed(). The server sets no
  // idle timeout on it; the caller may set its own (send timeout stays at
  // request_timeout_ms unless changed). Returns nullptr if not alive(), or for
  // HEAD (head written, connection closed after it). With `content_length`
  // the head says how many body bytes follow (a file); the connection still
  // closes after them.
  core::TcpConn* start_stream(int status, Headers headers, StreamSink* sink,
                              std::optional<uint64_t> content_length = std::nullopt);

  // Validates a WebSocket upgrade (RFC 6455 4.2.1: GET, HTTP/1.1, Upgrade:
  // websocket, Connection: upgrade, Sec-WebSocket-Version: 13, a valid key);
  // on failure answers 400 with the reason and returns nullptr. On success
  // writes the 101 response and returns the TcpConn: the caller writes whole
  // server frames (write_ws_frame_header + payload, appended in one go); the
  // connection parses client frames itself (ping -> pong, close -> close
  // handshake, protocol errors -> close 1002/1009 with a log line) and passes
  // data messages to sink->on_ws_message(). A client that sent bytes after
  // the upgrade request before seeing the 101 breaks RFC 6455 4.1 and is
  // refused (400).
  core::TcpConn* accept_websocket(StreamSink* sink);

 private:
  friend class HttpConnection;
  // Responded, handed over, or the connection went away.
  void detach() { conn_ = nullptr; }
  // The client went away before a response: detach and run on_abort once.
  void abort();

  HttpConnection* conn_;
  protocol::HttpRequest req_;
  std::string peer_;
  std::vector<std::pair<std::string, std::string>> params_;
  core::Loop* loop_;
  std::function<void()> on_abort_;
};

using ExchangeRef = std::shared_ptr<Exchange>;

}  // namespace weir::origin::http
