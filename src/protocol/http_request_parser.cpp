#include "protocol/http_request_parser.h"

#include <algorithm>
#include <cstring>

#include "protocol/query_params.h"

namespace weir::protocol {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 9110 5.6.2 token characters.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

HttpRequestParser* self_of(llhttp_t* p) { return static_cast<HttpRequestParser*>(p->data); }

}  // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(char(hi << 4 | lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string_view HttpRequest::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return {};
}

bool HttpRequest::has_header(std::string_view lower_name) const {
  for (const auto& h : headers)
    if (h.first == lower_name) return true;
  return false;
}

std::optional<std::string> HttpRequest::query_param(std::string_view name) const {
  std::optional<std::string> found;
  for_each_query_item(query, [&](std::string_view raw_key, std::string_view raw_val) {
    auto key = percent_decode(raw_key, true);
    if (!key || *key != name) return true;
    found = percent_decode(raw_val, true);
    if (!found) {
      // Malformed escape: keep the bytes literally, only '+' becomes a space.
      found = std::string(raw_val);
      std::replace(found->begin(), found->end(), '+', ' ');
    }
    return false;
  });
  return found;
}

HttpRequestParser::HttpRequestParser(size_t max_header_bytes, size_t max_body_bytes)
    : max_header_bytes_(max_header_bytes ? max_header_bytes : 1), max_body_bytes_(max_body_bytes) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = &HttpRequestParser::on_message_begin;
  settings_.on_url = &HttpRequestParser::on_url;
  settings_.on_header_field = &HttpRequestParser::on_header_field;
  settings_.on_header_field_complete = &HttpRequestParser::on_header_field_complete;
  settings_.on_header_value = &HttpRequestParser::on_header_value;
  settings_.on_headers_complete = &HttpRequestParser::on_headers_complete;
  settings_.on_body = &HttpRequestParser::on_body;
  settings_.on_message_complete = &HttpRequestParser::on_message_complete;
  llhttp_init(&parser_, HTTP_REQUEST, &settings_);
  parser_.data = this;
}

int HttpRequestParser::user_error(int status, std::string reason) {
  error_status_ = status;
  error_ = std::move(reason);
  user_error_ = true;
  llhttp_set_error_reason(&parser_, "rejected by parser callback");
  return HPE_USER;
}

core::Status HttpRequestParser::fail(int status, std::string reason) {
  failed_ = true;
  error_status_ = status;
  error_ = std::move(reason);
  return core::Status::error(error_);
}

int HttpRequestParser::on_message_begin(llhttp_t* p) {
  auto* self = self_of(p);
  self->req_ = HttpRequest();
  self->started_ = true;
  self->headers_done_ = false;
  self->field_open_ = false;
  self->trailer_bytes_ = 0;
  self->expect_continue_ = false;
  return 0;
}

int HttpRequestParser::on_url(llhttp_t* p, const char* at, size_t n) {
  auto* self = self_of(p);
  if (self->req_.target.size() + n > kMaxTargetBytes)
    return self->user_error(414, fmt::format("request target exceeds {} bytes", kMaxTargetBytes));
  self->req_.target.append(at, n);
  return 0;
}

int HttpRequestParser::on_header_field(llhttp_t* p, const char* at, size_t n) {
  auto* self = self_of(p);
  if (self->headers_done_) {  // chunked trailer: counted against the head cap, not kept
    self->trailer_bytes_ += n;
    if (self->trailer_bytes_ > self->max_header_bytes_)
      return self->user_error(431, fmt::format("request trailers exceed {} bytes", self->max_header_bytes_));
    return 0;
  }
  auto& hs = self->req_.headers;
  if (!self->field_open_) {
    if (hs.size() >= kMaxHeaderCount)
      return self->user_error(431, fmt::format("more than {} header fields", kMaxHeaderCount));
    hs.emplace_back();
    self->field_open_ = true;
  }
  std::string& name = hs.back().first;
  for (size_t i = 0; i < n; ++i) name.push_back(lower(at[i]));
  return 0;
}

int HttpRequestParser::on_header_field_complete(llhttp_t* p) {
  auto* self = self_of(p);
  self->field_open_ = false;
  if (self->headers_done_ || self->req_.headers.empty()) return 0;
  // llhttp 8 lets spaces through in names; "Content-Length : 5" must not be
  // read one way here and another way by a proxy (RFC 9112 5.1).
  const std::string& name = self->req_.headers.back().first;
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_tchar))
    return self->user_error(400, "invalid header field name");
  return 0;
}

int HttpRequestParser::on_header_value(llhttp_t* p, const char* at, size_t n) {
  auto* self = self_of(p);
  if (self->headers_done_) {
    self->trailer_bytes_ += n;
    if (self->trailer_bytes_ > self->max_header_bytes_)
      return self->user_error(431, fmt::format("request trailers exceed {} bytes", self->max_header_bytes_));
    return 0;
  }
  if (self->req_.headers.empty()) return 0;  // llhttp never does this; be safe
  self->req_.headers.back().second.append(at, n);
  return 0;
}

