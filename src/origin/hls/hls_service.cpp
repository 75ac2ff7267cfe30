#include "core/clock.h"
#include "origin/hls/hls_service.h"

#include <charconv>
#include <chrono>

#include <spdlog/spdlog.h>

#include "core/async_fs.h"
#include "core/timer.h"
#include "origin/http_admission.h"
#include "origin/http_play.h"
#include "origin/hls/cache_policy.h"
#include "origin/hls/packager.h"
#include "origin/hls/playlist.h"
#include "origin/hls/stream_hls.h"
#include "origin/origin.h"
#include "origin/signed_url_check.h"
#include "origin/stream_hub.h"
#include "protocol/hls_query.h"
#include "protocol/url_signing.h"

namespace weir::origin::hls {

namespace {

constexpr const char* kPlaylistType = "application/vnd.apple.mpegurl";
constexpr size_t kMaxSegmentFile = 256 << 20;

// A media file (segment, part, init): its URL never names other bytes, so
// the file name is a strong validator; If-None-Match gets a 304.
// `cc` is the app's cache_control(CacheKind::kMedia).
void respond_media(const http::ExchangeRef& ex, const char* type, const std::string& cc, const std::string& etag,
                   const core::Slice& bytes) {
  if (etag_matches(ex->request().header("if-none-match"), etag))
    return ex->respond(304, {{"ETag", etag}, {"Cache-Control", cc}}, std::string());
  ex->respond(200, {{"Content-Type", type}, {"Cache-Control", cc}, {"ETag", etag}}, bytes);
}

std::string media_etag(std::string_view prefix, uint64_t a, std::string_view suffix) {
  return fmt::format("\"{}{}{}\"", prefix, a, suffix);
}

// A request held until a WaitTarget is met or a timeout passes.
struct Hold {
  std::shared_ptr<StreamHls> store;
  http::ExchangeRef ex;
  uint64_t id = 0;
  bool done = false;
  core::Timer timer;
  Hold(std::shared_ptr<StreamHls> s, http::ExchangeRef e, core::Loop& loop)
      : store(std::move(s)), ex(std::move(e)), timer(loop) {}
};

// Runs `then` once `t` is satisfied, or `timeout` after `ms`. The held
// request costs a registration in the store and a timer, nothing per packet.
void hold(const std::shared_ptr<StreamHls>& store, const http::ExchangeRef& ex, WaitTarget t, uint64_t ms,
          std::function<void()> then, std::function<void()> timeout) {
  if (store->satisfied(t)) return then();
  core::Loop& loop = ex->loop();
  auto h = std::make_shared<Hold>(store, ex, loop);
  std::weak_ptr<Hold> weak = h;
  h->id = store->wait(t, loop, [h, then] {
    if (h->done) return;
    h->done = true;
    h->timer.stop();
    if (h->ex->alive()) then();
  });
  if (!h->id) return ex->respond_text(503, "too many held requests for this stream");
  h->timer.start(ms, [weak, timeout] {
    auto p = weak.lock();
    if (!p || p->done) return;
    p->done = true;
    p->store->cancel_wait(p->id);
    if (p->ex->alive()) timeout();
  });
  ex->on_abort([weak] {
    auto p = weak.lock();
    if (!p || p->done) return;
    p->done = true;
    p->timer.stop();
    p->store->cancel_wait(p->id);
  });
}

void respond_cached(const http::ExchangeRef& ex, const core::Slice& body, const std::string& etag, std::string cc) {
  if (etag_matches(ex->request().header("if-none-match"), etag)) {
    ex->respond(304, {{"ETag", etag}, {"Cache-Control", std::move(cc)}}, std::string());
    return;
  }
  ex->respond(200, {{"Content-Type", kPlaylistType}, {"Cache-Control", std::move(cc)}, {"ETag", etag}}, body);
}

// A playlist of a signed app: its URIs get the viewer's session token, so
// the body is per response (no ETag: a 304 would keep tokens that expire),
// and never stored: a shared cache must not hand one viewer's tokens to another.
void respond_signed(const http::ExchangeRef& ex, std::string_view body, const std::string& hs) {
  ex->respond(200,
              {{"Content-Type", kPlaylistType}, {"Cache-Control", cache_control(CacheKind::kViewerPlaylist, nullptr)}},
              protocol::add_param_to_playlist_uris(body, hs));
}

uint64_t first_segment_wait_ms(const core::AppConfig& cfg) { return uint64_t(3 * cfg.hls.segment_ms + 1000); }

}  // namespace

void HlsService::add_routes(http::Router& r) {
  r.add("GET", "/{app}/{stream}.m3u8", [this](http::ExchangeRef ex) { handle_playlist(std::move(ex), false); });
  r.add("GET", "/{app}/{stream}/llhls.m3u8", [this](http::ExchangeRef ex) { handle_playlist(std::move(ex), true); });
  auto file = [this](FileKind kind) { return [this, kind](http::ExchangeRef ex) { handle_file(std::move(ex), kind); }; };
  r.add("GET", "/{app}/{stream}/seg{msn:u64}.ts", file(FileKind::kTsSegment));
  r.add("GET", "/{app}/{stream}/seg{msn:u64}.m4s", file(FileKind::kFmp4Segment));
  r.add("GET", "/{app}/{stream}/part{msn:u64}.{part:u64}.m4s", file(FileKind::kPart));
  r.add("GET", "/{app}/{stream}/init{id:u64}.mp4", file(FileKind::kInit));
  r.add("GET", "/{app}/{stream}/key{id:u64}.key", file(FileKind::kKey));
}

std::shared_ptr<StreamHls> HlsService::find(const StreamHub* hub) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = entries_.find(hub);
  return it == entries_.end() ? nullptr : it->second;
}

