// Incremental HTTP/1.x request parser around llhttp. No I/O, so it can be
// fuzzed alone.
//
// Thread: one parser per connection, used by one thread at a time.
// Ownership: the parser copies what it keeps (method, target, headers, body);
// the ByteView given to feed() is not kept past the call.
// Invariants:
//  - feed() stops right after one complete request (pipelining): the caller
//    takes it with take_request() and feeds the bytes feed() did not consume.
//    While a request is waiting to be taken, feed() consumes nothing.
//  - Every size is capped before it is stored: the request head (request line
//    + headers, counted in wire bytes including CRLFs and leading empty lines),
//    the target, the header count, the body (Content-Length or chunked).
//  - Once feed() has failed, the parser stays failed (the connection is
//    answered with error_status() and closed); it repeats the same error.
//  - After an upgrade request (Upgrade + Connection: upgrade, or CONNECT) the
//    rest of the stream is not HTTP; feeding more is an error.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/buffer.h"
#include "core/status.h"

namespace weir::protocol {

struct HttpRequest {
  std::string method;  // canonical upper case, e.g. "GET"
  std::string target;  // raw request target as sent
  std::string path;    // percent-decoded, no query ("*" for OPTIONS *)
  std::string query;   // raw, without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
  std::string body;
  int http_major = 1;
  int http_minor = 1;
  bool keep_alive = false;  // the connection may carry another request after this one
  bool upgrade = false;     // Upgrade/CONNECT: bytes after this request are not HTTP

  // First header with this (lower-case) name; empty if absent.
  std::string_view header(std::string_view lower_name) const;
  bool has_header(std::string_view lower_name) const;
  // First query parameter with this name, decoded ('+' is a space, %XX
  // escapes; malformed escapes are kept literally).
  std::optional<std::string> query_param(std::string_view name) const;
};

// Decodes %XX escapes; '+' is a space only when plus_is_space. Returns nullopt
// on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

class HttpRequestParser {
 public:
  static constexpr size_t kMaxTargetBytes = 8192;
  static constexpr size_t kMaxHeaderCount = 100;

  HttpRequestParser(size_t max_header_bytes, size_t max_body_bytes);
  ~HttpRequestParser() = default;
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  // Parses as much of `data` as belongs to the current request. Returns the
  // bytes consumed (less than data.size() once a request is complete), or an
  // error with a short reason; error_status() then says what to answer.
  core::Result<size_t> feed(core::ByteView data);
  bool has_request() const { return has_request_; }
  // Only when has_request(). Resets for the next request.
  HttpRequest take_request();

  // True when some bytes of a next request have been consumed (a request is
  // in progress), false between requests.
  bool in_progress() const { return started_ && !has_request_; }
  // Once per request: the head is complete, carried "Expect: 100-continue",
  // and the body has not fully arrived (the server may send 100 Continue).
  bool take_expect_continue();
  // HTTP status for the last error: 400, 413, 414, 431, 505.
  int error_status() const { return error_status_; }
  bool failed() const { return failed_; }

 private:
  static int on_message_begin(llhttp_t* p);
  static int on_url(llhttp_t* p, const char* at, size_t n);
  static int on_header_field(llhttp_t* p, const char* at, size_t n);
  static int on_header_field_complete(llhttp_t* p);
  static int on_header_value(llhttp_t* p, const char* at, size_t n);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, size_t n);
  static int on_message_complete(llhttp_t* p);
  int user_error(int status, std::string reason);
  core::Status fail(int status, std::string reason);
  core::Status finish_target();

  llhttp_t parser_{};
  llhttp_settings_t settings_{};
  size_t max_header_bytes_;
  size_t max_body_bytes_;

  HttpRequest req_;
  size_t head_bytes_ = 0;     // wire bytes fed while the head was incomplete
  size_t trailer_bytes_ = 0;  // chunked trailer bytes (capped like the head)
  bool started_ = false;
  bool headers_done_ = false;
  bool field_open_ = false;  // a header name is being accumulated
  bool expect_continue_ = false;
  bool has_request_ = false;
  bool upgraded_ = false;
  bool failed_ = false;
  bool user_error_ = false;  // a callback rejected the input; error_ says why
  int error_status_ = 400;
  std::string error_;
};

}  // namespace weir::protocol
