#include "cluster/discovery_keys.h"

#include "edge/upstream_url.h"

namespace weir::cluster {

std::string stream_key(std::string_view prefix, std::string_view app, std::string_view stream) {
  std::string k;
  k.reserve(prefix.size() + app.size() + 1 + stream.size());
  k.append(prefix).append(app).append("/").append(stream);
  return k;
}

bool plausible_pull_url(std::string_view v) {
  if (v.empty() || v.size() > kMaxUrlLength) return false;
  size_t host = 0;
  if (v.rfind("rtmp://", 0) == 0) host = 7;
  else if (v.rfind("rtmps://", 0) == 0) host = 8;
  else if (v.rfind("http://", 0) == 0) host = 7;
  else return false;
  if (host >= v.size() || v[host] == '/' || v[host] == ':') return false;
  for (char c : v)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
  return true;
}

uint64_t refresh_period_ms(int64_t ttl_ms) { return ttl_ms > 3 ? uint64_t(ttl_ms / 3) : 1; }

uint64_t reconnect_delay_ms(uint32_t failures) { return uint64_t(edge::upstream_backoff_ms(250, 8000, failures)); }

}  // namespace weir::cluster