std::shared_ptr<StreamHls> HlsService::ensure(const std::shared_ptr<StreamHub>& hub) {
  std::shared_ptr<StreamHls> store;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = entries_.find(hub.get());
    if (it != entries_.end() && !it->second->ended()) return it->second;
    store = std::make_shared<StreamHls>(hub->app(), hub->name(), hub->app_config(), hub->config_generation());
    entries_[hub.get()] = store;
  }
  const StreamHub* key = hub.get();
  HlsPackager::start(origin_, hub, store, [this, key, store] {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second == store) entries_.erase(it);
  });
  return store;
}

void HlsService::on_stream_published(const std::shared_ptr<StreamHub>& hub, const PublishEvent&) {
  const core::AppConfig& cfg = hub->app_config();
  if (cfg.hls.enabled && cfg.timeshift.enabled) ensure(hub);
}

void HlsService::handle_playlist(http::ExchangeRef ex, bool ll) {
  const http::HttpRequest& req = ex->request();
  std::string app(ex->param("app")), stream(ex->param("stream"));
  const core::AppConfig* cfg = origin_.config().find_app(app);
  if (cfg && !cfg->hls.enabled) return ex->respond_text(404, "HLS is not enabled for app '" + app + "'");
  auto q = protocol::parse_hls_query(req.query);
  if (!q) return ex->respond_text(400, q.error());
  auto areq = http_admission_request(ex, Direction::kPlay, AccessProtocol::kHlsPlaylist, app, stream);
  if (!areq) return;
  play_http(origin_, ex, std::move(*areq), [this, ex, ll, q = *q](std::shared_ptr<StreamHub> hub) {
    serve_playlist(ex, hub, ll, q);
  });
}

