#include "origin/http/response.h"

#include <fmt/format.h>

namespace weir::origin::http {

namespace {
char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

bool server_owned(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "connection") || iequals(name, "transfer-encoding") ||
         iequals(name, "date") || iequals(name, "server");
}

bool unsafe(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos; }

bool has_header(const Headers& headers, std::string_view name) {
  for (const auto& h : headers)
    if (iequals(h.first, name)) return true;
  return false;
}
}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool header_has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view part = value.substr(0, comma);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
    if (iequals(part, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

std::string_view status_reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 508: return "Loop Detected";
    default: return "Unknown";
  }
}

bool status_has_no_body(int status) { return status < 200 || status == 204 || status == 304; }

std::string http_date(std::time_t t) {
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", kDays[tm.tm_wday % 7], tm.tm_mday,
                     kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

const std::string& http_date_now() {
  thread_local std::time_t cached_at = 0;
  thread_local std::string cached;
  std::time_t now = std::time(nullptr);
  if (now != cached_at || cached.empty()) {
    cached = http_date(now);
    cached_at = now;
  }
  return cached;
}

void write_response_head(core::ByteWriter& w, int status, const Headers& headers, const HeadOptions& opt) {
  auto put = [&](std::string_view s) { w.bytes(s); };
  put(opt.http_minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
  put(fmt::format("{} ", status));
  put(status_reason(status));
  put("\r\nServer: weir\r\nDate: ");
  put(http_date_now());
  put("\r\n");
  for (const auto& [name, value] : headers) {
    if (name.empty() || server_owned(name) || unsafe(name) || unsafe(value)) continue;
    put(name);
    put(": ");
    put(value);
    put("\r\n");
  }
  if (!opt.cors_origin.empty() && !unsafe(opt.cors_origin)) {
    if (!has_header(headers, "access-control-allow-origin")) {
      put("Access-Control-Allow-Origin: ");
      put(opt.cors_origin);
      put("\r\n");
    }
    if (!has_header(headers, "access-control-expose-headers"))
      put("Access-Control-Expose-Headers: Content-Length, Content-Range, Content-Type, Date, Server\r\n");
  }
  if (opt.content_length) put(fmt::format("Content-Length: {}\r\n", *opt.content_length));
  if (!opt.connection.empty()) {
    put("Connection: ");
    put(opt.connection);
    put("\r\n");
  }
  put("\r\n");
}

}  // namespace weir::origin::http
