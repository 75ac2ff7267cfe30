#include "client/http_client.h"

#include <algorithm>
#include <cctype>

#include "protocol/url.h"
#include "core/connector.h"
#include "core/tcp_conn.h"
#include "core/timer.h"

namespace weir::client {

using core::Status;
using protocol::parse_url;
using protocol::Url;

namespace {

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c <= 32 || c >= 127 || std::string_view("()<>@,;:\\\"/[]?={}").find(char(c)) != std::string_view::npos)
      return false;
  return true;
}

bool safe_value(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// RFC 9110 9.2.2.
bool idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE" || m == "OPTIONS" || m == "TRACE";
}

// The request head; Host and User-Agent unless given, Content-Length for a body.
core::Result<std::string> request_head(const HttpRequest& req, const Url& url, const std::string& user_agent) {
  if (!is_token(req.method)) return Status::errorf("http: bad method '{}'", req.method.substr(0, 32));
  std::string head = req.method + " " + url.target() + " HTTP/1.1\r\n";
  bool host = false, agent = false;
  std::string fields;
  for (const auto& [name, value] : req.headers) {
    if (!is_token(name) || !safe_value(value))
      return Status::errorf("http: header '{}' has characters a header cannot carry", name.substr(0, 64));
    std::string l = lower(name);
    if (l == "content-length" || l == "transfer-encoding")
      return Status::errorf("http: header '{}' is set by the client", name);
    host = host || l == "host";
    agent = agent || l == "user-agent";
    fields += name + ": " + value + "\r\n";
  }
  if (!host) head += "Host: " + url.authority() + "\r\n";
  if (!agent && !user_agent.empty()) head += "User-Agent: " + user_agent + "\r\n";
  head += fields;
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH")
    head += "Content-Length: " + std::to_string(req.body.size()) + "\r\n";
  head += "\r\n";
  return head;
}

}  // namespace

std::string_view HttpResponse::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return value;
  return {};
}

class HttpClient::Impl final : public core::TcpConn::Handler, private protocol::HttpResponseReader::Handler {
 public:
  Impl(core::Loop& loop, HttpClientOptions o) : loop_(loop), opts_(std::move(o)), connector_(loop), timer_(loop) {}

  Status send(HttpRequest req, HttpClient::Handler& h);
  Status request(HttpRequest req, size_t max_body, Done done);
  Status write(const core::Slice& bytes) {
    if (!user_ || !upgraded_ || !conn_) return Status::error("http: write() needs an upgraded exchange");
    conn_->send(bytes);
    return Status::ok();
  }
  // The exchange ends without a callback; the connection closes.
  void cancel() {
    user_ = nullptr;
    ++seq_;
    collector_.reset();
    timer_.stop();
    connector_.cancel();
    drop_conn();
  }
  void detach() {
    cancel();
    detached_ = true;
    if (depth_ == 0) delete this;
  }
  bool busy() const { return user_ != nullptr; }

  Stats stats_;

 private:
  class Collector;
  // Every entry from the loop (socket, timer, connector) runs inside one:
  // a client destroyed by a callback is freed when its entry unwinds.
  struct Entry {
    explicit Entry(Impl* s) : s_(s) { ++s_->depth_; }
    ~Entry() {
      if (--s_->depth_ == 0 && s_->detached_) delete s_;
    }
    Impl* s_;
  };

  ~Impl() override = default;

  // Calls the exchange's handler; false if that exchange is over (ended,
  // cancelled, replaced) or the client is gone.
  template <class F>
  bool deliver(F&& f) {
    if (!user_) return false;
    const uint64_t seq = seq_;
    f(*user_);
    return !detached_ && seq_ == seq;
  }
  uint64_t now() const { return uv_now(loop_.uv()); }

