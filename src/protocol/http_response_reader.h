// HttpResponseReader: incremental HTTP/1.1 response parser for the players'
// side of a connection, around llhttp in response mode. No I/O.
//
// Handles Content-Length, chunked and close-delimited bodies, keep-alive
// (responses follow each other on one connection), responses to HEAD (no
// body whatever the head says, once told with expect_no_body()), and 101
// upgrades (the bytes after the head are not HTTP and are handed back to the
// caller). Every header field is kept (names lower-cased, in order), at most
// kMaxHeaders of them; the head is capped at kMaxHeadBytes.
//
// Thread: one reader per connection, one thread. Ownership: body bytes are
// borrowed from feed()'s input for the duration of the callback only.
#pragma once

#include <llhttp.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/buffer.h"
#include "core/status.h"

namespace weir::protocol {

struct HttpResponseHead {
  int status = 0;
  std::string reason;           // reason phrase
  int64_t content_length = -1;  // -1: chunked or close-delimited
  bool keep_alive = false;      // known at on_complete
  bool upgrade = false;
  std::string ws_accept;        // Sec-WebSocket-Accept
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, wire order

  // First header with this (lower-case) name; empty if absent.
  std::string_view header(std::string_view lower_name) const;
};

class HttpResponseReader {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void on_head(const HttpResponseHead& head) = 0;
    virtual void on_body(core::ByteView bytes) = 0;
    // The response is complete; head().keep_alive says if the connection may
    // carry the next one.
    virtual void on_complete() = 0;
  };

  static constexpr size_t kMaxHeadBytes = 16 * 1024;
  static constexpr size_t kMaxHeaders = 100;

  explicit HttpResponseReader(Handler& handler);
  HttpResponseReader(const HttpResponseReader&) = delete;
  HttpResponseReader& operator=(const HttpResponseReader&) = delete;

  // Parses `data`. Returns the bytes consumed: it stops right after a
  // complete response (on_complete() ran; feed the rest again for the next
  // one) and after a 101 head (the rest belongs to the upgraded protocol).
  // An error leaves the reader failed.
  core::Result<size_t> feed(core::ByteView data);
  // The peer closed: completes a close-delimited body (on_complete) or fails
  // if a response was cut short.
  core::Status finish();
  // The next response answers a HEAD request: it has no body (RFC 9110
  // 9.3.2). Call before its first byte is fed; applies to that response only.
  void expect_no_body() { no_body_ = true; }
  // True between responses (nothing of the next one seen yet).
  bool idle() const { return !in_message_; }
  const HttpResponseHead& head() const { return head_; }
  bool upgraded() const { return upgraded_; }

 private:
  static int cb_message_begin(llhttp_t* p);
  static int cb_status(llhttp_t* p, const char* at, size_t n);
  static int cb_header_field(llhttp_t* p, const char* at, size_t n);
  static int cb_header_value(llhttp_t* p, const char* at, size_t n);
  static int cb_header_value_complete(llhttp_t* p);
  static int cb_headers_complete(llhttp_t* p);
  static int cb_body(llhttp_t* p, const char* at, size_t n);
  static int cb_message_complete(llhttp_t* p);

  Handler& handler_;
  llhttp_settings_t settings_{};
  llhttp_t parser_{};
  HttpResponseHead head_;
  std::string field_;
  std::string value_;
  size_t head_bytes_ = 0;
  bool in_message_ = false;
  bool upgraded_ = false;
  bool failed_ = false;
  bool bad_status_ = false;
  bool too_many_headers_ = false;
  bool no_body_ = false;
  std::string error_;
};


}  // namespace weir::protocol
