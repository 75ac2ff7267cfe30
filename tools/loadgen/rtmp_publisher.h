// RtmpPublisher: publishes an FlvClip to rtmp://host:port/app/stream in a
// loop at real-time pace (each tag goes out when the wall clock since the
// start reaches its timestamp), like `ffmpeg -re -stream_loop -1 -c copy`.
// With probe on, every H.264 video access unit gets a latency SEI as its
// first NAL unit (sei_probe.h), stamped just before the tag is written.
//
// Session: client::RtmpClient in publish mode (Set Chunk Size 60000, connect,
// releaseStream, FCPublish, createStream, publish(live)); from
// NetStream.Publish.Start on, @setDataFrame onMetaData and the media. If the
// client refuses a tag (its send queue is full: the server is not reading),
// pacing pauses at that tag until the queue drains, then catches up.
//
// Thread: its loop. Ownership: created and destroyed by run_rtmp_publisher
// (the loop has stopped by then); tracked on the loop while open.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "client/rtmp_client.h"
#include "core/loop.h"
#include "core/timer.h"
#include "loadgen/flv_clip.h"
#include "loadgen/options.h"

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

class RtmpPublisher final : public core::Closable, private client::RtmpClient::Handler {
 public:
  RtmpPublisher(core::Loop& loop, const Options& options, const FlvClip& clip);
  ~RtmpPublisher() override;

  void start();  // loop thread
  void close_for_shutdown() override;
  bool done() const { return done_.load(); }  // any thread: failed or closed
  const PublisherStats& stats() const { return stats_; }  // after the loop stopped

 private:
  // RtmpClient::Handler
  void on_ready() override;
  void on_drained() override;
  void on_closed(const core::Status& why) override { fail(why.message()); }

  void pump();
  // False if the client refused the tag (queue full): retry it after a drain.
  bool send_tag(const ClipTag& t, int64_t ts_ms);
  void fail(std::string why);
  void stop();

  core::Loop& loop_;
  Options options_;
  const FlvClip& clip_;
  std::unique_ptr<client::RtmpClient> client_;
  std::unique_ptr<core::Timer> timer_;
  bool waiting_drain_ = false;
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