void HlsService::serve_playlist(const http::ExchangeRef& ex, const std::shared_ptr<StreamHub>& hub, bool ll,
                                const protocol::HlsQuery& query) {
  const core::AppConfig* cfg = &hub->app_config();
  const std::string& app = hub->app();
  const std::string& stream = hub->name();
  const protocol::HlsQuery* q = &query;
  auto store = ensure(hub);
  store->touch();
  // Signed apps: the session token for this viewer's segments ("" otherwise),
  // made when the answer goes out (a held request may wait seconds).
  auto session = [ex, hub](int64_t extra_s = 0) {
    const core::AppConfig& c = hub->app_config();
    return hls_session_param(c, hub->app(), hub->name(), ex->peer(), c.sign.hls_session_s + extra_s);
  };

  if (q->timeshifted()) {
    if (ll) return ex->respond_text(400, "time-shift applies to the MPEG-TS playlist /" + app + "/" + stream + ".m3u8");
    if (!cfg->timeshift.enabled) return ex->respond_text(400, "time-shift is not enabled for app '" + app + "'");
    TsPlaylistRequest tr;
    tr.now_ms = core::wall_clock_ms();
    if (q->delay_s) {
      tr.mode = TsPlaylistRequest::Mode::kDelay;
      tr.delay_s = *q->delay_s;
    } else {
      tr.mode = q->end_unix_s ? TsPlaylistRequest::Mode::kVod : TsPlaylistRequest::Mode::kEvent;
      tr.start_ms = int64_t(*q->start_unix_s * 1000);
      if (q->end_unix_s) tr.end_ms = int64_t(*q->end_unix_s * 1000);
      if (tr.start_ms > tr.now_ms) return ex->respond_text(404, "start is in the future");
    }
    auto r = store->render_ts(tr);
    if (r.status != 200) return ex->respond_text(r.status, r.error);
    const bool closed = r.body.find("#EXT-X-ENDLIST") != std::string::npos;
    // A closed playlist is not reloaded: its token lasts for its span too.
    if (std::string hs = session(closed && tr.end_ms > tr.start_ms ? (tr.end_ms - tr.start_ms) / 1000 : 0); !hs.empty())
      return respond_signed(ex, r.body, hs);
    const CacheKind kind = closed ? CacheKind::kClosedPlaylist : CacheKind::kTsLivePlaylist;
    ex->respond(200, {{"Content-Type", kPlaylistType}, {"Cache-Control", cache_control(kind, cfg)}}, std::move(r.body));
    return;
  }

  // A blocking reload's answer is keyed by its query in caches (6.2.5.2).
  const std::string cc = cache_control(!ll                ? CacheKind::kTsLivePlaylist
                                       : q->msn.has_value() ? CacheKind::kBlockingPlaylist
                                                            : CacheKind::kLlLivePlaylist,
                                       cfg);
  auto answer = [ex, store, ll, skip = q->skip, session, cc] {
    core::Slice body;
    std::string etag;
    const std::string hs = session();
    if (ll && skip) {
      auto r = store->render_ll(true);
      if (r.status != 200) return ex->respond_text(503, r.error);
      if (!hs.empty()) return respond_signed(ex, r.body, hs);
      ex->respond(200, {{"Content-Type", kPlaylistType}, {"Cache-Control", cc}}, std::move(r.body));
      return;
    }
    bool ok = ll ? store->cached_live_ll(body, etag) : store->cached_live_ts(body, etag);
    if (!ok) return ex->respond_text(503, "no segment is ready yet; retry");
    if (!hs.empty())
      return respond_signed(ex, core::as_chars(body.view()), hs);
    respond_cached(ex, body, etag, cc);
  };

  if (ll && q->msn) {
    if (!cfg->hls.ll) return ex->respond_text(400, "LL-HLS is not enabled for app '" + app + "'");
    auto [edge_msn, edge_parts] = store->live_edge();
    // RFC 8216bis 6.2.5.2: a request more than two segments past the last
    // one in the playlist is answered 400 at once.
    if (*q->msn > edge_msn + 1)
      return ex->respond_text(400, fmt::format("_HLS_msn {} is beyond the live edge (segment {} is being built)", *q->msn, edge_msn));
    WaitTarget t{*q->msn, q->part ? int64_t(*q->part) : -1};
    int td = std::max(store->target_duration_s(), int((cfg->hls.segment_ms + 999) / 1000));
    hold(store, ex, t, uint64_t(3 * td * 1000), answer,
         [ex] { ex->respond_text(503, "the requested segment or part did not appear within three target durations"); });
    return;
  }
  if (store->has_complete_segment()) return answer();
  // Packaging just started: hold until the first segment is complete.
  WaitTarget first{store->live_edge().first, -1};
  hold(store, ex, first, first_segment_wait_ms(*cfg), answer,
       [ex] { ex->respond_text(503, "no segment is ready yet; retry"); });
}

void HlsService::handle_file(http::ExchangeRef ex, FileKind kind) {
  const AccessProtocol protocol = kind == FileKind::kKey    ? AccessProtocol::kHlsKey
                                  : kind == FileKind::kPart ? AccessProtocol::kHlsPart
                                                            : AccessProtocol::kHlsSegment;
  std::string app(ex->param("app")), stream(ex->param("stream"));
  auto number = [&](std::string_view name) {
    uint64_t v = 0;
    std::string_view s = ex->param(name);
    std::from_chars(s.data(), s.data() + s.size(), v);  // the route's u64 pattern checked it
    return v;
  };
  const uint64_t a = number(kind == FileKind::kInit || kind == FileKind::kKey ? "id" : "msn");
  const uint64_t b = number("part");
  auto areq = http_admission_request(ex, Direction::kPlay, protocol, app, stream);
  if (!areq) return;
  admit_http(origin_, ex, std::move(*areq), [this, ex, kind, app, stream, a, b] { serve_file(ex, kind, app, stream, a, b); });
}

