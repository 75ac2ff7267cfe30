#include "protocol/query_params.h"

#include "protocol/http_request_parser.h"

namespace weir::protocol {

core::Status append_query_params(std::string_view raw, QueryParams& out) {
  if (raw.size() > kMaxQueryBytes) return core::Status::errorf("query of {} bytes (at most {})", raw.size(), kMaxQueryBytes);
  while (!raw.empty()) {
    size_t amp = raw.find('&');
    std::string_view item = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string_view k = item.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    auto key = percent_decode(k, true);
    auto val = percent_decode(v, true);
    if (!key || !val)
      return core::Status::errorf("malformed %-escape in query parameter '{}'", std::string(k.substr(0, 64)));
    if (key->find('\0') != std::string::npos || val->find('\0') != std::string::npos)
      return core::Status::errorf("NUL byte in query parameter '{}'", std::string(k.substr(0, 64)));
    if (out.size() >= kMaxQueryParams) return core::Status::errorf("more than {} query parameters", kMaxQueryParams);
    out.emplace_back(std::move(*key), std::move(*val));
  }
  return core::Status::ok();
}

core::Result<QueryParams> parse_query_params(std::string_view raw) {
  QueryParams out;
  if (core::Status st = append_query_params(raw, out); !st) return st;
  return out;
}

const std::string* find_query_param(const QueryParams& params, std::string_view key) {
  for (const auto& [k, v] : params)
    if (k == key) return &v;
  return nullptr;
}

}  // namespace weir::protocol