  void dispatch();
  void on_connected(core::Result<core::TcpConn*> r);
  void write_request();
  void arm_timer();
  void read(core::ByteView data);
  bool retry_on_new_connection();
  void fail_exchange(Status st) {
    drop_conn();
    end_exchange(std::move(st));
  }
  void end_exchange(Status st);
  void drop_conn() {
    reusable_ = false;
    if (core::TcpConn* c = conn_) {
      conn_ = nullptr;
      c->set_handler(nullptr);
      c->close();
    }
  }

  // TcpConn::Handler
  void on_read(core::ByteView data) override {
    Entry e(this);
    stats_.bytes_received += data.size();
    read(data);
  }
  void on_read_end(int uv_status) override;
  void on_timeout(const char*) override {
    Entry e(this);
    if (!user_) return drop_conn();
    fail_exchange(Status::errorf("http: no data for {} ms", opts_.idle_timeout_ms));
  }
  void on_closed() override {
    Entry e(this);
    reusable_ = false;
    if (user_) end_exchange(Status::error("http: connection closed"));
  }

  // HttpResponseReader::Handler
  void on_head(const protocol::HttpResponseHead& head) override;
  void on_body(core::ByteView bytes) override {
    deliver([bytes](HttpClient::Handler& h) { h.on_body(bytes); });
  }
  void on_complete() override {
    if (interim_) interim_ = false;  // a 1xx head had no body; the answer follows
    else complete_ = true;           // acted on once feed() returns
  }

  core::Loop& loop_;
  HttpClientOptions opts_;
  core::Connector connector_;
  core::Timer timer_;  // head and total deadlines
  int depth_ = 0;
  bool detached_ = false;

  // The exchange.
  HttpClient::Handler* user_ = nullptr;
  uint64_t seq_ = 0;
  std::unique_ptr<Collector> collector_;
  Url url_;
  std::string origin_;
  std::string method_;
  core::Slice wire_head_, wire_body_;
  uint64_t started_ms_ = 0, written_ms_ = 0;
  bool reused_ = false, retried_ = false, got_bytes_ = false;
  bool head_seen_ = false, interim_ = false, complete_ = false, upgraded_ = false;

  // The connection (conn_, from TcpConn::Handler).
  std::unique_ptr<protocol::HttpResponseReader> reader_;
  std::string conn_origin_;
  bool reusable_ = false;  // idle, and the last response allowed another request
};

class HttpClient::Impl::Collector final : public HttpClient::Handler {
 public:
  Collector(Impl* impl, size_t max_body, Done done) : impl_(impl), max_(max_body), done_(std::move(done)) {}
  void on_head(const protocol::HttpResponseHead& h) override {
    resp_.status = h.status;
    resp_.reason = h.reason;
    resp_.headers = h.headers;
  }
  void on_body(core::ByteView b) override {
    if (resp_.body.size() + b.size() > max_)
      return impl_->fail_exchange(Status::errorf("http: response body over {} bytes", max_));
    resp_.body.append(reinterpret_cast<const char*>(b.data()), b.size());
  }
  void on_complete(const Status& st) override {
    Done done = std::move(done_);
    if (st) done(std::move(resp_));
    else done(st);
  }

 private:
  Impl* impl_;
  size_t max_;
  Done done_;
  HttpResponse resp_;
};

// Exchange ---------------------------------------------------------------------------

Status HttpClient::Impl::send(HttpRequest req, HttpClient::Handler& h) {
  if (user_) return Status::error("http: an exchange is already running");
  auto u = parse_url(req.url);
  if (!u) return u.status();
  const std::string& s = u->scheme;
  if (s != "http" && s != "https" && s != "ws" && s != "wss")
    return Status::errorf("http: '{}' is not an http(s):// or ws(s):// url", req.url);
  if (u->secure() && !opts_.tls) return Status::errorf("http: {}:// needs a TLS context (HttpClientOptions::tls)", s);
  auto head = request_head(req, *u, opts_.user_agent);
  if (!head) return head.status();
  url_ = std::move(*u);
  origin_ = std::string(url_.secure() ? "https://" : "http://") + url_.authority();
  method_ = req.method;
  wire_head_ = core::Slice::copy_of(core::as_bytes(*head));
  wire_body_ = req.body;
  user_ = &h;
  ++seq_;
  retried_ = got_bytes_ = head_seen_ = interim_ = complete_ = upgraded_ = false;
  started_ms_ = now();
  written_ms_ = 0;
  arm_timer();
  dispatch();
  return Status::ok();
}

