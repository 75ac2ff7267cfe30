// Player: one simulated viewer on one loop. Subclasses speak one protocol
// (RTMP, HTTP-FLV, WS-FLV, HLS, LL-HLS) through Weir's clients (src/client:
// RtmpClient, HttpClient) and report what they receive through the helpers
// here, which keep the PlayerStats (first byte/keyframe, media time, stalls,
// latency). The clients' on_bytes hook is where a read's arrival time is
// taken, once per socket read.
//
// Threads: its Runner's loop only. Ownership: owned by the Runner; a player
// owns its client, so no client callback reaches a freed player; players are
// freed after the loop has stopped.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/buffer.h"
#include "core/media_packet.h"
#include "loadgen/options.h"
#include "loadgen/stats.h"

namespace weir::loadgen {

class Runner;

class Player {
 public:
  Player(Runner& runner, PlayerStats& stats) : runner_(runner), st_(stats) {}
  virtual ~Player() = default;

  // Records the connect start and opens the first connection.
  virtual void start();
  // End of run: closes without counting an error.
  virtual void shutdown();
  // Every 250 ms: stall detection. Default: no media for --stall seconds.
  virtual void tick(int64_t now_us);
  // End of run, before shutdown(): final stall check and media-time ratio.
  virtual void finish(int64_t end_us);

 protected:
  // Starts the client (the connect start is already recorded).
  virtual void open() = 0;
  // Closes the client without callbacks.
  virtual void close() = 0;

  // The first error ends the player (it stays closed).
  void fail(std::string why);
  // n bytes read from the server: first-byte time, byte counts, and the
  // arrival time (now_us_) of what is parsed from them.
  void on_bytes_read(size_t n);
  void mark_connected();
  // One audio or video frame (configs excluded), dts in ms.
  void on_frame(bool video, int64_t dts_ms, bool keyframe, int64_t now_us);
  // A latency probe arrived; counted only inside the player's steady window
  // (after --warmup), so the start-up burst from a GOP cache is left out.
  void on_probe(uint64_t send_us, int64_t now_us);
  // A packet from the RTMP client or an FLV tag made into one (the same
  // conversion): reports the frame and any probe, keeps the AVC NAL length
  // size from the config.
  void on_media(const core::MediaPacket& pkt);

  Runner& runner_;
  PlayerStats& st_;
  uint8_t nal_length_size_ = 4;
  bool ending_ = false;
  int64_t now_us_ = 0;  // arrival time of the bytes being parsed
};

std::unique_ptr<Player> make_player(PlayerKind kind, Runner& runner, PlayerStats& stats);

}  // namespace weir::loadgen