void HlsService::serve_file(const http::ExchangeRef& ex, FileKind kind, const std::string& app,
                            const std::string& stream, uint64_t a, uint64_t b) {
  const core::AppConfig* cfg = origin_.config().find_app(app);
  if (!cfg || !cfg->hls.enabled) return ex->respond_text(404, "no HLS for app '" + app + "'");
  auto hub = origin_.registry().find(app, origin_.play_hub_name(cfg, stream));
  if (!hub) return ex->respond_text(404, "stream " + app + "/" + stream + " is not published");
  auto store = find(hub.get());
  if (!store) return ex->respond_text(404, "no HLS session for this stream; load the playlist first");
  store->touch();

  core::Slice bytes;
  std::string path;
  const std::string etag = kind == FileKind::kTsSegment     ? media_etag("seg", a, ".ts")
                           : kind == FileKind::kFmp4Segment ? media_etag("seg", a, ".m4s")
                           : kind == FileKind::kPart        ? media_etag("part", a, fmt::format(".{}.m4s", b))
                           : kind == FileKind::kInit        ? media_etag("init", a, ".mp4")
                                                            : std::string();  // keys: no validator
  const std::string cc = cache_control(CacheKind::kMedia, cfg);
  if (kind == FileKind::kTsSegment) {
    switch (store->ts_segment(a, bytes, path)) {
      case StreamHls::Lookup::kFound:
        return respond_media(ex, "video/mp2t", cc, etag, bytes);
      case StreamHls::Lookup::kOnDisk:
        if (etag_matches(ex->request().header("if-none-match"), etag))
          return respond_media(ex, "video/mp2t", cc, etag, bytes);  // a 304: no need to read it
        core::read_file_async(ex->loop(), path, kMaxSegmentFile, [ex, cc, etag](core::Result<core::Slice> r) {
          if (!ex->alive()) return;
          if (!r) return ex->respond_text(404, "segment no longer available");
          respond_media(ex, "video/mp2t", cc, etag, *r);
        });
        return;
      default:
        return ex->respond_text(404, "segment " + std::to_string(a) + " is not available");
    }
  }
  if (kind == FileKind::kFmp4Segment) {
    if (store->fmp4_segment(a, bytes) == StreamHls::Lookup::kFound)
      return respond_media(ex, "video/iso.segment", cc, etag, bytes);
    return ex->respond_text(404, "segment " + std::to_string(a) + " is not available");
  }
  if (kind == FileKind::kPart) {
    auto lookup = store->part(a, uint32_t(b), bytes);
    if (lookup == StreamHls::Lookup::kFound) return respond_media(ex, "video/iso.segment", cc, etag, bytes);
    // The part named by EXT-X-PRELOAD-HINT is held until it exists.
    auto [edge_msn, edge_parts] = store->live_edge();
    if (a == edge_msn && b == edge_parts && cfg->hls.ll) {
      // Once answered it is cacheable like any part (caches collapse the
      // held requests of many players into one, e.g. nginx proxy_cache_lock).
      auto fetch = [ex, store, a, b, cc, etag] {
        core::Slice got;
        if (store->part(a, uint32_t(b), got) == StreamHls::Lookup::kFound)
          return respond_media(ex, "video/iso.segment", cc, etag, got);
        // The segment was cut before this part existed: the next segment's
        // first part follows; the player moves on with the next playlist.
        ex->respond_text(404, "part " + std::to_string(a) + "." + std::to_string(b) + " was not produced");
      };
      hold(store, ex, WaitTarget{a, int64_t(b)}, uint64_t(3 * cfg->hls.part_ms + cfg->hls.segment_ms), fetch,
           [ex] { ex->respond_text(503, "the hinted part did not appear in time"); });
      return;
    }
    return ex->respond_text(404, "part " + std::to_string(a) + "." + std::to_string(b) + " is not available");
  }
  if (kind == FileKind::kInit) {
    if (store->init(a, bytes)) return respond_media(ex, "video/mp4", cc, etag, bytes);
    return ex->respond_text(404, "init segment " + std::to_string(a) + " is not available");
  }
  std::array<uint8_t, 16> key;
  if (!store->key(a, key)) return ex->respond_text(404, "no such key");
  ex->respond(200,
              {{"Content-Type", "application/octet-stream"}, {"Cache-Control", cache_control(CacheKind::kKey, cfg)}},
              core::Slice::copy_of(core::ByteView(key.data(), key.size())));
}

}  // namespace weir::origin::hls
