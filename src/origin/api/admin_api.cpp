#include "origin/api/admin_api.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/net.h"
#include "origin/origin.h"
#include "origin/stream_hub.h"
#include "origin/api/api_format.h"
#include "origin/api/stream_media.h"
#include "origin/api/client_api.h"

namespace weir::origin::api {

namespace {

constexpr int64_t kDefaultLimit = 50;
constexpr int64_t kMaxLimit = 1000;

const char* code_for(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413: return "too_large";
    case 415: return "unsupported_media_type";
    case 429: return "too_many_requests";
    case 503: return "unavailable";
  }
  return "error";
}

// Constant time for tokens of equal length; a length mismatch leaks only
// that the lengths differ.
bool token_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

enum class Role { kNone, kRead, kAdmin };

Role role_of(const core::ApiConfig& cfg, std::string_view presented) {
  Role found = Role::kNone;
  // Every token is compared, so the time does not say which one matched.
  for (const auto& t : cfg.admin_tokens())
    if (token_equal(t, presented)) found = Role::kAdmin;
  for (const auto& t : cfg.read_tokens())
    if (token_equal(t, presented) && found == Role::kNone) found = Role::kRead;
  return found;
}

bool is_loopback_peer(std::string_view peer) {
  std::string host(peer.substr(0, peer.rfind(':')));
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  auto a = core::numeric_address(host, 0);
  return a && core::is_loopback(*a);
}

void guard(const core::ApiConfig& cfg, const http::ExchangeRef& ex, std::function<void()> proceed) {
  const bool tokens = !cfg.token.empty() || !cfg.read_token.empty();
  if (!tokens) {
    if (is_loopback_peer(ex->peer())) return proceed();
    return respond_error(ex, 403, "forbidden", "the admin API without a token answers loopback clients only");
  }
  std::string_view auth = ex->request().header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() <= kBearer.size() || auth.substr(0, kBearer.size()) != kBearer) {
    ex->respond(401, {{"Content-Type", "application/json"}, {"WWW-Authenticate", "Bearer"}},
                nlohmann::json{{"error", {{"code", "unauthorized"}, {"message", "missing bearer token"}}}}.dump() + "\n");
    return;
  }
  Role role = role_of(cfg, auth.substr(kBearer.size()));
  if (role == Role::kNone) {
    ex->respond(401, {{"Content-Type", "application/json"}, {"WWW-Authenticate", "Bearer error=\"invalid_token\""}},
                nlohmann::json{{"error", {{"code", "unauthorized"}, {"message", "invalid token"}}}}.dump() + "\n");
    return;
  }
  const std::string& m = ex->request().method;
  if (role == Role::kRead && m != "GET" && m != "HEAD")
    return respond_error(ex, 403, "forbidden", "a read token cannot change anything");
  proceed();
}

nlohmann::json stream_json(const StreamStats& s) {
  return {{"app", s.app},
          {"name", s.name},
          {"live", s.live},
          {"publisher", {{"peer", s.publisher_peer}, {"protocol", s.publisher_protocol}}},
          {"published_at", rfc3339_ms(s.published_at_ms)},
          {"publishes", s.publishes},
          {"packets", s.packets},
          {"bytes", s.bytes},
          {"video_frames", s.video_frames},
          {"keyframes", s.keyframes},
          {"audio_frames", s.audio_frames},
          {"last_dts_ms", s.last_dts},
          {"loops_attached", s.loops},
          {"ring", {{"packets", s.ring_packets}, {"bytes", s.ring_bytes}, {"duration_ms", s.ring_ms}}}};
}

}  // namespace

nlohmann::json stream_record(const StreamStats& s, const AdminExtensions* ext) {
  nlohmann::json j = stream_json(s);
  if (ext)
    for (const auto& f : ext->stream_fields) f(s.app, s.name, j);
  return j;
}

namespace {

void list_streams(Origin& origin, const AdminExtensions* ext, const http::ExchangeRef& ex) {
  protocol::QueryParams q;
  if (!only_params(ex, {"limit", "cursor", "app"}, q)) return;
  const int64_t limit = limit_param(ex, q);
  if (limit < 0) return;
  std::string after;
  if (!cursor_param(ex, q, after)) return;
  const std::string* app = protocol::find_query_param(q, "app");
  auto hubs = origin.registry().list();  // sorted by key
  nlohmann::json items = nlohmann::json::array();
  std::string last;
  bool more = false;
  for (const auto& hub : hubs) {
    if (!after.empty() && hub->key() <= after) continue;
    if (app && hub->app() != *app) continue;
    if (int64_t(items.size()) == limit) {
      more = true;
      break;
    }
    items.push_back(stream_record(hub->stats(), ext));
    add_stream_media(origin, *hub, false, items.back());
    last = hub->key();
  }
  respond_json(ex, 200, {{"items", items}, {"next_cursor", more ? nlohmann::json(encode_cursor(last)) : nlohmann::json()}});
}

void get_stream(Origin& origin, const AdminExtensions* ext, const http::ExchangeRef& ex) {
  protocol::QueryParams q;
  if (!only_params(ex, {}, q)) return;
  auto hub = origin.registry().find(ex->param("app"), ex->param("stream"));
  if (!hub)
    return respond_error(ex, 404, "not_found",
                         "no stream " + std::string(ex->param("app")) + "/" + std::string(ex->param("stream")));
  nlohmann::json j = stream_record(hub->stats(), ext);
  add_stream_media(origin, *hub, true, j);
  respond_json(ex, 200, j);
}

}  // namespace

