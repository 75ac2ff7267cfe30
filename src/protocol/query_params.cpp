#include "protocol/query_params.h"

#include "protocol/http_request_parser.h"

namespace weir::protocol {

core::Status append_query_params(std::string_view raw, QueryParams& out) {
  if (raw.size() > kMaxQueryBytes) return core::Status::errorf("query of {} bytes (at most {})", raw.size(), kMaxQueryBytes);
  core::Status st;
  for_each_query_item(raw, [&](std::string_view k, std::string_view v) {
    auto key = percent_decode(k, true);
    auto val = percent_decode(v, true);
    if (!key || !val)
      st = core::Status::errorf("malformed %-escape in query parameter '{}'", std::string(k.substr(0, 64)));
    else if (key->find('\0') != std::string::npos || val->find('\0') != std::string::npos)
      st = core::Status::errorf("NUL byte in query parameter '{}'", std::string(k.substr(0, 64)));
    else if (out.size() >= kMaxQueryParams)
      st = core::Status::errorf("more than {} query parameters", kMaxQueryParams);
    else
      out.emplace_back(std::move(*key), std::move(*val));
    return st.is_ok();
  });
  return st;
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
