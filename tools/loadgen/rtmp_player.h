// RtmpPlayer: an RTMP viewer. Simple-or-digest handshake (HandshakeClient),
// connect / createStream / play, then reads the chunk stream with Weir's
// ChunkReader, acknowledges at the window size the server asks for, answers
// pings, and reports every audio/video message to Player.
//
// Threads/ownership: see player.h.
#pragma once

#include <memory>
#include <string>

#include "loadgen/player.h"
#include "loadgen/url.h"
#include "protocol/rtmp_chunk_reader.h"
#include "protocol/rtmp_handshake.h"

namespace weir::loadgen {

class RtmpPlayer final : public Player {
 public:
  RtmpPlayer(Runner& runner, PlayerStats& stats);

 protected:
  void on_connected() override;
  void on_data(core::ByteView data, int64_t now_us) override;

 private:
  core::Status on_message(protocol::RtmpMessage&& m, int64_t now_us);
  core::Status on_command(const protocol::RtmpMessage& m);

  RtmpPath path_;
  std::string tc_url_;
  protocol::HandshakeClient handshake_;
  std::unique_ptr<protocol::ChunkReader> reader_;  // created after the handshake
  uint32_t ack_window_ = 0;
  uint64_t last_ack_ = 0;
  uint32_t stream_id_ = 0;
};

}  // namespace weir::loadgen