core::Status HttpRequestParser::finish_target() {
  const std::string& t = req_.target;
  if (t.empty()) return core::Status::error("empty request target");
  if (t == "*") {
    if (req_.method != "OPTIONS") return core::Status::error("'*' request target is only valid for OPTIONS");
    req_.path = "*";
    return core::Status::ok();
  }
  std::string_view rest;
  std::string absolute_path;
  if (t[0] == '/') {
    rest = t;
  } else if (istarts_with(t, "http://") || istarts_with(t, "https://")) {
    // absolute-form (RFC 9112 3.2.2): drop scheme and authority.
    std::string_view after = std::string_view(t).substr(t.find("://") + 3);
    size_t end = after.find_first_of("/?#");
    if (end == std::string_view::npos) {
      absolute_path = "/";
    } else {
      if (after[end] != '/') absolute_path = "/";
      absolute_path.append(after.substr(end));
    }
    rest = absolute_path;
  } else {
    return core::Status::error("unsupported request target form");
  }
  size_t hash = rest.find('#');
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);
  size_t qm = rest.find('?');
  std::string_view raw_path = rest.substr(0, qm);
  if (qm != std::string_view::npos) req_.query = std::string(rest.substr(qm + 1));
  auto decoded = percent_decode(raw_path, false);
  if (!decoded) return core::Status::error("bad percent-encoding in path");
  if (decoded->find('\0') != std::string::npos) return core::Status::error("NUL byte in path");
  std::string_view segs = *decoded;
  while (!segs.empty()) {
    size_t slash = segs.find('/');
    if (segs.substr(0, slash) == "..") return core::Status::error("'..' segment in path");
    if (slash == std::string_view::npos) break;
    segs.remove_prefix(slash + 1);
  }
  req_.path = std::move(*decoded);
  return core::Status::ok();
}

int HttpRequestParser::on_headers_complete(llhttp_t* p) {
  auto* self = self_of(p);
  auto& req = self->req_;
  self->headers_done_ = true;
  req.http_major = p->http_major;
  req.http_minor = p->http_minor;
  if (p->http_major != 1)
    return self->user_error(505, fmt::format("HTTP version {}.{} is not supported", p->http_major, p->http_minor));
  req.method = llhttp_method_name(llhttp_method_t(p->method));
  for (auto& [k, v] : req.headers) {
    std::string_view t = trim(v);
    if (t.size() != v.size()) v = std::string(t);
  }
  if (auto st = self->finish_target(); !st) return self->user_error(400, st.message());
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length > self->max_body_bytes_)
    return self->user_error(413, fmt::format("request body of {} bytes exceeds {} bytes", p->content_length,
                                             self->max_body_bytes_));
  bool has_body = (p->flags & F_CHUNKED) || ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0);
  self->expect_continue_ = has_body && p->http_minor >= 1 && iequals(req.header("expect"), "100-continue");
  return 0;
}

int HttpRequestParser::on_body(llhttp_t* p, const char* at, size_t n) {
  auto* self = self_of(p);
  if (self->req_.body.size() + n > self->max_body_bytes_)
    return self->user_error(413, fmt::format("request body exceeds {} bytes", self->max_body_bytes_));
  self->req_.body.append(at, n);
  return 0;
}

int HttpRequestParser::on_message_complete(llhttp_t* p) {
  auto* self = self_of(p);
  self->has_request_ = true;
  self->req_.keep_alive = llhttp_should_keep_alive(p) != 0;
  self->req_.upgrade = p->upgrade != 0;
  if (self->req_.upgrade) self->req_.keep_alive = false;
  // Pause so execute() returns right after this request (pipelining).
  return HPE_PAUSED;
}

core::Result<size_t> HttpRequestParser::feed(core::ByteView data) {
  if (failed_) return core::Status::error(error_);
  if (has_request_ || data.empty()) return size_t(0);
  if (upgraded_) return fail(400, "data after an upgrade request");
  size_t off = 0;
  while (off < data.size() && !has_request_) {
    size_t n = data.size() - off;
    const bool in_head = !headers_done_;
    if (in_head) {
      if (head_bytes_ >= max_header_bytes_)
        return fail(431, fmt::format("request head exceeds {} bytes", max_header_bytes_));
      n = std::min(n, max_header_bytes_ - head_bytes_);
    }
    const char* at = reinterpret_cast<const char*>(data.data()) + off;
    llhttp_errno_t e = llhttp_execute(&parser_, at, n);
    size_t used = n;
    switch (e) {
      case HPE_OK:
        break;
      case HPE_PAUSED:
      case HPE_PAUSED_UPGRADE:
        used = size_t(llhttp_get_error_pos(&parser_) - at);
        if (used > n) used = n;
        break;
      case HPE_PAUSED_H2_UPGRADE:
        return fail(505, "HTTP/2 is not supported");
      default:
        // A callback's own rejection (llhttp reports it as HPE_USER or
        // HPE_CB_<callback>) carries our reason and status.
        if (user_error_) return fail(error_status_, error_);
        return fail(400, fmt::format("bad request: {} ({})", llhttp_get_error_reason(&parser_),
                                     llhttp_errno_name(e)));
    }
    if (in_head) head_bytes_ += used;
    if (!has_request_ && used < n) return fail(400, "parser stopped early");  // defensive
    off += used;
  }
  return off;
}

bool HttpRequestParser::take_expect_continue() {
  bool r = expect_continue_ && !has_request_ && !failed_;
  expect_continue_ = false;
  return r;
}

HttpRequest HttpRequestParser::take_request() {
  if (!has_request_) return HttpRequest();
  HttpRequest out = std::move(req_);
  req_ = HttpRequest();
  has_request_ = false;
  started_ = false;
  headers_done_ = false;
  field_open_ = false;
  head_bytes_ = 0;
  trailer_bytes_ = 0;
  expect_continue_ = false;
  if (out.upgrade) upgraded_ = true;
  else llhttp_resume(&parser_);
  return out;
}

}  // namespace weir::protocol
