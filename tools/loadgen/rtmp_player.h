// RtmpPlayer: an RTMP viewer on client::RtmpClient (handshake, connect,
// createStream, play, acknowledgements, pings): reaches the playing state at
// NetStream.Play.Start and reports every audio/video packet to Player.
//
// No response or stall timeout in the client: a player that gets nothing
// counts stalls (Player::tick) instead of failing.
//
// Threads/ownership: see player.h.
#pragma once

#include <memory>

#include "client/rtmp_client.h"
#include "loadgen/player.h"

namespace weir::loadgen {

class RtmpPlayer final : public Player, private client::RtmpClient::Handler {
 public:
  RtmpPlayer(Runner& runner, PlayerStats& stats) : Player(runner, stats) {}

 protected:
  void open() override;
  void close() override { client_.reset(); }

 private:
  // RtmpClient::Handler
  void on_ready() override { mark_connected(); }
  void on_packet(const core::MediaPacket& pkt) override { on_media(pkt); }
  void on_bytes(size_t n) override { on_bytes_read(n); }
  void on_closed(const core::Status& why) override { fail(why.message()); }

  std::unique_ptr<client::RtmpClient> client_;
};

}  // namespace weir::loadgen