Status HttpClient::Impl::request(HttpRequest req, size_t max_body, Done done) {
  if (user_) return Status::error("http: an exchange is already running");
  auto c = std::make_unique<Collector>(this, max_body, std::move(done));
  Status st = send(std::move(req), *c);
  if (st) collector_ = std::move(c);
  return st;
}

void HttpClient::Impl::dispatch() {
  if (conn_ && reusable_ && conn_origin_ == origin_) {
    reused_ = true;
    return write_request();
  }
  drop_conn();
  reused_ = false;
  core::ConnectOptions co;
  co.timeout_ms = opts_.connect_timeout_ms;
  if (url_.secure()) co.tls = opts_.tls;
  connector_.connect(url_.host, url_.port, co, [this](core::Result<core::TcpConn*> r) {
    Entry e(this);
    on_connected(std::move(r));
  });
}

void HttpClient::Impl::on_connected(core::Result<core::TcpConn*> r) {
  if (!r) return end_exchange(Status::errorf("http: {}", r.error()));
  core::TcpConn* c = *r;
  c->set_handler(this);
  c->start_reading();
  conn_origin_ = origin_;
  reader_ = std::make_unique<protocol::HttpResponseReader>(static_cast<protocol::HttpResponseReader::Handler&>(*this));
  ++stats_.connections;
  write_request();
}

void HttpClient::Impl::write_request() {
  reusable_ = false;
  if (method_ == "HEAD") reader_->expect_no_body();
  conn_->append(wire_head_);
  conn_->append(wire_body_);
  conn_->flush();
  ++stats_.requests;
  if (reused_) ++stats_.reused;
  written_ms_ = now();
  arm_timer();
}

void HttpClient::Impl::arm_timer() {
  uint64_t at = UINT64_MAX;
  if (opts_.total_timeout_ms) at = started_ms_ + opts_.total_timeout_ms;
  if (opts_.head_timeout_ms && !head_seen_ && written_ms_) at = std::min(at, written_ms_ + opts_.head_timeout_ms);
  if (at == UINT64_MAX) return timer_.stop();
  const uint64_t t = now();
  timer_.start(at > t ? at - t : 0, [this] {
    Entry e(this);
    if (!user_) return;
    const uint64_t t = now();
    if (opts_.total_timeout_ms && t >= started_ms_ + opts_.total_timeout_ms)
      return fail_exchange(Status::errorf("http: not complete within {} ms", opts_.total_timeout_ms));
    if (opts_.head_timeout_ms && !head_seen_ && written_ms_ && t >= written_ms_ + opts_.head_timeout_ms)
      return fail_exchange(Status::errorf("http: no response head within {} ms", opts_.head_timeout_ms));
    arm_timer();
  });
}

void HttpClient::Impl::end_exchange(Status st) {
  HttpClient::Handler* h = user_;
  if (!h) return;
  user_ = nullptr;
  ++seq_;
  timer_.stop();
  if (conn_) conn_->set_idle_timeout(0);
  std::unique_ptr<Collector> keep = std::move(collector_);  // alive through its own callback
  h->on_complete(st);
}

// Reading ------------------------------------------------------------------------------

