#include "loadgen/flv_player.h"

#include "loadgen/runner.h"
#include "protocol/ws_frame.h"

namespace weir::loadgen {

using core::Status;

namespace {
constexpr uint32_t kMaxTag = 16u << 20;
}

FlvPlayer::FlvPlayer(Runner& runner, PlayerStats& stats, bool websocket)
    : Player(runner, stats), websocket_(websocket), http_(*this), flv_(protocol::FlvReaderOptions{kMaxTag, false}) {}

void FlvPlayer::on_connected() {
  const Url& u = runner_.options().url;
  std::string extra;
  if (websocket_) {
    ws_key_ = make_websocket_key(uint64_t(mono_us()) ^ uint64_t(reinterpret_cast<uintptr_t>(this)));
    extra = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
            ws_key_ + "\r\n";
  }
  conn_->send(core::Slice::copy_of(core::as_bytes(make_get_request(u.target(), u.authority(), extra))));
}

void FlvPlayer::on_data(core::ByteView data, int64_t now_us) {
  now_us_ = now_us;
  if (ws_) return on_ws_bytes(data);
  auto used = http_.feed(data);
  if (ending_) return;
  if (!used) return fail(used.error());
  if (http_.upgraded()) {
    if (!websocket_ || http_.head().status != 101) return fail("unexpected protocol upgrade");
    if (http_.head().ws_accept != protocol::websocket_accept_key(ws_key_))
      return fail("bad Sec-WebSocket-Accept");
    ws_ = std::make_unique<WsClientFrameReader>();
    mark_connected();
    if (*used < data.size()) on_ws_bytes(data.subspan(*used));
  }
}

void FlvPlayer::on_head(const HttpResponseHead& head) {
  if (websocket_) {
    if (head.status != 101) fail("websocket upgrade answered " + std::to_string(head.status));
    return;
  }
  if (head.status != 200) return fail("http status " + std::to_string(head.status));
  body_ok_ = true;
  mark_connected();
}

void FlvPlayer::on_body(core::ByteView bytes) {
  if (body_ok_ && !ending_) feed_flv(bytes);
}

void FlvPlayer::on_complete() {
  if (websocket_ || ending_) return;
  fail("http-flv body ended");
}

void FlvPlayer::on_conn_closed() {
  if (!ws_) {
    Status st = http_.finish();
    if (ending_) return;
    if (!st) return fail(st.message());
  }
  fail("server closed the stream");
}

void FlvPlayer::feed_flv(core::ByteView bytes) {
  Status st = flv_.feed(bytes, [this](const protocol::FlvTag& t) {
    on_flv_body(t.type, t.timestamp_ms, t.body.view(), now_us_);
    return Status::ok();
  });
  if (!st) fail("flv: " + st.message());
}

void FlvPlayer::on_ws_bytes(core::ByteView data) {
  Status st = ws_->feed(data, [this](const WsPiece& p) {
    if (ending_) return;
    switch (p.opcode) {
      case 0x0:  // continuation
      case 0x2:  // binary
        feed_flv(p.payload);
        break;
      case 0x9:  // ping
        conn_->send(make_masked_frame(0xA, p.payload, uint32_t(mono_us())));
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

}  // namespace weir::loadgen
