#include "origin/api/client_api.h"

#include <algorithm>
#include <charconv>

#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "origin/api/api_format.h"
#include "origin/origin.h"
#include "origin/registry.h"
#include "origin/stream_hub.h"

namespace weir::origin::api {

namespace {

// The protocols whose connections register (client_registry.h).
constexpr AccessProtocol kClientProtocols[] = {AccessProtocol::kRtmp, AccessProtocol::kSrt, AccessProtocol::kHttpFlv,
                                               AccessProtocol::kWsFlv, AccessProtocol::kHttpTs};

// Ids are opaque to callers but validated before use: URL-safe, 1..64.
bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char ch : id)
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_'))
      return false;
  return true;
}

// The {id} of the route, answered 400 when malformed and 404 when unknown.
std::optional<ClientInfo> client_param(Origin& origin, const http::ExchangeRef& ex) {
  std::string_view id = ex->param("id");
  if (!valid_id(id)) {
    respond_error(ex, 400, "bad_request", "malformed client id", "id");
    return std::nullopt;
  }
  auto c = origin.clients().find(id);
  if (!c) respond_error(ex, 404, "not_found", "no client " + std::string(id));
  return c;
}

void list_clients(Origin& origin, const http::ExchangeRef& ex) {
  protocol::QueryParams q;
  if (!only_params(ex, {"limit", "cursor", "app", "stream", "protocol", "role", "ip"}, q)) return;
  const int64_t limit = limit_param(ex, q);
  if (limit < 0) return;
  std::string after;
  if (!cursor_param(ex, q, after)) return;
  ClientFilter f;
  for (auto [key, field] : {std::pair{"app", &f.app}, std::pair{"stream", &f.stream}, std::pair{"protocol", &f.protocol},
                            std::pair{"role", &f.role}, std::pair{"ip", &f.ip}})
    if (const std::string* v = protocol::find_query_param(q, key)) *field = *v;
  if (!f.protocol.empty()) {
    bool known = false;
    for (AccessProtocol p : kClientProtocols) known = known || access_protocol_name(p) == f.protocol;
    if (!known)
      return respond_error(ex, 400, "bad_request", "protocol must be rtmp, srt, http-flv, ws-flv or http-ts", "protocol");
  }
  if (!f.role.empty() && f.role != "publish" && f.role != "play")
    return respond_error(ex, 400, "bad_request", "role must be publish or play", "role");
  ClientRegistry::Page page = origin.clients().list(f, after, size_t(limit));
  const int64_t now = core::wall_clock_ms();
  nlohmann::json items = nlohmann::json::array();
  for (const ClientInfo& c : page.items) items.push_back(client_json(c, now));
  nlohmann::json next;
  if (page.more && !page.items.empty()) next = encode_cursor(page.items.back().id);
  respond_json(ex, 200, {{"items", items}, {"next_cursor", next}});
}

void close_client(Origin& origin, const http::ExchangeRef& ex) {
  protocol::QueryParams q;
  if (!only_params(ex, {}, q)) return;
  auto c = client_param(origin, ex);
  if (!c) return;
  switch (origin.clients().close(c->id, "closed by the API")) {
    case ClientRegistry::CloseResult::kNotFound:
      return respond_error(ex, 404, "not_found", "no client " + c->id);
    case ClientRegistry::CloseResult::kRefused:
      return respond_error(ex, 503, "unavailable", "the client's loop refused the close; try again");
    case ClientRegistry::CloseResult::kPosted:
      break;
  }
  spdlog::info("api: {} {} client {} of {}/{} from {} closed by the API (peer {})", access_protocol_name(c->protocol),
               client_role_name(c->role), c->id, c->app, c->stream, c->remote, ex->peer());
  nlohmann::json j = client_json(*c, core::wall_clock_ms());
  j["state"] = "closing";
  respond_json(ex, 202, j);
}

