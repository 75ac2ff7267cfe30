#include "edge/forward_url.h"

#include <fmt/format.h>

#include "edge/upstream_url.h"
#include "protocol/url.h"

namespace weir::edge {

core::Result<std::string> forward_destination(std::string_view tmpl, std::string_view app, std::string_view stream) {
  const bool srt = tmpl.rfind("srt://", 0) == 0;
  if (!srt && tmpl.rfind("rtmp://", 0) != 0 && tmpl.rfind("rtmps://", 0) != 0)
    return core::Status::error("not an rtmp://, rtmps:// or srt:// URL");
  if (tmpl.size() > 2048) return core::Status::error("longer than 2048 bytes");
  for (char c : tmpl)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return core::Status::error("holds spaces or control characters");
  auto t = expand_upstream_url(tmpl, app, stream, {});
  if (!t) return t.status();
  if (t->url.find_first_of("{}") != std::string::npos)
    return core::Status::error("has an unknown placeholder ({app} and {stream} are known)");
  if (srt) return std::move(t->url);  // parsed (core/srt_url.h) by the expansion
  auto u = protocol::parse_url(t->url);
  if (!u) return core::Status::errorf("not a URL: {}", u.error());
  if (u->host.empty()) return core::Status::error("has no host");
  auto rt = protocol::rtmp_target(*u);
  if (!rt) return core::Status::errorf("not an RTMP publish URL: {}", rt.error());
  if (rt->app.empty() || rt->stream.empty() || rt->stream.front() == '?')
    return core::Status::error("needs an app and a stream name: rtmp://HOST[:PORT]/APP/STREAM");
  return std::move(t->url);
}

namespace {
// Appends `query` to `out` with every value hidden ("key=***"; a bare item:
// "***"), except the value of `shown_key` (when not empty).
void append_redacted_query(std::string& out, std::string_view query, std::string_view shown_key) {
  char sep = '?';
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    const size_t eq = item.find('=');
    out += sep;
    sep = '&';
    if (eq == std::string_view::npos) out += "***";
    else if (!shown_key.empty() && item.substr(0, eq) == shown_key) out.append(item);
    else out.append(item.substr(0, eq)).append("=***");
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}
}  // namespace

std::string redact_forward_url(std::string_view url, std::string_view stream) {
  const size_t q = url.find('?');
  if (url.rfind("srt://", 0) == 0) {
    // The stream id names the stream (as the RTMP path does): shown; every
    // other value (the passphrase) is not.
    std::string out(url.substr(0, q));
    if (q != std::string_view::npos) append_redacted_query(out, url.substr(q + 1), "streamid");
    return out;
  }
  std::string_view base = url.substr(0, q);
  std::string out;
  const size_t scheme = base.find("://");
  const size_t path = scheme == std::string_view::npos ? std::string_view::npos : base.find('/', scheme + 3);
  const size_t last = base.rfind('/');
  if (path != std::string_view::npos && last > path) {
    std::string_view name = base.substr(last + 1);
    out.assign(base.substr(0, last + 1));
    out += (name.empty() || name == stream || name == "{stream}") ? std::string(name) : std::string("***");
  } else {
    out.assign(base);
  }
  if (q != std::string_view::npos) append_redacted_query(out, url.substr(q + 1), {});
  return out;
}

std::string forward_id(uint64_t n) { return fmt::format("fw{:010d}", n); }

bool valid_forward_id(std::string_view id) {
  if (id.size() != 12 || id.substr(0, 2) != "fw") return false;
  for (char c : id.substr(2))
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace weir::edge
