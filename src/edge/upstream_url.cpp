#include "edge/upstream_url.h"

#include <algorithm>
#include "core/config.h"
#include "edge/via.h"
#include "protocol/url_signing.h"

namespace weir::edge {

namespace {
void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}
}  // namespace

core::Result<UpstreamTarget> expand_upstream_url(std::string_view tmpl, std::string_view app, std::string_view stream,
                                                 std::string_view token) {
  UpstreamTarget t;
  if (tmpl.rfind("rtmp://", 0) == 0 || tmpl.rfind("rtmps://", 0) == 0) t.kind = UpstreamKind::kRtmp;
  else if (tmpl.rfind("http://", 0) == 0) t.kind = UpstreamKind::kHttpFlv;
  else if (tmpl.rfind("srt://", 0) == 0) t.kind = UpstreamKind::kSrt;
  else return core::Status::errorf("upstream URL '{}' is not rtmp://, rtmps://, http:// or srt://", tmpl);
  if (app.empty() || stream.empty()) return core::Status::error("upstream URL: empty app or stream name");
  t.url = std::string(tmpl);
  replace_all(t.url, "{app}", app);
  replace_all(t.url, "{stream}", stream);
  while (!token.empty() && (token.front() == '?' || token.front() == '&')) token.remove_prefix(1);
  if (t.kind == UpstreamKind::kSrt) {
    auto u = core::parse_srt_url(t.url);
    if (!u) return core::Status::errorf("upstream URL: {}", u.error());
    t.srt = std::move(*u);
    if (t.srt.streamid.rfind("#!::", 0) == 0) {
      while (!token.empty()) {
        const size_t amp = token.find('&');
        std::string item(token.substr(0, amp));
        token = amp == std::string_view::npos ? std::string_view() : token.substr(amp + 1);
        if (item.empty() || item.find('=') == std::string::npos) continue;
        std::replace(item.begin(), item.end(), ',', '+');
        if (t.srt.streamid.size() + 1 + item.size() > 512)
          return core::Status::error("upstream URL: the stream id with the token passes 512 bytes");
        t.srt.streamid += ',';
        t.srt.streamid += item;
      }
    }
    return t;
  }
  if (!token.empty()) {
    t.url += t.url.find('?') == std::string::npos ? '?' : '&';
    t.url += token;
  }
  return t;
}

std::string upstream_query(const core::UpstreamConfig& up, std::string_view app, std::string_view stream,
                           std::string_view via, int64_t now_s) {
  std::string q = up.token;
  auto add = [&q](std::string_view kv) {
    if (!q.empty()) q += '&';
    q += kv;
  };
  if (!up.sign_key.empty()) {
    const int64_t expires = now_s + up.sign_ttl_s;
    add("expires=" + std::to_string(expires) + "&token=" +
        protocol::make_url_token(up.sign_key, protocol::SignDirection::kPlay, app, stream, expires, ""));
  }
  if (!via.empty()) add(std::string(kViaParam) + "=" + std::string(via));
  return q;
}

UpstreamPolicy parse_upstream_policy(std::string_view s) {
  if (s == "round_robin") return UpstreamPolicy::kRoundRobin;
  if (s == "hash") return UpstreamPolicy::kHash;
  return UpstreamPolicy::kInOrder;
}

std::vector<size_t> upstream_order(UpstreamPolicy policy, size_t n, std::string_view stream, uint64_t ticket,
                                   const std::vector<bool>& healthy) {
  std::vector<size_t> out;
  if (n == 0) return out;
  size_t first = 0;
  if (policy == UpstreamPolicy::kRoundRobin) {
    first = size_t(ticket % n);
  } else if (policy == UpstreamPolicy::kHash) {
    uint64_t h = 14695981039346656037ull;  // FNV-1a: stable across processes and builds
    for (unsigned char c : stream) h = (h ^ c) * 1099511628211ull;
    first = size_t(h % n);
  }
  out.reserve(n);
  for (int pass = 0; pass < 2; ++pass)
    for (size_t i = 0; i < n; ++i) {
      size_t k = (first + i) % n;
      const bool ok = healthy.size() != n || healthy[k];
      if ((pass == 0) == ok) out.push_back(k);
    }
  return out;
}

int64_t upstream_backoff_ms(int64_t base_ms, int64_t max_ms, uint32_t round) {
  int64_t v = base_ms;
  for (uint32_t i = 0; i < round && v < max_ms; ++i) v *= 2;
  return v < max_ms ? v : max_ms;
}

}  // namespace weir::edge
