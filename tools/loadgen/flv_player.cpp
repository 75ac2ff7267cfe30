#include "loadgen/flv_player.h"

#include "loadgen/runner.h"
#include "protocol/flv_tag.h"
#include "protocol/ws_frame.h"

namespace weir::loadgen {

using core::Status;

namespace {
constexpr uint32_t kMaxTag = 16u << 20;
}

FlvPlayer::FlvPlayer(Runner& runner, PlayerStats& stats, bool websocket)
    : Player(runner, stats), websocket_(websocket), flv_(protocol::FlvReaderOptions{kMaxTag, false}) {}

void FlvPlayer::open() {
  client::HttpClientOptions o;
  o.head_timeout_ms = 0;
  o.idle_timeout_ms = 0;
  o.user_agent = "weir-loadgen";
  http_ = std::make_unique<client::HttpClient>(runner_.loop(), o);
  client::HttpRequest req;
  req.url = runner_.options().url.to_string();
  req.headers = {{"Accept", "*/*"}};
  if (websocket_) {
    ws_key_ = make_websocket_key(uint64_t(mono_us()) ^ uint64_t(reinterpret_cast<uintptr_t>(this)));
    req.headers.insert(req.headers.end(), {{"Upgrade", "websocket"},
                                           {"Connection", "Upgrade"},
                                           {"Sec-WebSocket-Version", "13"},
                                           {"Sec-WebSocket-Key", ws_key_}});
  }
  if (Status st = http_->send(std::move(req), *this); !st) fail(st.message());
}

void FlvPlayer::on_head(const protocol::HttpResponseHead& head) {
  if (websocket_) {
    if (head.status != 101) return fail("websocket upgrade answered " + std::to_string(head.status));
    if (head.ws_accept != protocol::websocket_accept_key(ws_key_)) return fail("bad Sec-WebSocket-Accept");
    ws_ = std::make_unique<WsClientFrameReader>();
    mark_connected();
    return;
  }
  if (head.status != 200) return fail("http status " + std::to_string(head.status));
  body_ok_ = true;
  mark_connected();
}

void FlvPlayer::on_body(core::ByteView bytes) {
  if (ending_) return;
  if (!ws_) {
    if (body_ok_) feed_flv(bytes);
    return;
  }
  Status st = ws_->feed(bytes, [this](const WsPiece& p) {
    if (ending_) return;
    switch (p.opcode) {
      case 0x0:  // continuation
      case 0x2:  // binary
        feed_flv(p.payload);
        break;
      case 0x9:  // ping
        if (Status w = http_->write(make_masked_frame(0xA, p.payload, uint32_t(mono_us()))); !w) fail(w.message());
        break;
      case 0x8:  // close
        fail("websocket closed by the server");
        break;
      default:
        break;  // text, pong: ignored
    }
  });
  if (!st && !ending_) fail(st.message());
}

void FlvPlayer::on_complete(const Status& st) {
  if (!st) return fail(st.message());
  // A live stream never ends by itself.
  fail(ws_ ? "server closed the stream" : "http-flv body ended");
}

void FlvPlayer::feed_flv(core::ByteView bytes) {
  Status st = flv_.feed(bytes, [this](const protocol::FlvTag& t) {
    auto pkt = protocol::make_media_packet(t.type, t.timestamp_ms, t.body);
    if (pkt) on_media(*pkt);  // a tag it cannot classify still counts as bytes
    return Status::ok();
  });
  if (!st) fail("flv: " + st.message());
}

}  // namespace weir::loadgen
