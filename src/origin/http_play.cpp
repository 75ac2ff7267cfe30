#include "origin/http_play.h"

#include <spdlog/spdlog.h>

#include "core/timer.h"
#include "origin/hls/flv_timeshift.h"
#include "protocol/hls_query.h"
#include "origin/loop_hub.h"
#include "origin/origin.h"
#include "origin/stream_hub.h"
#include "protocol/ws_frame.h"

namespace weir::origin {

namespace {

// FLV file header + PreviousTagSize0, by (has_audio, has_video).
constexpr uint8_t kFlvHeaders[4][13] = {
    {'F', 'L', 'V', 1, 0x00, 0, 0, 0, 9, 0, 0, 0, 0},
    {'F', 'L', 'V', 1, 0x01, 0, 0, 0, 9, 0, 0, 0, 0},
    {'F', 'L', 'V', 1, 0x04, 0, 0, 0, 9, 0, 0, 0, 0},
    {'F', 'L', 'V', 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0},
};
// The same, each as one binary WebSocket frame (2-byte header, 13 bytes).
constexpr uint8_t kWsFlvHeaders[4][15] = {
    {0x82, 13, 'F', 'L', 'V', 1, 0x00, 0, 0, 0, 9, 0, 0, 0, 0},
    {0x82, 13, 'F', 'L', 'V', 1, 0x01, 0, 0, 0, 9, 0, 0, 0, 0},
    {0x82, 13, 'F', 'L', 'V', 1, 0x04, 0, 0, 0, 9, 0, 0, 0, 0},
    {0x82, 13, 'F', 'L', 'V', 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0},
};

class HttpPlaySession final : public http::StreamSink, public StreamWriter::Owner {
 public:
  HttpPlaySession(Origin& origin, std::string key, Framing framing)
      : origin_(origin), key_(std::move(key)), framing_(framing) {}

  // Starts streaming `hub` on the exchange; deletes itself on failure.
  void start(const http::ExchangeRef& ex, const std::shared_ptr<StreamHub>& hub) {
    const bool websocket = framing_ == Framing::kWsFlv;
    auto lh = origin_.current().attach(hub);
    if (!lh) {
      ex->respond_text(404, "stream " + key_ + " has ended");
      delete this;
      return;
    }
    const GopRing& ring = lh->ring();
    bool has_video = ring.video_seen() || ring.video_config();
    bool has_audio = ring.audio_seen() || ring.audio_config();
    if (!has_video && !has_audio) has_video = has_audio = true;
    const int flags = (has_audio ? 2 : 0) | (has_video ? 1 : 0);

    websocket_ = websocket;
    conn_ = websocket ? ex->accept_websocket(this)
                      : ex->start_stream(200,
                                         {{"Content-Type", framing_ == Framing::kTs ? "video/mp2t" : "video/x-flv"},
                                          {"Cache-Control", "no-cache, no-store"},
                                          {"Pragma", "no-cache"}},
                                         this);
    if (!conn_) {
      origin_.current().release_if_unused(lh.get());
      delete this;  // the exchange answered the error (bad upgrade)
      return;
    }
    const core::AppConfig& app = hub->app_config();
    conn_->set_idle_timeout(0);
    conn_->set_send_timeout(uint64_t(app.viewer_send_timeout_ms));
    if (framing_ == Framing::kWsFlv) conn_->append(core::ByteView(kWsFlvHeaders[flags], 15));
    else if (framing_ == Framing::kFlv) conn_->append(core::ByteView(kFlvHeaders[flags], 13));
    if (framing_ == Framing::kTs) {
      ts_hub_ = hub;
      hub->add_ts_user();
    }
    writer_ = std::make_unique<StreamWriter>(origin_, conn_, framing_, this);
    bool ok = writer_->start(hub, app.gop_cache ? StartAt::kLatestKeyframe : StartAt::kLiveEdge);
    origin_.current().release_if_unused(lh.get());
    if (!ok) return on_writer_done("stream ended: before the first packet");
    conn_->flush();
  }

  void on_writable() override {
    if (closing_) {
      if (conn_) conn_->close();
      return;
    }
    if (writer_) writer_->on_writable();
  }
  void on_closed() override {
    conn_ = nullptr;
    writer_.reset();
    delete this;
  }
  void on_writer_done(const std::string& why) override {
    if (why.rfind("stream ended", 0) == 0) spdlog::debug("flv {}: {}", key_, why);
    else spdlog::info("flv {}: {}", key_, why);
    retired_ = std::move(writer_);
    if (!conn_) return;
    if (why.rfind("stream ended", 0) != 0) {
      conn_->close();  // too slow: no point sending its backlog
      return;
    }
    if (websocket_) {
      // RFC 6455 7.1.2: close with a Close frame, 1001 "going away".
      conn_->append(protocol::make_ws_close_frame(1001, "stream ended"));
    }
    // Whole tags only: what is queued goes out before the close ends the
    // close-delimited body (a send stall still closes via the send timeout).
    closing_ = true;
    if (conn_->flush()) conn_->close();
  }