void respond_json(const http::ExchangeRef& ex, int status, const nlohmann::json& body) {
  ex->respond(status, {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}}, body.dump() + "\n");
}

// The query parameters a route takes; anything else is refused naming it.
bool only_params(const http::ExchangeRef& ex, std::initializer_list<std::string_view> allowed,
                 protocol::QueryParams& out) {
  auto q = protocol::parse_query_params(ex->request().query);
  if (!q) {
    respond_error(ex, 400, "bad_request", q.error());
    return false;
  }
  for (const auto& [k, v] : *q) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      respond_error(ex, 400, "bad_request", "unknown query parameter '" + k + "'", k);
      return false;
    }
  }
  out = std::move(*q);
  return true;
}

std::optional<nlohmann::json> json_body(const http::ExchangeRef& ex, std::initializer_list<std::string_view> allowed) {
  std::string_view type = ex->request().header("content-type");
  if (auto semi = type.find(';'); semi != std::string_view::npos) type = type.substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  const auto& body = ex->request().body;
  if (body.empty()) return nlohmann::json::object();
  if (type != "application/json") {
    respond_error(ex, 415, "unsupported_media_type", "the body must be application/json");
    return std::nullopt;
  }
  nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    respond_error(ex, 400, "bad_request", "the body is not a JSON object");
    return std::nullopt;
  }
  for (const auto& [k, v] : j.items()) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      respond_error(ex, 400, "bad_request", "unknown field '" + k + "'", k);
      return std::nullopt;
    }
  }
  return j;
}

int64_t limit_param(const http::ExchangeRef& ex, const protocol::QueryParams& q) {
  int64_t limit = kDefaultLimit;
  if (const std::string* l = protocol::find_query_param(q, "limit")) {
    auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
    if (ec != std::errc() || end != l->data() + l->size() || limit < 1 || limit > kMaxLimit) {
      respond_error(ex, 400, "bad_request", "limit must be 1 to 1000", "limit");
      return -1;
    }
  }
  return limit;
}

bool cursor_param(const http::ExchangeRef& ex, const protocol::QueryParams& q, std::string& after) {
  after.clear();
  if (const std::string* c = protocol::find_query_param(q, "cursor")) {
    auto decoded = decode_cursor(*c);
    if (!decoded) {
      respond_error(ex, 400, "bad_request", "malformed cursor", "cursor");
      return false;
    }
    after = std::move(*decoded);
  }
  return true;
}

void respond_page(const http::ExchangeRef& ex, const PageFn& page) {
  protocol::QueryParams q;
  if (!only_params(ex, {"limit", "cursor"}, q)) return;
  const int64_t limit = limit_param(ex, q);
  if (limit < 0) return;
  std::string after;
  if (!cursor_param(ex, q, after)) return;
  bool more = false;
  std::string last;
  nlohmann::json items = page(after, size_t(limit), more, last);
  nlohmann::json next;
  if (more) next = encode_cursor(last);
  respond_json(ex, 200, {{"items", std::move(items)}, {"next_cursor", next}});
}

http::Router::Group admin_group(http::Router& router, const core::ConfigStore& configs, std::string name) {
  const core::ConfigStore* c = &configs;
  return router.group(std::move(name), [c](const http::ExchangeRef& ex, std::function<void()> proceed) {
    const std::shared_ptr<const core::Config> now = c->current();  // tokens as of the last reload
    guard(now->api, ex, std::move(proceed));
  });
}

void respond_error(const http::ExchangeRef& ex, int status, std::string_view code, std::string_view message,
                   std::string_view field) {
  nlohmann::json err = {{"code", code}, {"message", message}};
  if (!field.empty()) err["field"] = field;
  respond_json(ex, status, {{"error", err}});
}

std::shared_ptr<http::Router> build_admin_routes(Origin& origin, std::string version, std::string openapi_yaml,
                                                 const AdminExtensions* ext) {
  auto r = std::make_shared<http::Router>();
  r->set_fallback([](const http::ExchangeRef& ex, int status, const std::string& allow) {
    if (status == 405) {
      ex->respond(405, {{"Content-Type", "application/json"}, {"Allow", allow}},
                  nlohmann::json{{"error", {{"code", "method_not_allowed"}, {"message", "allowed: " + allow}}}}.dump() +
                      "\n");
      return;
    }
    respond_error(ex, status, code_for(status), "no such route: " + ex->request().path);
  });
  const int64_t started = core::wall_clock_ms();
  Origin* o = &origin;
  auto g = admin_group(*r, origin.config_store(), "api");
  g.add("GET", "/api/v1/version", [version, started](http::ExchangeRef ex) {
    respond_json(ex, 200, {{"version", version}, {"started_at", rfc3339_ms(started)}});
  });
  g.add("GET", "/api/v1/streams", [o, ext](http::ExchangeRef ex) { list_streams(*o, ext, ex); });
  g.add("GET", "/api/v1/streams/{app}/{stream}", [o, ext](http::ExchangeRef ex) { get_stream(*o, ext, ex); });
  add_client_routes(g, origin, ext);
  g.add("GET", "/api/v1/openapi.yaml", [doc = std::move(openapi_yaml)](http::ExchangeRef ex) {
    ex->respond(200, {{"Content-Type", "application/yaml"}, {"Cache-Control", "no-store"}}, doc);
  });
  return r;
}

}  // namespace weir::origin::api
