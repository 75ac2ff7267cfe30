#include "record/record_api.h"

#include "origin/api/api_format.h"
#include "record/asset_id.h"

namespace weir::record {

namespace http = origin::http;
using origin::api::json_body;
using origin::api::only_params;
using origin::api::respond_error;
using origin::api::respond_json;
using origin::api::rfc3339_ms;

namespace {

nlohmann::json recording_json(const RecordingInfo& r) {
  nlohmann::json j = {{"asset", r.asset},
                      {"app", r.app},
                      {"stream", r.stream},
                      {"state", r.state},
                      {"started_at", rfc3339_ms(r.started_at_ms)},
                      {"bytes", r.bytes},
                      {"fragments", r.fragments},
                      {"segments", r.segments},
                      {"gaps", r.gaps},
                      {"started_by", r.api_started ? "api" : "config"}};
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

// 404/503 for a catalogue failure; the asset for a found one.
bool check_found(const http::ExchangeRef& ex, const core::Result<std::optional<Asset>>& r, const std::string& id) {
  if (!ex->alive()) return false;
  if (!r) {
    respond_error(ex, 503, "unavailable", r.error());
    return false;
  }
  if (!r.value()) {
    respond_error(ex, 404, "not_found", "no asset " + id);
    return false;
  }
  return true;
}

bool asset_id_param(const http::ExchangeRef& ex, std::string& id) {
  id = std::string(ex->param("asset"));
  if (!valid_asset_id(id)) {
    respond_error(ex, 400, "bad_request", "invalid asset id", "asset");
    return false;
  }
  return true;
}

// A catalogue list that failed: 400 for a cursor that is not one of its
// own (the catalogue says "cursor"), else 503.
void list_failed(const http::ExchangeRef& ex, const std::string& error) {
  if (error.find("cursor") != std::string::npos)
    return respond_error(ex, 400, "bad_request", "malformed cursor", "cursor");
  respond_error(ex, 503, "unavailable", error);
}

// GET /api/v1/assets/{asset}/thumbnails: the pictures taken while it
// recorded, oldest first (404 for an unknown asset).
void list_thumbnails(AssetStore* store, const http::ExchangeRef& ex) {
  protocol::QueryParams q;
  if (!only_params(ex, {"limit", "cursor"}, q)) return;
  const int64_t limit = origin::api::limit_param(ex, q);
  if (limit < 0) return;
  std::string id;
  if (!asset_id_param(ex, id)) return;
  std::string cursor;
  if (auto* v = protocol::find_query_param(q, "cursor")) cursor = *v;
  store->get(ex->loop(), id, [store, ex, id, limit, cursor](core::Result<std::optional<Asset>> a) {
    if (!check_found(ex, a, id)) return;
    store->thumbnails(ex->loop(), id, int(limit), cursor, [ex, id](core::Result<ThumbnailPage> r) {
      if (!ex->alive()) return;
      if (!r) return list_failed(ex, r.error());
      nlohmann::json items = nlohmann::json::array();
      for (const Thumbnail& t : r->items)
        items.push_back({{"time", rfc3339_ms(t.at_ms)},
                         {"offset_ms", t.offset_ms},
                         {"url", "/vod/" + id + "/" + t.file},
                         {"width", t.width},
                         {"height", t.height},
                         {"bytes", t.bytes}});
      respond_json(ex, 200,
                   {{"items", items},
                    {"next_cursor", r->next_cursor.empty() ? nlohmann::json() : nlohmann::json(r->next_cursor)}});
    });
  });
}

void list_assets(AssetStore* store, const http::ExchangeRef& ex) {
  protocol::QueryParams q;
  if (!only_params(ex, {"app", "stream", "state", "tag", "title", "from", "to", "limit", "cursor"}, q)) return;
  AssetQuery aq;
  const int64_t limit = origin::api::limit_param(ex, q);
  if (limit < 0) return;
  aq.limit = int(limit);
  if (auto* v = protocol::find_query_param(q, "app")) aq.app = *v;
  if (auto* v = protocol::find_query_param(q, "stream")) aq.stream = *v;
  if (auto* v = protocol::find_query_param(q, "tag")) aq.tag = *v;
  if (auto* v = protocol::find_query_param(q, "title")) aq.text = *v;
  if (auto* v = protocol::find_query_param(q, "cursor")) aq.cursor = *v;
  if (auto* v = protocol::find_query_param(q, "state")) {
    aq.state = asset_state_from_string(*v);
    if (!aq.state)
      return respond_error(ex, 400, "bad_request",
                           "state must be recording, merging, ready, failed, uploading or uploaded", "state");
  }
  for (const char* k : {"from", "to"}) {
    if (auto* v = protocol::find_query_param(q, k)) {
      auto t = origin::api::parse_time_ms(*v);
      if (!t) return respond_error(ex, 400, "bad_request", std::string(k) + ": an RFC 3339 time or Unix seconds", k);
      (std::string_view(k) == "from" ? aq.started_from_ms : aq.started_to_ms) = *t;
    }
  }
  store->list(ex->loop(), std::move(aq), [ex](core::Result<AssetPage> r) {
    if (!ex->alive()) return;
    if (!r) return list_failed(ex, r.error());
    nlohmann::json items = nlohmann::json::array();
    for (const Asset& a : r->items) items.push_back(asset_json(a));
    respond_json(ex, 200,
                 {{"items", items},
                  {"next_cursor", r->next_cursor.empty() ? nlohmann::json() : nlohmann::json(r->next_cursor)}});
  });
}

void patch_asset(AssetStore* store, const http::ExchangeRef& ex) {
  std::string id;
  if (!asset_id_param(ex, id)) return;
  auto body = json_body(ex, {"title", "description", "tags"});
  if (!body) return;
  const nlohmann::json& b = *body;
  for (const char* k : {"title", "description"})
    if (b.contains(k) && (!b[k].is_string() || b[k].get_ref<const std::string&>().size() > 4096))
      return respond_error(ex, 400, "bad_request", std::string(k) + " must be a string of at most 4096 bytes", k);
  std::vector<std::string> tags;
  if (b.contains("tags")) {
    if (!b["tags"].is_array() || b["tags"].size() > 64)
      return respond_error(ex, 400, "bad_request", "tags must be a list of at most 64 strings", "tags");
    for (const auto& t : b["tags"]) {
      if (!t.is_string() || t.get_ref<const std::string&>().empty() || t.get_ref<const std::string&>().size() > 128)
        return respond_error(ex, 400, "bad_request", "each tag must be a string of 1 to 128 bytes", "tags");
      tags.push_back(t.get<std::string>());
    }
  }
  store->edit(
      ex->loop(), id,
      [b, tags](Asset& a) -> core::Status {
        if (b.contains("title")) a.title = b["title"].get<std::string>();
        if (b.contains("description")) a.description = b["description"].get<std::string>();
        if (b.contains("tags")) a.tags = tags;
        return core::Status::ok();
      },
      [ex, id](core::Result<std::optional<Asset>> r) {
        if (!check_found(ex, r, id)) return;
        respond_json(ex, 200, asset_json(**r));
      });
}

}  // namespace

nlohmann::json asset_json(const Asset& a) {
  nlohmann::json j = {{"id", a.id},
                      {"app", a.app},
                      {"stream", a.stream},
                      {"state", std::string(to_string(a.state))},
                      {"started_at", rfc3339_ms(a.started_at_ms)},
                      {"ended_at", a.ended_at_ms ? nlohmann::json(rfc3339_ms(a.ended_at_ms)) : nlohmann::json()},
                      {"duration_s", a.duration_s},
                      {"bytes", a.bytes},
                      {"gaps", a.gaps},
                      {"title", a.title},
                      {"description", a.description},
                      {"tags", a.tags},
                      {"created_at", rfc3339_ms(a.created_at_ms)},
                      {"updated_at", rfc3339_ms(a.updated_at_ms)}};
  if (!a.video_codec.empty())
    j["video"] = {{"codec", a.video_codec}, {"width", a.width}, {"height", a.height}};
  if (!a.audio_codec.empty()) j["audio"] = {{"codec", a.audio_codec}};
  if (!a.error.empty()) j["error"] = a.error;
  if (!a.remote.empty()) j["remote"] = a.remote;
  // Paths on the players' listener.
  nlohmann::json urls = nlohmann::json::object();
  if (!a.mp4.empty()) urls["mp4"] = "/vod/" + a.id + ".mp4";
  if (!a.playlist.empty()) urls["hls"] = "/vod/" + a.id + "/index.m3u8";
  if (!a.cover.empty()) urls["cover"] = "/vod/" + a.id + "/cover.jpg";
  j["urls"] = urls;
  j["segments"] = a.segments.size();
  return j;
}

void add_record_api(http::Router& router, const core::ConfigStore& configs, AssetStore& store, RecordService& service) {
  AssetStore* st = &store;
  RecordService* rs = &service;
  auto g = origin::api::admin_group(router, configs, "record");
  g.add("GET", "/api/v1/assets", [st](http::ExchangeRef ex) { list_assets(st, ex); });
  g.add("GET", "/api/v1/assets/{asset}", [st](http::ExchangeRef ex) {
    protocol::QueryParams q;
    if (!only_params(ex, {}, q)) return;
    std::string id;
    if (!asset_id_param(ex, id)) return;
    st->get(ex->loop(), id, [ex, id](core::Result<std::optional<Asset>> r) {
      if (!check_found(ex, r, id)) return;
      respond_json(ex, 200, asset_json(**r));
    });
  });
  g.add("GET", "/api/v1/assets/{asset}/thumbnails", [st](http::ExchangeRef ex) { list_thumbnails(st, ex); });
  g.add("PATCH", "/api/v1/assets/{asset}", [st](http::ExchangeRef ex) { patch_asset(st, ex); });
  g.add("DELETE", "/api/v1/assets/{asset}", [st](http::ExchangeRef ex) {
    std::string id;
    if (!asset_id_param(ex, id)) return;
    st->remove(ex->loop(), id, [ex, id](core::Result<bool> r) {
      if (!ex->alive()) return;
      if (!r) {
        if (r.error().rfind("busy:", 0) == 0) return respond_error(ex, 409, "conflict", r.error().substr(6));
        return respond_error(ex, 503, "unavailable", r.error());
      }
      if (!*r) return respond_error(ex, 404, "not_found", "no asset " + id);
      ex->respond(204, {{"Cache-Control", "no-store"}}, std::string());
    });
  });
  g.add("GET", "/api/v1/recordings", [rs](http::ExchangeRef ex) {
    protocol::QueryParams q;
    if (!only_params(ex, {}, q)) return;
    nlohmann::json items = nlohmann::json::array();
    for (const auto& r : rs->list()) items.push_back(recording_json(r));
    respond_json(ex, 200, {{"items", items}, {"next_cursor", nullptr}});
  });
  g.add("POST", "/api/v1/recordings", [rs](http::ExchangeRef ex) {
    auto body = json_body(ex, {"app", "stream"});
    if (!body) return;
    for (const char* k : {"app", "stream"})
      if (!body->contains(k) || !(*body)[k].is_string())
        return respond_error(ex, 400, "bad_request", std::string(k) + " is required (a string)", k);
    auto r = rs->start((*body)["app"].get<std::string>(), (*body)["stream"].get<std::string>());
    if (!r) {
      const std::string& e = r.error();
      if (e.rfind("conflict: ", 0) == 0) return respond_error(ex, 409, "conflict", e.substr(10));
      if (e.rfind("not_found: ", 0) == 0) return respond_error(ex, 404, "not_found", e.substr(11));
      return respond_error(ex, 503, "unavailable", e);
    }
    respond_json(ex, 201, recording_json(*r));
  });
  g.add("DELETE", "/api/v1/recordings/{asset}", [rs, st](http::ExchangeRef ex) {
    std::string id;
    if (!asset_id_param(ex, id)) return;
    if (!rs->stop(id)) return respond_error(ex, 404, "not_found", "no recording in progress into asset " + id);
    // 202: the asset is being finalized; poll GET /api/v1/assets/{asset}.
    st->get(ex->loop(), id, [ex, id](core::Result<std::optional<Asset>> r) {
      if (!check_found(ex, r, id)) return;
      respond_json(ex, 202, asset_json(**r));
    });
  });
}

void add_record_stream_fields(origin::api::AdminExtensions& ext, RecordService& service) {
  RecordService* rs = &service;
  ext.stream_fields.push_back([rs](const std::string& app, const std::string& stream, nlohmann::json& rec) {
    auto r = rs->for_stream(app, stream);
    rec["recording"] = r ? recording_json(*r) : nlohmann::json();
  });
}

}  // namespace weir::record