void HttpClient::Impl::read(core::ByteView data) {
  if (!user_) return drop_conn();  // bytes nobody asked for: this connection is done
  got_bytes_ = true;
  if (!deliver([n = data.size()](HttpClient::Handler& h) { h.on_bytes(n); })) return;
  if (upgraded_) {
    deliver([data](HttpClient::Handler& h) { h.on_body(data); });
    return;
  }
  core::TcpConn* const conn = conn_;
  while (!data.empty()) {
    if (!user_) return drop_conn();  // more bytes after a complete response
    auto used = reader_->feed(data);
    if (conn_ != conn) return;  // cancelled or replaced inside a callback
    if (!used) return fail_exchange(Status::errorf("http: {}", used.error()));
    data = data.subspan(*used);
    if (reader_->upgraded()) {
      upgraded_ = true;
      if (!data.empty()) deliver([data](HttpClient::Handler& h) { h.on_body(data); });
      return;
    }
    if (complete_) {
      complete_ = false;
      // Set before the callback: a next request made from on_complete to the
      // same origin goes on this connection.
      reusable_ = reader_->head().keep_alive;
      end_exchange(Status::ok());
      if (conn_ != conn) return;  // the next request went on another connection
      if (!user_ && !reusable_) return drop_conn();
    } else if (*used == 0) {
      return fail_exchange(Status::error("http: response parser made no progress"));
    }
  }
}

void HttpClient::Impl::on_head(const protocol::HttpResponseHead& head) {
  if (!user_) return;
  if (head.status < 200 && head.status != 101) {
    interim_ = true;  // 100 Continue, 103 Early Hints: the answer follows
    return;
  }
  head_seen_ = true;
  arm_timer();
  if (opts_.idle_timeout_ms && conn_) conn_->set_idle_timeout(opts_.idle_timeout_ms);
  deliver([&head](HttpClient::Handler& h) { h.on_head(head); });
}

// A request on a kept-alive connection that the server closed before sending
// a byte of the answer: its idle close crossed our request.
bool HttpClient::Impl::retry_on_new_connection() {
  if (!reused_ || got_bytes_ || retried_ || !idempotent(method_)) return false;
  retried_ = true;
  drop_conn();
  dispatch();
  return true;
}

void HttpClient::Impl::on_read_end(int uv_status) {
  Entry e(this);
  if (!user_) return drop_conn();  // an idle connection ended
  if (upgraded_) {
    Status st = uv_status == UV_EOF ? Status::ok() : Status::errorf("http: socket: {}", uv_strerror(uv_status));
    return fail_exchange(st);
  }
  if (uv_status == UV_EOF) {
    Status st = reader_->finish();  // a close-delimited body ends here
    if (complete_) {
      complete_ = false;
      drop_conn();
      return end_exchange(Status::ok());
    }
    if (retry_on_new_connection()) return;
    return fail_exchange(Status::errorf("http: the server closed the connection {}{}",
                                        head_seen_ ? "before the end of the body" : "before answering",
                                        st ? "" : " (" + st.message() + ")"));
  }
  if (retry_on_new_connection()) return;
  const std::string& tls = conn_ ? conn_->tls_error() : std::string();
  fail_exchange(Status::errorf("http: {}", !tls.empty() ? tls : std::string("socket: ") + uv_strerror(uv_status)));
}

// HttpClient ---------------------------------------------------------------------------

HttpClient::HttpClient(core::Loop& loop, HttpClientOptions options) : impl_(new Impl(loop, std::move(options))) {}
HttpClient::~HttpClient() { impl_->detach(); }
Status HttpClient::send(HttpRequest req, Handler& handler) { return impl_->send(std::move(req), handler); }
Status HttpClient::request(HttpRequest req, size_t max_body, Done done) {
  return impl_->request(std::move(req), max_body, std::move(done));
}
Status HttpClient::write(const core::Slice& bytes) { return impl_->write(bytes); }
void HttpClient::cancel() { impl_->cancel(); }
bool HttpClient::busy() const { return impl_->busy(); }
const HttpClient::Stats& HttpClient::stats() const { return impl_->stats_; }

}  // namespace weir::client
