// HttpClient: HTTP/1.1 requests on core's Connector (http://, and https://
// through the TLS layer; ws:// and wss:// are the same requests, for an
// Upgrade the caller asks for in its headers).
//
// One exchange at a time per client. The response head (status, reason,
// every header, capped by protocol::HttpResponseReader) comes to on_head;
// the body to on_body in pieces as it arrives, so a live HTTP-FLV pull that
// never ends works; on_complete ends the exchange (ok: the whole response
// was read). Interim 1xx heads are skipped. No redirects are followed (a
// 3xx is a response like any other). After a 101 the connection belongs to
// the exchange: the bytes that follow come to on_body unparsed, write()
// sends raw bytes, and the exchange completes when the connection ends.
//
// Keep-alive: when a response allows it, the connection stays open and the
// next request to the same scheme://host:port goes on it (an HLS player
// fetches playlists and segments on one connection). A request on a reused
// connection that the server closes before answering (its idle close raced
// our request) is sent once more on a new connection if the method is
// idempotent (RFC 9110 9.2.2), as browsers do.
//
// Timeouts (0: off): connect (lookup + TCP + TLS), head (request written ->
// whole head), idle (no body byte for that long), total (send() ->
// complete). Each ends the exchange with an error naming it.
//
// Requests: Host and User-Agent are added unless given; Content-Length is
// set for a body (and for POST/PUT/PATCH without one); header names and
// values with CR, LF or NUL are refused (no header injection), as are
// Content-Length and Transfer-Encoding given by the caller.
//
// Thread: one loop; every call and every callback on it.
// Ownership: RAII. Destroying the client (or cancel()) closes its connection
// and no callback of the exchange in progress runs after. Callbacks may
// destroy the client or start the next request (from on_complete).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/buffer.h"
#include "core/loop.h"
#include "core/status.h"
#include "protocol/http_response_reader.h"

namespace weir::core {
class TlsContext;
}

namespace weir::client {

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // http[s]:// or ws[s]://host[:port]/path[?query]
  std::vector<std::pair<std::string, std::string>> headers;
  core::Slice body;
};

// What HttpClient::request() collects.
struct HttpResponse {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string_view header(std::string_view lower_name) const;
};

struct HttpClientOptions {
  uint64_t connect_timeout_ms = 10000;
  uint64_t head_timeout_ms = 10000;
  uint64_t idle_timeout_ms = 10000;
  uint64_t total_timeout_ms = 0;
  // Required for https:// and wss:// (a client context).
  std::shared_ptr<const core::TlsContext> tls;
  std::string user_agent = "weir";
};

class HttpClient {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // Every read from the socket during this exchange, before it is parsed
    // (first-byte time, byte counts).
    virtual void on_bytes(size_t n) {}
    virtual void on_head(const protocol::HttpResponseHead& head) {}
    // Body bytes (after a 101: the upgraded stream), valid during the call.
    virtual void on_body(core::ByteView bytes) {}
    // The exchange ended: ok when the response was read whole (or an
    // upgraded stream closed cleanly). The last callback of the exchange.
    virtual void on_complete(const core::Status& st) = 0;
  };

  struct Stats {
    uint64_t connections = 0;  // connections opened
    uint64_t requests = 0;     // requests written (retries included)
    uint64_t reused = 0;       // requests written on a kept-alive connection
    uint64_t bytes_received = 0;
  };

  explicit HttpClient(core::Loop& loop, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts an exchange. Errors found before any I/O (a bad URL or header,
  // https without a TLS context, an exchange already running) are returned
  // here; everything else comes to `handler`, which must outlive the
  // exchange (until on_complete, cancel() or the client's destruction).
  core::Status send(HttpRequest req, Handler& handler);
  // The one-shot form for webhooks and callbacks: collects the body, up to
  // max_body bytes (more ends the exchange with an error).
  using Done = std::function<void(core::Result<HttpResponse>)>;
  core::Status request(HttpRequest req, size_t max_body, Done done);
  // After a 101 only: raw bytes to the peer (e.g. WebSocket frames).
  core::Status write(const core::Slice& bytes);
  // Ends the exchange in progress without a callback and closes the connection.
  void cancel();
  bool busy() const;
  const Stats& stats() const;

 private:
  class Impl;
  Impl* impl_;  // frees itself once detached and its connection is closed
};

}  // namespace weir::client
