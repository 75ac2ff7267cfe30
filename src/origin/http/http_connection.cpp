#include "origin/http/http_connection.h"

#include <spdlog/spdlog.h>

#include <string_view>
#include <utility>

#include "origin/http/http_counters.h"

namespace weir::origin::http {

namespace {
constexpr std::string_view k100Continue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr size_t kCompactAt = 64 * 1024;
}  // namespace

// ---------------------------------------------------------------------------
// Exchange

Exchange::Exchange(HttpConnection* conn, protocol::HttpRequest req, std::string peer, core::Loop& loop)
    : conn_(conn), req_(std::move(req)), peer_(std::move(peer)), loop_(&loop) {}

void Exchange::respond(int status, Headers headers, std::string body) {
  if (!conn_) return;
  auto keep = shared_from_this();
  conn_->respond(*this, status, std::move(headers), body, nullptr);
}

void Exchange::respond_text(int status, std::string_view message) {
  std::string body(message);
  body += '\n';
  respond(status, {{"Content-Type", "text/plain"}, {"Cache-Control", "no-store"}}, std::move(body));
}

void Exchange::respond(int status, Headers headers, core::Slice body) {
  if (!conn_) return;
  auto keep = shared_from_this();
  conn_->respond(*this, status, std::move(headers), {}, &body);
}

core::TcpConn* Exchange::start_stream(int status, Headers headers, StreamSink* sink,
                                     std::optional<uint64_t> content_length) {
  if (!conn_) return nullptr;
  auto keep = shared_from_this();
  return conn_->start_stream(*this, status, std::move(headers), sink, content_length);
}

core::TcpConn* Exchange::accept_websocket(StreamSink* sink) {
  if (!conn_) return nullptr;
  auto keep = shared_from_this();
  return conn_->accept_websocket(*this, sink);
}

void Exchange::abort() {
  if (!conn_) return;
  conn_ = nullptr;
  auto cb = std::move(on_abort_);
  on_abort_ = nullptr;
  if (cb) cb();
}

// ---------------------------------------------------------------------------
// HttpConnection: setup and teardown

HttpConnection::HttpConnection(core::TcpConn* conn, std::shared_ptr<const ServerContext> ctx)
    : ctx_(std::move(ctx)),
      loop_(conn->loop()),
      peer_(conn->peer()),
      parser_(size_t(ctx_->config.max_header_size), kMaxRequestBody) {}

void HttpConnection::start(core::TcpConn* conn, std::shared_ptr<const ServerContext> ctx) {
  auto* self = new HttpConnection(conn, std::move(ctx));
  conn->set_handler(self);
  self->loop_.track(self);
  http_counters().open_connections.fetch_add(1, std::memory_order_relaxed);
  conn->set_send_timeout(uint64_t(self->ctx_->config.request_timeout_ms));
  self->begin_wait();
  conn->start_reading();
}

void HttpConnection::close_for_shutdown() {
  if (conn_) conn_->close();
}

void HttpConnection::on_closed() {
  loop_.untrack(this);
  http_counters().open_connections.fetch_sub(1, std::memory_order_relaxed);
  if (ws_counted_) http_counters().websocket_connections.fetch_sub(1, std::memory_order_relaxed);
  if (current_) {
    ExchangeRef ex = std::move(current_);
    spdlog::debug("http {}: client left before \"{} {}\" was answered", peer_, ex->request().method,
                  ex->request().target);
    ex->abort();
  }
  release_sink();
  delete this;
}

void HttpConnection::release_sink() {
  if (StreamSink* s = std::exchange(sink_, nullptr)) s->on_closed();
}

// ---------------------------------------------------------------------------
// Input

void HttpConnection::on_read(core::ByteView data) {
  if (!conn_) return;
  if (finishing_) {
    // Discarded: we are closing. Reads reset the idle timer, so a client that
    // keeps sending is cut off here once the linger time is up.
    if (lingering_ && now() - linger_start_ >= kLingerMs) conn_->close();
    return;
  }
  switch (mode_) {
    case Mode::kWebSocket:
      feed_ws(data);
      return;
    case Mode::kStream:
      return;  // a streaming client has nothing to say; read only to see it leave
    case Mode::kHttp:
      break;
  }
  if ((current_ || waiting_drain_) && inbuf_.size() - in_off_ + data.size() > kMaxBufferedInput) {
    spdlog::info("http {}: closing: more than {} bytes sent while a request is pending", peer_, kMaxBufferedInput);
    conn_->close();
    return;
  }
  inbuf_.append(core::as_chars(data));
  process();
  check_deadline();
}

void HttpConnection::process() {
  if (processing_) return;  // the running loop below picks up the new state
  processing_ = true;
  while (conn_ && !conn_->closing() && mode_ == Mode::kHttp && !current_ && !finishing_) {
    if (conn_->pending_bytes() > kMaxQueuedOutput) {
      waiting_drain_ = true;
      break;
    }
    if (in_off_ >= inbuf_.size()) break;
    auto r = parser_.feed(core::as_bytes(std::string_view(inbuf_).substr(in_off_)));
    if (!r) {
      http_counters().bad_requests_total.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("http {}: {} {}", peer_, parser_.error_status(), r.error());
      send_error(parser_.error_status(), r.error());
      break;
    }
    in_off_ += *r;
    if (parser_.take_expect_continue()) {
      conn_->append(core::as_bytes(k100Continue));
      conn_->flush();
    }
    if (!parser_.has_request()) break;
    dispatch(parser_.take_request());
  }
  if (in_off_ >= inbuf_.size()) {
    inbuf_.clear();
    in_off_ = 0;
  } else if (in_off_ >= kCompactAt) {
    inbuf_.erase(0, in_off_);
    in_off_ = 0;
  }
  processing_ = false;
}

void HttpConnection::dispatch(protocol::HttpRequest req) {
  http_minor_ = req.http_minor;
  waiting_ = false;
  wait_after_drain_ = false;
  conn_->set_idle_timeout(0);  // the handler may take its time; the client may be silent
  current_ = std::make_shared<Exchange>(this, std::move(req), peer_, loop_);
  ExchangeRef ex = current_;
  ctx_->router->dispatch(ex);
}

// ---------------------------------------------------------------------------
// Timeouts

void HttpConnection::begin_wait() {
  if (!conn_) return;
  waiting_ = true;
  wait_after_drain_ = false;
  wait_start_ = now();
  conn_->set_idle_timeout(uint64_t(ctx_->config.request_timeout_ms));
}

void HttpConnection::check_deadline() {
  if (!conn_ || mode_ != Mode::kHttp || !waiting_ || finishing_ || current_) return;
  const uint64_t limit = uint64_t(ctx_->config.request_timeout_ms);
  const uint64_t elapsed = now() - wait_start_;
  if (elapsed >= limit) {
    request_timeout();
    return;
  }
  // Reads reset the idle timer; aim it at the request deadline instead, so a
  // client trickling bytes (slowloris) is cut off on time.
  if (parser_.in_progress()) conn_->set_idle_timeout(limit - elapsed);
}

void HttpConnection::request_timeout() {
  if (!conn_) return;
  if (!parser_.in_progress()) {
    spdlog::debug("http {}: closing idle connection", peer_);
    conn_->close();
    return;
  }
  http_counters().request_timeouts_total.fetch_add(1, std::memory_order_relaxed);
  std::string reason = fmt::format("request not complete within {} ms", ctx_->config.request_timeout_ms);
  spdlog::info("http {}: closing: {}", peer_, reason);
  send_error(408, reason);
}

void HttpConnection::on_timeout(const char* what) {
  if (!conn_) return;
  const std::string_view w = what ? what : "timeout";
  if (mode_ == Mode::kHttp && waiting_ && !finishing_ && w == "idle timeout") {
    request_timeout();
    return;
  }
  if (lingering_) {
    conn_->close();
    return;
  }
  spdlog::info("http {}: closing: {}", peer_, w);
  conn_->close();
}

// ---------------------------------------------------------------------------
// Responses

void HttpConnection::respond(Exchange& ex, int status, Headers&& headers, std::string_view body,
                             const core::Slice* body_slice) {
  if (!conn_ || current_.get() != &ex || mode_ != Mode::kHttp) {
    ex.detach();
    return;
  }
  const auto& req = ex.request();
  const bool keep = req.keep_alive && !req.upgrade;
  const bool no_body = status_has_no_body(status);
  const size_t body_len = body_slice ? body_slice->size() : body.size();
  const bool send_body = !no_body && req.method != "HEAD" && body_len > 0;

  HeadOptions opt;
  opt.http_minor = req.http_minor;
  if (!no_body) opt.content_length = body_len;
  opt.connection = keep ? (req.http_minor == 0 ? "keep-alive" : "") : "close";
  opt.cors_origin = ctx_->config.cors_origin;
  core::ByteWriter w(512 + (send_body && !body_slice ? body_len : 0));
  write_response_head(w, status, headers, opt);
  if (send_body && !body_slice) w.bytes(body);
  conn_->append(w.finish());
  if (send_body && body_slice) conn_->append(*body_slice);

  http_counters().count_response(status);
  spdlog::debug("http {} \"{} {}\" {} {}", peer_, req.method, req.target, status, body_len);
  ex.detach();
  current_.reset();
  after_response(keep);
}

void HttpConnection::after_response(bool keep_alive) {
  if (!conn_) return;
  if (!keep_alive) {
    finish_and_close();
    return;
  }
  if (conn_->flush()) {
    begin_wait();
  } else {
    // The request deadline starts once the response is out: a long download
    // is not a slow request.
    waiting_ = false;
    wait_after_drain_ = true;
    conn_->set_idle_timeout(0);
  }
  if (!processing_) {
    process();
    check_deadline();
  }
}

void HttpConnection::send_error(int status, const std::string& reason) {
  if (!conn_ || finishing_) return;
  std::string body = reason + "\n";
  HeadOptions opt;
  opt.http_minor = http_minor_;
  opt.content_length = body.size();
  opt.connection = "close";
  opt.cors_origin = ctx_->config.cors_origin;
  core::ByteWriter w(256 + body.size());
  write_response_head(w, status, {{"Content-Type", "text/plain"}}, opt);
  w.bytes(body);
  conn_->append(w.finish());
  http_counters().count_response(status);
  finish_and_close();
}

core::TcpConn* HttpConnection::start_stream(Exchange& ex, int status, Headers&& headers, StreamSink* sink,
                                            std::optional<uint64_t> content_length) {
  if (!conn_ || current_.get() != &ex || mode_ != Mode::kHttp) {
    ex.detach();
    return nullptr;
  }
  const auto& req = ex.request();
  const bool head = req.method == "HEAD";
  HeadOptions opt;
  opt.http_minor = req.http_minor;
  opt.connection = "close";
  opt.cors_origin = ctx_->config.cors_origin;
  opt.content_length = content_length;
  core::ByteWriter w(512);
  write_response_head(w, status, headers, opt);
  conn_->append(w.finish());
  http_counters().count_response(status);
  spdlog::debug("http {} \"{} {}\" {} stream", peer_, req.method, req.target, status);
  ex.detach();
  current_.reset();
  if (head) {
    finish_and_close();
    return nullptr;
  }
  mode_ = Mode::kStream;
  sink_ = sink;
  waiting_ = false;
  wait_after_drain_ = false;
  inbuf_.clear();
  in_off_ = 0;
  conn_->set_idle_timeout(0);
  conn_->flush();
  return conn_;
}

core::TcpConn* HttpConnection::accept_websocket(Exchange& ex, StreamSink* sink) {
  if (!conn_ || current_.get() != &ex || mode_ != Mode::kHttp) {
    ex.detach();
    return nullptr;
  }
  const auto& req = ex.request();
  std::string why;
  if (req.method != "GET") why = "websocket upgrade needs GET";
  else if (req.http_major != 1 || req.http_minor < 1) why = "websocket upgrade needs HTTP/1.1";
  else if (!header_has_token(req.header("upgrade"), "websocket")) why = "missing Upgrade: websocket";
  else if (!header_has_token(req.header("connection"), "upgrade")) why = "missing Connection: upgrade";
  else if (req.header("sec-websocket-version") != "13") why = "unsupported Sec-WebSocket-Version (need 13)";
  else if (!protocol::valid_websocket_key(req.header("sec-websocket-key"))) why = "missing or malformed Sec-WebSocket-Key";
  else if (in_off_ < inbuf_.size()) why = "client sent data before the websocket handshake completed";
  if (!why.empty()) {
    spdlog::info("http {}: websocket upgrade refused: {}", peer_, why);
    respond(ex, 400, {{"Content-Type", "text/plain"}, {"Sec-WebSocket-Version", "13"}}, why + "\n", nullptr);
    return nullptr;
  }
  HeadOptions opt;
  opt.http_minor = 1;
  opt.connection = "Upgrade";
  core::ByteWriter w(256);
  write_response_head(w, 101,
                      {{"Upgrade", "websocket"},
                       {"Sec-WebSocket-Accept", protocol::websocket_accept_key(req.header("sec-websocket-key"))}},
                      opt);
  conn_->append(w.finish());
  http_counters().count_response(101);
  http_counters().websocket_connections.fetch_add(1, std::memory_order_relaxed);
  ws_counted_ = true;
  spdlog::debug("http {} \"{} {}\" 101 websocket", peer_, req.method, req.target);
  ex.detach();
  current_.reset();
  mode_ = Mode::kWebSocket;
  sink_ = sink;
  ws_ = std::make_unique<protocol::WsFrameParser>(kMaxWsMessage);
  waiting_ = false;
  wait_after_drain_ = false;
  inbuf_.clear();
  in_off_ = 0;
  conn_->set_idle_timeout(0);
  conn_->flush();
  return conn_;
}

// ---------------------------------------------------------------------------
// WebSocket

void HttpConnection::feed_ws(core::ByteView data) {
  if (!ws_ || !conn_) return;
  auto st = ws_->feed(data, [this](const protocol::WsMessage& m) { on_ws_message(m); });
  if (!st) ws_fail(ws_->close_code(), st.message());
}

void HttpConnection::on_ws_message(const protocol::WsMessage& m) {
  if (!conn_ || finishing_) return;
  namespace ws = protocol::ws;
  switch (m.opcode) {
    case ws::kPing:
      // A client that pings without reading must not grow our queue: past
      // kMaxPongsQueued unsent pongs, later pings go unanswered (RFC 6455
      // 5.5.3 allows answering only the most recent ping).
      if (pongs_queued_ >= kMaxPongsQueued) break;
      ++pongs_queued_;
      // Whole frame appended at once: never lands inside a caller's frame.
      conn_->append(protocol::make_ws_frame(ws::kPong, m.payload));
      if (conn_->flush()) pongs_queued_ = 0;
      break;
    case ws::kPong:
      break;
    case ws::kClose: {
      uint16_t code = ws::kCloseNormal;
      if (m.payload.size() >= 2) code = uint16_t(m.payload[0] << 8 | m.payload[1]);
      spdlog::debug("ws {}: client sent close {}", peer_, code);
      conn_->append(protocol::make_ws_close_frame(code, ""));
      release_sink();  // nothing may follow our close frame
      finish_and_close();
      break;
    }
    default:
      if (sink_) sink_->on_ws_message(m);
      break;
  }
}

void HttpConnection::ws_fail(uint16_t code, const std::string& reason) {
  if (!conn_ || finishing_) return;
  spdlog::info("ws {}: closing: {}", peer_, reason);
  conn_->append(protocol::make_ws_close_frame(code, ""));
  release_sink();
  finish_and_close();
}

// ---------------------------------------------------------------------------
// Graceful close

void HttpConnection::finish_and_close() {
  if (!conn_ || finishing_) return;
  finishing_ = true;
  waiting_ = false;
  wait_after_drain_ = false;
  conn_->set_idle_timeout(0);
  if (conn_->flush()) start_linger();
}

void HttpConnection::on_drained() {
  if (!conn_) return;
  if (finishing_) {
    start_linger();
    return;
  }
  if (mode_ != Mode::kHttp) {
    pongs_queued_ = 0;
    if (sink_) sink_->on_writable();
    return;
  }
  if (wait_after_drain_ && !current_) begin_wait();
  if (waiting_drain_) {
    waiting_drain_ = false;
    process();
  }
  check_deadline();
}

// Closing right after the last write can turn into a reset that destroys the
// response in flight when the client still has bytes in transit to us (RFC
// 9112 9.6). So: shut down our side (FIN after the queued bytes) and read and
// drop input until the client closes, at most kLingerMs.
void HttpConnection::start_linger() {
  if (!conn_ || lingering_ || conn_->closing()) return;
  if (peer_eof_) {
    conn_->close();
    return;
  }
  lingering_ = true;
  linger_start_ = now();
  shutdown_req_.data = this;
  int rc = uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(conn_->handle()), [](uv_shutdown_t*, int) {});
  if (rc != 0) {
    conn_->close();
    return;
  }
  conn_->set_idle_timeout(kLingerMs);
}

void HttpConnection::on_read_end(int uv_status) {
  if (!conn_) return;
  if (uv_status == UV_EOF && mode_ == Mode::kHttp && !current_ && !lingering_ &&
      (finishing_ || conn_->pending_bytes() > 0)) {
    // The client half-closed after its request: let the answer go out.
    peer_eof_ = true;
    if (finishing_) return;  // on_drained closes
    finish_and_close();
    return;
  }
  if (conn_->is_tls() && !conn_->tls_error().empty()) {
    http_counters().tls_failures_total.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("https {}: closed: TLS: {}", peer_, conn_->tls_error());
  } else if (uv_status != UV_EOF && !lingering_) {
    spdlog::debug("http {}: connection error: {}", peer_, uv_strerror(uv_status));
  }
  conn_->close();
}

}  // namespace weir::origin::http
