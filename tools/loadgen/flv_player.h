// FlvPlayer: an HTTP-FLV viewer (GET /app/stream.flv, a close-delimited or
// chunked body) or a WebSocket-FLV viewer (the same path with an upgrade;
// binary frames carry the FLV byte stream, read with WsClientFrameReader),
// on client::HttpClient. The FLV stream is read with Weir's FlvReader and
// every tag becomes a MediaPacket (protocol::make_media_packet, as the RTMP
// client does) for Player::on_media.
//
// No head or idle timeout in the client: a player that gets nothing counts
// stalls (Player::tick) instead of failing.
//
// Threads/ownership: see player.h.
#pragma once

#include <memory>
#include <string>

#include "client/http_client.h"
#include "loadgen/player.h"
#include "loadgen/ws_client.h"
#include "protocol/flv_reader.h"

namespace weir::loadgen {

class FlvPlayer final : public Player, private client::HttpClient::Handler {
 public:
  FlvPlayer(Runner& runner, PlayerStats& stats, bool websocket);

 protected:
  void open() override;
  void close() override { http_.reset(); }

 private:
  // HttpClient::Handler
  void on_bytes(size_t n) override { on_bytes_read(n); }
  void on_head(const protocol::HttpResponseHead& head) override;
  void on_body(core::ByteView bytes) override;
  void on_complete(const core::Status& st) override;

  void feed_flv(core::ByteView bytes);

  bool websocket_;
  std::string ws_key_;
  std::unique_ptr<client::HttpClient> http_;
  std::unique_ptr<WsClientFrameReader> ws_;
  protocol::FlvReader flv_;
  bool body_ok_ = false;
};

}  // namespace weir::loadgen
