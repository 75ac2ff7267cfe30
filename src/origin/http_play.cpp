#include "origin/http_play.h"

#include <spdlog/spdlog.h>

#include "core/timer.h"
#include "origin/hls/flv_timeshift.h"
#include "origin/http_admission.h"
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

AccessProtocol access_protocol(Framing f) {
  return f == Framing::kWsFlv ? AccessProtocol::kWsFlv : f == Framing::kTs ? AccessProtocol::kHttpTs : AccessProtocol::kHttpFlv;
}

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
    writer_ = std::make_unique<StreamWriter>(origin_, conn_, framing_, this);
    bool ok = writer_->start(hub, app.gop_cache ? StartAt::kLatestKeyframe : StartAt::kLiveEdge);
    origin_.current().release_if_unused(lh.get());
    if (!ok) return on_writer_done("stream ended: before the first packet");
    client_ = origin_.clients().add(conn_->loop(),
                                    {access_protocol(framing_), ClientRole::kPlay, hub->app(), hub->name(), ex->peer()},
                                    &conn_->io(), [this](const std::string& why) { kick(why); });
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
    client_.end(reason_.empty() ? "connection closed" : reason_);
    conn_ = nullptr;
    writer_.reset();
    delete this;
  }
  void on_writer_done(const std::string& why) override {
    if (reason_.empty()) reason_ = why;
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

  // The admin API closes this viewer (ClientRegistry): at once, like a viewer too slow.
  void kick(const std::string& why) {
    spdlog::info("flv {}: viewer {}", key_, why);
    if (reason_.empty()) reason_ = why;
    writer_.reset();
    if (conn_) conn_->close();
  }

 private:
  ~HttpPlaySession() override = default;
  Origin& origin_;
  std::string key_;
  Framing framing_;
  core::TcpConn* conn_ = nullptr;
  std::unique_ptr<StreamWriter> writer_;
  std::unique_ptr<StreamWriter> retired_;
  bool websocket_ = false;
  bool closing_ = false;
  std::string reason_;              // why it ends, for client.disconnected
  ClientRegistry::Handle client_;  // from start() until on_closed()
};

void not_found(const http::ExchangeRef& ex, const std::string& key) {
  ex->respond_text(404, "stream " + key + " is not published");
}

}  // namespace


namespace {

// Admission, then the stream (now, or once published within the app's
// play_wait_ms), then a viewer session; refusals are answered with their status.
void play(Origin& origin, http::ExchangeRef ex, const std::string& app, const std::string& stream, Framing framing) {
  auto req = http_admission_request(ex, Direction::kPlay, access_protocol(framing), app, stream);
  if (!req) return;
  std::string key = app + "/" + stream;
  play_http(origin, ex, std::move(*req), [&origin, ex, key, framing](std::shared_ptr<StreamHub> hub) {
    (new HttpPlaySession(origin, key, framing))->start(ex, hub);
  });
}

}  // namespace

void handle_flv_request(Origin& origin, http::ExchangeRef ex) {
  const http::HttpRequest& req = ex->request();
  std::string app(ex->param("app")), stream(ex->param("stream"));
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
      if (websocket) {
        ex->respond_text(400, "time-shift is served over plain HTTP-FLV");
        return;
      }
      auto areq = http_admission_request(ex, Direction::kPlay, AccessProtocol::kHttpFlv, app, stream);
      if (!areq) return;
      const double delay = *q->delay_s;
      admit_http(origin, ex, std::move(*areq), [&origin, ex, app, stream, delay] {
        auto hub = origin.registry().find(app, stream);
        if (!hub) return not_found(ex, app + "/" + stream);
        hls::start_flv_timeshift(origin, ex, hub, delay);
      });
      return;
    }
  }
  play(origin, std::move(ex), app, stream, websocket ? Framing::kWsFlv : Framing::kFlv);
}

void handle_ts_request(Origin& origin, http::ExchangeRef ex) {
  std::string app(ex->param("app")), stream(ex->param("stream"));
  if (ex->request().upgrade) {
    ex->respond_text(400, "MPEG-TS is served over plain HTTP");
    return;
  }
  play(origin, std::move(ex), app, stream, Framing::kTs);
}

}  // namespace weir::origin
