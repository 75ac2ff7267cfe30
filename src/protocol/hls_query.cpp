#include "protocol/hls_query.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <map>
#include <vector>

#include "protocol/http_request_parser.h"

namespace weir::protocol {

namespace {

constexpr size_t kMaxParams = 64;
// Positions and delays beyond this are not time-shift requests but mistakes.
constexpr double kMaxSeconds = 100.0 * 365 * 24 * 3600;

core::Result<double> parse_seconds(std::string_view name, std::string_view v, bool allow_zero) {
  double d = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || !std::isfinite(d))
    return core::Status::errorf("{}: must be a number of seconds, got '{}'", name, v.substr(0, 32));
  if (d < 0 || (!allow_zero && d == 0))
    return core::Status::errorf("{}: must be {} 0, got '{}'", name, allow_zero ? ">=" : ">", v.substr(0, 32));
  if (d > kMaxSeconds) return core::Status::errorf("{}: {} is out of range", name, v.substr(0, 32));
  return d;
}

core::Result<uint64_t> parse_uint(std::string_view name, std::string_view v) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size())
    return core::Status::errorf("{}: must be a non-negative integer, got '{}'", name, v.substr(0, 32));
  return n;
}

}  // namespace

core::Result<HlsQuery> parse_hls_query(std::string_view raw) {
  // Split into decoded name/value pairs; a repeated known name is an error.
  std::map<std::string, std::string, std::less<>> params;
  size_t count = 0;
  while (!raw.empty()) {
    size_t amp = raw.find('&');
    std::string_view kv = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    if (kv.empty()) continue;
    if (++count > kMaxParams) return core::Status::error("query: too many parameters");
    size_t eq = kv.find('=');
    auto name = percent_decode(kv.substr(0, eq), true);
    auto value = eq == std::string_view::npos ? std::optional<std::string>("") : percent_decode(kv.substr(eq + 1), true);
    if (!name || !value) return core::Status::errorf("query: bad percent escape in '{}'", kv.substr(0, 32));
    if (!params.emplace(std::move(*name), std::move(*value)).second) return core::Status::errorf("query: '{}' given twice", kv.substr(0, std::min<size_t>(eq, 32)));
  }
  auto get = [&](std::string_view k) -> const std::string* {
    auto it = params.find(k);
    return it == params.end() ? nullptr : &it->second;
  };

  HlsQuery q;
  // Tencent aliases apply when txTimeshift=on; the native names always do.
  const std::string* tx = get("txTimeshift");
  const bool tencent = tx && *tx == "on";
  if (tx && !tencent && *tx != "off") return core::Status::errorf("txTimeshift: must be on or off, got '{}'", tx->substr(0, 32));
  if (tencent) {
    if (const std::string* f = get("tsFormat"); f && *f != "unix_s")
      return core::Status::errorf("tsFormat: only unix_s is supported, got '{}'", f->substr(0, 32));
  }
  struct Alias {
    const char* native;
    const char* tencent;
  };
  auto value_of = [&](Alias a, std::string& used) -> const std::string* {
    const std::string* n = get(a.native);
    const std::string* t = tencent ? get(a.tencent) : nullptr;
    if (n && t) {
      used = std::string(a.native) + "/" + a.tencent;
      return nullptr;
    }
    used = n ? a.native : a.tencent;
    return n ? n : t;
  };
  std::string used;
  const std::string* delay = value_of({"delay", "tsDelay"}, used);
  if (!delay && used.find('/') != std::string::npos) return core::Status::errorf("query: give {} once", used);
  if (delay) {
    auto d = parse_seconds(used, *delay, true);
    if (!d) return d.status();
    q.delay_s = *d;
  }
  const std::string* start = value_of({"start", "tsStart"}, used);
  if (!start && used.find('/') != std::string::npos) return core::Status::errorf("query: give {} once", used);
  if (start) {
    auto s = parse_seconds(used, *start, false);
    if (!s) return s.status();
    q.start_unix_s = *s;
  }
  const std::string* end = value_of({"end", "tsEnd"}, used);
  if (!end && used.find('/') != std::string::npos) return core::Status::errorf("query: give {} once", used);
  if (end) {
    auto e = parse_seconds(used, *end, false);
    if (!e) return e.status();
    q.end_unix_s = *e;
  }
  if (q.delay_s && q.start_unix_s) return core::Status::error("query: use delay or start, not both");
  if (q.end_unix_s && !q.start_unix_s) return core::Status::error("end: needs start");
  if (q.end_unix_s && q.start_unix_s && *q.end_unix_s <= *q.start_unix_s)
    return core::Status::error("end: must be after start");

  if (const std::string* m = get("_HLS_msn")) {
    auto n = parse_uint("_HLS_msn", *m);
    if (!n) return n.status();
    q.msn = *n;
  }
  if (const std::string* p = get("_HLS_part")) {
    if (!q.msn) return core::Status::error("_HLS_part: needs _HLS_msn");
    auto n = parse_uint("_HLS_part", *p);
    if (!n) return n.status();
    q.part = *n;
  }
  if (const std::string* s = get("_HLS_skip")) {
    if (*s == "YES") q.skip = true;
    else if (*s == "v2") q.skip = q.skip_v2 = true;
    else return core::Status::errorf("_HLS_skip: must be YES or v2, got '{}'", s->substr(0, 32));
  }
  if (q.timeshifted() && (q.msn || q.skip))
    return core::Status::error("query: LL-HLS directives do not apply to a time-shifted playlist");
  return q;
}

namespace {
std::string seconds_text(double s) {
  std::string t = fmt::format("{:.3f}", s);
  while (t.back() == '0') t.pop_back();
  if (t.back() == '.') t.pop_back();
  return t;
}
}  // namespace

std::string timeshift_query(const HlsQuery& q) {
  if (q.delay_s) return "delay=" + seconds_text(*q.delay_s);
  if (!q.start_unix_s) return {};
  std::string out = "start=" + seconds_text(*q.start_unix_s);
  if (q.end_unix_s) out += "&end=" + seconds_text(*q.end_unix_s);
  return out;
}

}  // namespace weir::protocol