void drop_stream(Origin& origin, const AdminExtensions* ext, const http::ExchangeRef& ex) {
  protocol::QueryParams q;
  if (!only_params(ex, {"block_s"}, q)) return;
  int64_t block_s = -1;
  if (const std::string* v = protocol::find_query_param(q, "block_s")) {
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), block_s);
    if (ec != std::errc() || end != v->data() + v->size() || block_s < 0 || block_s > StreamBlocks::kMaxBlockSeconds)
      return respond_error(ex, 400, "bad_request", "block_s must be 0 to 86400", "block_s");
  }
  std::string app(ex->param("app")), stream(ex->param("stream"));
  auto hub = origin.registry().find(app, stream);
  if (!hub) return respond_error(ex, 404, "not_found", "no stream " + app + "/" + stream);
  // Block first, so that a publisher reconnecting the moment it is closed is
  // refused already.
  int64_t until = 0;
  if (block_s >= 0) {
    until = core::wall_clock_ms() + block_s * 1000;
    if (!origin.blocks().block(app, stream, until))
      return respond_error(ex, 503, "unavailable", "too many publish blocks in force; try again later");
  }
  const StreamStats before = hub->stats();
  hub->end("dropped by the API");
  spdlog::info("api: stream {}/{} dropped by the API (publisher {} {}){} (peer {})", app, stream,
               before.publisher_protocol, before.publisher_peer,
               block_s > 0 ? ", publishing blocked until " + rfc3339_ms(until) : "", ex->peer());
  nlohmann::json j = stream_record(hub->stats(), ext);
  j["ended"] = true;
  j["blocked_until"] = block_s > 0 ? nlohmann::json(rfc3339_ms(until)) : nlohmann::json();
  respond_json(ex, 200, j);
}

}  // namespace

nlohmann::json client_json(const ClientInfo& c, int64_t now_ms) {
  return {{"id", c.id},
          {"protocol", access_protocol_name(c.protocol)},
          {"role", client_role_name(c.role)},
          {"app", c.app},
          {"stream", c.stream},
          {"remote", c.remote},
          {"started_at", rfc3339_ms(c.started_at_ms)},
          {"duration_ms", std::max<int64_t>(0, now_ms - c.started_at_ms)},
          {"bytes_in", c.bytes_in},
          {"bytes_out", c.bytes_out},
          {"loop", c.loop}};
}

nlohmann::json client_event_json(const ClientEvent& e) {
  const ClientInfo& c = e.client;
  nlohmann::json j = {{"id", c.id},
                      {"protocol", access_protocol_name(c.protocol)},
                      {"role", client_role_name(c.role)},
                      {"app", c.app},
                      {"stream", c.stream},
                      {"remote", c.remote},
                      {"started_at", rfc3339_ms(c.started_at_ms)}};
  if (!e.connected) {
    j["bytes_in"] = c.bytes_in;
    j["bytes_out"] = c.bytes_out;
    j["duration_ms"] = e.duration_ms;
    j["reason"] = e.reason;
  }
  return j;
}

void add_client_routes(http::Router::Group& g, Origin& origin, const AdminExtensions* ext) {
  Origin* o = &origin;
  g.add("GET", "/api/v1/clients", [o](http::ExchangeRef ex) { list_clients(*o, ex); });
  g.add("GET", "/api/v1/clients/{id}", [o](http::ExchangeRef ex) {
    protocol::QueryParams q;
    if (!only_params(ex, {}, q)) return;
    if (auto c = client_param(*o, ex)) respond_json(ex, 200, client_json(*c, core::wall_clock_ms()));
  });
  g.add("DELETE", "/api/v1/clients/{id}", [o](http::ExchangeRef ex) { close_client(*o, ex); });
  g.add("DELETE", "/api/v1/streams/{app}/{stream}", [o, ext](http::ExchangeRef ex) { drop_stream(*o, ext, ex); });
}

}  // namespace weir::origin::api
