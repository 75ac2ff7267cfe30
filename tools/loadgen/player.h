// Player: one simulated viewer on one loop, with at most one TCP connection
// open at a time. Subclasses speak one protocol (RTMP, HTTP-FLV, WS-FLV, HLS,
// LL-HLS) and report what they parse through the on_* helpers here, which
// keep the PlayerStats (first byte/keyframe, media time, stalls, latency).
//
// Threads: its Runner's loop only. Ownership: owned by the Runner; a
// connection holds a pointer to its player (as TcpConn::Handler) only while
// open, and players are freed after the loop has stopped.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/buffer.h"
#include "core/tcp_conn.h"
#include "loadgen/options.h"
#include "loadgen/stats.h"

namespace weir::loadgen {

class Runner;

class Player : public core::TcpConn::Handler {
 public:
  Player(Runner& runner, PlayerStats& stats) : runner_(runner), st_(stats) {}
  ~Player() override = default;

  // Opens the first connection.
  virtual void start();
  // End of run: closes without counting an error.
  virtual void shutdown();
  // Every 250 ms: stall detection. Default: no media for --stall seconds.
  virtual void tick(int64_t now_us);
  // End of run, before shutdown(): final stall check and media-time ratio.
  virtual void finish(int64_t end_us);

  // TcpConn::Handler
  void on_read(core::ByteView data) final;
  void on_read_end(int uv_status) override;
  void on_timeout(const char* what) override;
  void on_closed() override;

 protected:
  // The connection is up (conn_ is set): send the request / handshake.
  virtual void on_connected() = 0;
  virtual void on_data(core::ByteView data, int64_t now_us) = 0;
  // The connection closed without an error having been reported; default:
  // the server ended the stream early, which is a failure.
  virtual void on_conn_closed();

  void open_connection();
  void fail(std::string why);
  void close_conn();

  // Reporting.
  void mark_connected();
  // One audio or video frame (configs excluded), dts in ms.
  void on_frame(bool video, int64_t dts_ms, bool keyframe, int64_t now_us);
  // A latency probe arrived; counted only inside the player's steady window
  // (after --warmup), so the start-up burst from a GOP cache is left out.
  void on_probe(uint64_t send_us, int64_t now_us);
  // An FLV tag body (RTMP message payload or FLV tag): classifies it, reports
  // the frame and any probe. tag_type 8/9/18.
  void on_flv_body(uint8_t tag_type, int64_t ts_ms, core::ByteView body, int64_t now_us);

  Runner& runner_;
  PlayerStats& st_;
  uint8_t nal_length_size_ = 4;
  bool ending_ = false;
};

std::unique_ptr<Player> make_player(PlayerKind kind, Runner& runner, PlayerStats& stats);

}  // namespace weir::loadgen
