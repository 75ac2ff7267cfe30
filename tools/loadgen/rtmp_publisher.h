// RtmpPublisher: publishes an FlvClip to rtmp://host:port/app/stream in a
// loop at real-time pace (each tag goes out when the wall clock since the
// start reaches its timestamp), like `ffmpeg -re -stream_loop -1 -c copy`.
// With probe on, every H.264 video access unit gets a latency SEI as its
// first NAL unit (sei_probe.h), stamped just before the tag is written.
//
// Session: handshake, connect, releaseStream, FCPublish, createStream,
// publish(live); waits for NetStream.Publish.Start, then Set Chunk Size
// 60000, @setDataFrame onMetaData and the media.
//
// Thread: its loop. Ownership: created and destroyed by run_rtmp_publisher
// (the loop has stopped by then); tracked on the loop while open.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "core/loop.h"
#include "core/net.h"
#include "core/tcp_conn.h"
#include "core/timer.h"
#include "loadgen/flv_clip.h"
#include "loadgen/options.h"
#include "loadgen/url.h"
#include "protocol/rtmp_chunk_reader.h"
#include "protocol/rtmp_chunk_writer.h"
#include "protocol/rtmp_handshake.h"

namespace weir::loadgen {

struct PublisherStats {
  uint64_t tags = 0;
  uint64_t video_frames = 0;
  uint64_t probes = 0;
  uint64_t bytes = 0;  // bytes written (chunk stream)
  uint64_t loops = 0;  // completed passes over the clip
  int64_t publish_start_us = -1;
  std::string error;
};

class RtmpPublisher final : public core::TcpConn::Handler, public core::Closable {
 public:
  RtmpPublisher(core::Loop& loop, const Options& options, const FlvClip& clip, core::SocketAddress address);
  ~RtmpPublisher() override;

  void start();  // loop thread
  void close_for_shutdown() override;
  bool done() const { return done_.load(); }  // any thread: failed or closed
  const PublisherStats& stats() const { return stats_; }  // after the loop stopped

  void on_read(core::ByteView data) override;
  void on_read_end(int uv_status) override;
  void on_timeout(const char* what) override;
  void on_closed() override;

 private:
  core::Status on_message(protocol::RtmpMessage&& m);
  void begin_media();
  void pump();
  void send_tag(const ClipTag& t, int64_t ts_ms);
  void fail(std::string why);

  core::Loop& loop_;
  Options options_;
  const FlvClip& clip_;
  core::SocketAddress address_;
  RtmpPath path_;
  protocol::HandshakeClient handshake_;
  std::unique_ptr<protocol::ChunkReader> reader_;
  protocol::ChunkWriter writer_;
  uint32_t stream_id_ = 1;
  uint32_t ack_window_ = 0;
  uint64_t last_ack_ = 0;
  std::unique_ptr<core::Timer> timer_;
  size_t next_tag_ = 0;
  int64_t loop_offset_ms_ = 0;
  int64_t start_us_ = 0;
  bool publishing_ = false;
  bool closing_ = false;
  PublisherStats stats_;
  std::atomic<bool> done_{false};
};

// The --publish rtmp mode. Returns the exit code (0 unless the publish failed
// or could not start).
int run_rtmp_publisher(const Options& options);

}  // namespace weir::loadgen