 private:
  ~HttpPlaySession() override {
    if (ts_hub_) ts_hub_->remove_ts_user();
  }
  Origin& origin_;
  std::string key_;
  Framing framing_;
  std::shared_ptr<StreamHub> ts_hub_;  // set while this viewer counts as a TS user
  core::TcpConn* conn_ = nullptr;
  std::unique_ptr<StreamWriter> writer_;
  std::unique_ptr<StreamWriter> retired_;
  bool websocket_ = false;
  bool closing_ = false;
};

// Holds a request until the stream is published or the app's wait runs out.
struct PlayWait {
  Origin& origin;
  http::ExchangeRef ex;
  Framing framing;
  std::string app, stream;
  uint64_t wait_id = 0;
  core::Timer timer;
  PlayWait(Origin& o, http::ExchangeRef e, Framing f, std::string a, std::string s, core::Loop& loop)
      : origin(o), ex(std::move(e)), framing(f), app(std::move(a)), stream(std::move(s)), timer(loop) {}
};

void not_found(const http::ExchangeRef& ex, const std::string& key) {
  ex->respond_text(404, "stream " + key + " is not published");
}

}  // namespace

bool split_stream_path(std::string_view path, std::string_view ext, std::string& app, std::string& stream) {
  if (path.size() < ext.size() + 4 || path.front() != '/' || path.substr(path.size() - ext.size()) != ext) return false;
  std::string_view rest = path.substr(1, path.size() - 1 - ext.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || rest.find('/', slash + 1) != std::string_view::npos) return false;
  app = std::string(rest.substr(0, slash));
  stream = std::string(rest.substr(slash + 1));
  return true;
}

namespace {

// Starts `framing` for app/stream now, or holds the request up to the app's
// play_wait_ms for a publisher, else 404.
void play(Origin& origin, http::ExchangeRef ex, const std::string& app, const std::string& stream, Framing framing,
          const core::AppConfig& app_cfg) {
  std::string key = app + "/" + stream;
  if (auto hub = origin.registry().find(app, stream)) {
    (new HttpPlaySession(origin, key, framing))->start(ex, hub);
    return;
  }
  if (app_cfg.play_wait_ms <= 0) return not_found(ex, key);

  core::Loop& loop = *core::Loop::current();
  auto wait = std::make_shared<PlayWait>(origin, ex, framing, app, stream, loop);
  std::weak_ptr<PlayWait> weak = wait;
  wait->wait_id = origin.registry().wait_for(app, stream, loop, [wait](std::shared_ptr<StreamHub> hub) {
    if (!wait->wait_id) return;  // timed out or aborted already
    wait->wait_id = 0;
    wait->timer.stop();
    if (!wait->ex->alive()) return;
    (new HttpPlaySession(wait->origin, wait->app + "/" + wait->stream, wait->framing))->start(wait->ex, hub);
  });
  wait->timer.start(uint64_t(app_cfg.play_wait_ms), [weak, key] {
    auto w = weak.lock();
    if (!w || !w->wait_id) return;
    w->origin.registry().cancel_wait(w->wait_id);
    w->wait_id = 0;
    not_found(w->ex, key);
  });
  ex->on_abort([weak] {
    auto w = weak.lock();
    if (!w || !w->wait_id) return;
    w->origin.registry().cancel_wait(w->wait_id);
    w->wait_id = 0;
    w->timer.stop();
  });
}

// Parses /{app}/{stream}{ext} and checks names and app; answers errors itself.
const core::AppConfig* route_stream(Origin& origin, const http::ExchangeRef& ex, std::string_view ext, std::string& app,
                                    std::string& stream) {
  if (!split_stream_path(ex->request().path, ext, app, stream)) {
    ex->respond_text(404, fmt::format("expected /{{app}}/{{stream}}{}", ext));
    return nullptr;
  }
  if (auto st = validate_stream_path(app, stream); !st) {
    ex->respond_text(400, st.message());
    return nullptr;
  }
  const core::AppConfig* app_cfg = origin.config().find_app(app);
  if (!app_cfg) ex->respond_text(404, "app '" + app + "' is not configured");
  return app_cfg;
}

}  // namespace

void handle_flv_request(Origin& origin, http::ExchangeRef ex) {
  const http::HttpRequest& req = ex->request();
  std::string app, stream;
  const core::AppConfig* app_cfg = route_stream(origin, ex, ".flv", app, stream);
  if (!app_cfg) return;
  const bool websocket = req.upgrade;
  if (!req.query.empty()) {
    auto q = protocol::parse_hls_query(req.query);
    if (!q) {
      ex->respond_text(400, q.error());
      return;
    }
    if (q->start_unix_s) {
      ex->respond_text(400, "HTTP-FLV time-shift takes delay=SECONDS");
      return;
    }
    if (q->delay_s && *q->delay_s > 0) {
      auto hub = origin.registry().find(app, stream);
      if (!hub) return not_found(ex, app + "/" + stream);
      if (websocket) {
        ex->respond_text(400, "time-shift is served over plain HTTP-FLV");
        return;
      }
      return hls::start_flv_timeshift(origin, std::move(ex), hub, *q->delay_s);
    }
  }
  play(origin, std::move(ex), app, stream, websocket ? Framing::kWsFlv : Framing::kFlv, *app_cfg);
}

void handle_ts_request(Origin& origin, http::ExchangeRef ex) {
  std::string app, stream;
  const core::AppConfig* app_cfg = route_stream(origin, ex, ".ts", app, stream);
  if (!app_cfg) return;
  if (ex->request().upgrade) {
    ex->respond_text(400, "MPEG-TS is served over plain HTTP");
    return;
  }
  play(origin, std::move(ex), app, stream, Framing::kTs, *app_cfg);
}

}  // namespace weir::origin
