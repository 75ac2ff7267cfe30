#include "protocol/http_response_reader.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace weir::protocol {

using core::Result;
using core::Status;

namespace {
HttpResponseReader* self_of(llhttp_t* p) { return static_cast<HttpResponseReader*>(p->data); }
}  // namespace

std::string_view HttpResponseHead::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return value;
  return {};
}

HttpResponseReader::HttpResponseReader(Handler& handler) : handler_(handler) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = &cb_message_begin;
  settings_.on_status = &cb_status;
  settings_.on_header_field = &cb_header_field;
  settings_.on_header_value = &cb_header_value;
  settings_.on_header_value_complete = &cb_header_value_complete;
  settings_.on_headers_complete = &cb_headers_complete;
  settings_.on_body = &cb_body;
  settings_.on_message_complete = &cb_message_complete;
  llhttp_init(&parser_, HTTP_RESPONSE, &settings_);
  parser_.data = this;
}

int HttpResponseReader::cb_message_begin(llhttp_t* p) {
  auto* s = self_of(p);
  s->head_ = HttpResponseHead{};
  s->field_.clear();
  s->value_.clear();
  s->head_bytes_ = 0;
  s->in_message_ = true;
  return 0;
}

int HttpResponseReader::cb_status(llhttp_t* p, const char* at, size_t n) {
  auto* s = self_of(p);
  s->head_bytes_ += n;
  if (s->head_bytes_ > kMaxHeadBytes) return -1;
  s->head_.reason.append(at, n);
  return 0;
}

int HttpResponseReader::cb_header_field(llhttp_t* p, const char* at, size_t n) {
  auto* s = self_of(p);
  s->head_bytes_ += n;
  if (s->head_bytes_ > kMaxHeadBytes) return -1;
  if (!s->value_.empty()) s->value_.clear();
  s->field_.append(at, n);
  return 0;
}

int HttpResponseReader::cb_header_value(llhttp_t* p, const char* at, size_t n) {
  auto* s = self_of(p);
  s->head_bytes_ += n;
  if (s->head_bytes_ > kMaxHeadBytes) return -1;
  s->value_.append(at, n);
  return 0;
}

int HttpResponseReader::cb_header_value_complete(llhttp_t* p) {
  auto* s = self_of(p);
  if (s->head_.headers.size() >= kMaxHeaders) {
    s->too_many_headers_ = true;
    return -1;
  }
  for (char& c : s->field_) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (s->field_ == "sec-websocket-accept") s->head_.ws_accept = s->value_;
  else if (s->field_ == "content-type") s->head_.content_type = s->value_;
  s->head_.headers.emplace_back(std::move(s->field_), std::move(s->value_));
  s->field_.clear();
  s->value_.clear();
  return 0;
}

int HttpResponseReader::cb_headers_complete(llhttp_t* p) {
  auto* s = self_of(p);
  if (p->status_code < 100 || p->status_code > 999) {
    // llhttp takes any number; RFC 9110 15: a status code is three digits.
    s->bad_status_ = true;
    return -1;
  }
  s->head_.status = p->status_code;
  if ((p->flags & F_CONTENT_LENGTH) && !(p->flags & F_CHUNKED)) s->head_.content_length = int64_t(p->content_length);
  s->head_.upgrade = p->status_code == 101;
  const bool no_body = s->no_body_;
  if (p->status_code >= 200) s->no_body_ = false;  // 1xx heads precede the real answer
  s->handler_.on_head(s->head_);
  // llhttp: 1 from on_headers_complete means "this message has no body".
  return no_body ? 1 : 0;
}

int HttpResponseReader::cb_body(llhttp_t* p, const char* at, size_t n) {
  self_of(p)->handler_.on_body(core::ByteView(reinterpret_cast<const uint8_t*>(at), n));
  return 0;
}

int HttpResponseReader::cb_message_complete(llhttp_t* p) {
  auto* s = self_of(p);
  s->head_.keep_alive = llhttp_should_keep_alive(p) != 0;
  s->in_message_ = false;
  s->handler_.on_complete();
  // Pause so feed() returns right after this response: the caller decides
  // what the following bytes are (the next response, or unsolicited). A 101
  // pauses by itself (HPE_PAUSED_UPGRADE).
  return s->head_.upgrade ? 0 : HPE_PAUSED;
}

Result<size_t> HttpResponseReader::feed(core::ByteView data) {
  if (failed_) return Status::error(error_);
  if (upgraded_) return size_t(0);
  const char* at = reinterpret_cast<const char*>(data.data());
  llhttp_errno_t e = llhttp_execute(&parser_, at, data.size());
  if (e == HPE_OK) return data.size();
  if (e == HPE_PAUSED) {
    llhttp_resume(&parser_);
    return std::min(data.size(), size_t(llhttp_get_error_pos(&parser_) - at));
  }
  if (e == HPE_PAUSED_UPGRADE) {
    upgraded_ = true;
    in_message_ = false;
    return size_t(llhttp_get_error_pos(&parser_) - at);
  }
  failed_ = true;
  error_ = bad_status_                  ? fmt::format("http response: status {} is not a 3-digit code", parser_.status_code)
           : head_bytes_ > kMaxHeadBytes ? fmt::format("http response: head over {} bytes", kMaxHeadBytes)
           : too_many_headers_           ? fmt::format("http response: more than {} header fields", kMaxHeaders)
                                        : fmt::format("http response: {} ({})", llhttp_get_error_reason(&parser_), llhttp_errno_name(e));
  return Status::error(error_);
}

Status HttpResponseReader::finish() {
  if (failed_) return Status::error(error_);
  if (upgraded_ || !in_message_) return Status::ok();
  llhttp_errno_t e = llhttp_finish(&parser_);
  if (e != HPE_OK && e != HPE_PAUSED) {
    failed_ = true;
    error_ = fmt::format("http response cut short: {}", llhttp_errno_name(e));
    return Status::error(error_);
  }
  return Status::ok();
}

}  // namespace weir::protocol
