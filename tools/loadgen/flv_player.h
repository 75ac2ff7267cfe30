// FlvPlayer: an HTTP-FLV viewer (GET /app/stream.flv, close-delimited or
// chunked body) or a WebSocket-FLV viewer (the same path with an upgrade;
// binary frames carry the FLV byte stream). The FLV stream is read with
// Weir's FlvReader and every tag goes to Player::on_flv_body.
//
// Threads/ownership: see player.h.
#pragma once

#include <memory>
#include <string>

#include "loadgen/parsers.h"
#include "loadgen/player.h"
#include "loadgen/ws_client.h"
#include "protocol/flv_reader.h"

namespace weir::loadgen {

class FlvPlayer final : public Player, private HttpResponseReader::Handler {
 public:
  FlvPlayer(Runner& runner, PlayerStats& stats, bool websocket);

 protected:
  void on_connected() override;
  void on_data(core::ByteView data, int64_t now_us) override;
  void on_conn_closed() override;

 private:
  // HttpResponseReader::Handler
  void on_head(const HttpResponseHead& head) override;
  void on_body(core::ByteView bytes) override;
  void on_complete() override;

  void feed_flv(core::ByteView bytes);
  void on_ws_bytes(core::ByteView data);

  bool websocket_;
  std::string ws_key_;
  HttpResponseReader http_;
  std::unique_ptr<WsClientFrameReader> ws_;
  protocol::FlvReader flv_;
  int64_t now_us_ = 0;  // arrival time of the bytes being parsed
  bool body_ok_ = false;
};

}  // namespace weir::loadgen
