// The latest picture of a live stream, from its GOP cache: the video decoder
// config in effect and the frames from the newest keyframe to the newest
// packet, decoded in order; the last picture out (in display order) is it.
//
//   GopCollector gop = read_latest_gop(hub);            // the loop: refs only, no copy
//   pool.submit(loop, [g = gop.take()] { return decode_latest_picture(g, key); }, ...);
//
// Codecs: whatever protocol/av carries and this FFmpeg decodes (H.264, HEVC,
// AV1, VP9). Packets go through MediaToAv (length-prefixed NAL units with the
// config record as extradata).
//
// Threads: read_latest_gop on a loop thread (it attaches a consumer there);
// GopCollector on one thread at a time; decode_latest_picture on a worker
// thread (blocking CPU work). A SnapshotGop holds refs to shared immutable
// packets, so it may be moved to any thread.
// Bounds: at most kMaxGopFrames frames are collected; past it the rest of the
// GOP is ignored (the picture is the one kMaxGopFrames into it: a stream
// without keyframes for that long, such as intra refresh, still decodes).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "origin/hub_packet.h"
#include "protocol/av/av_ptr.h"

namespace weir::origin {
class StreamHub;
}

namespace weir::transcode {

inline constexpr size_t kMaxGopFrames = 3600;

struct SnapshotGop {
  origin::PacketRef config;               // the video decoder config record
  std::vector<origin::PacketRef> frames;  // video, the first a keyframe, in decode order
};

// Takes a stream's packets in order and keeps its newest decodable GOP: a new
// video config or keyframe starts over (a config waits for its keyframe).
class GopCollector {
 public:
  void add(const origin::PacketRef& p);
  // A video packet or config was seen (false: audio-only so far).
  bool video_seen() const { return video_seen_; }
  // A config and a keyframe after it: there is a picture to decode.
  bool complete() const { return gop_.config && !gop_.frames.empty(); }
  const SnapshotGop& gop() const { return gop_; }
  SnapshotGop take() { return std::move(gop_); }

 private:
  SnapshotGop gop_;
  origin::PacketRef pending_config_;  // a config whose keyframe has not come yet
  bool video_seen_ = false;
};

// Loop thread. What this loop's mirror of `hub` holds from its newest
// keyframe on (a lossless consumer attached from the latest keyframe, read to
// the end and released at once: no callback follows). Empty if the stream
// has ended.
GopCollector read_latest_gop(const std::shared_ptr<origin::StreamHub>& hub);

// Worker thread. Decodes `gop` and returns the last picture. `what` (the
// stream's key) starts every error message. Errors: unsupported codec or
// malformed config, no decoder in this FFmpeg, a decoder error other than a
// damaged packet (skipped), no picture decoded, a size out of range.
core::Result<protocol::av::FramePtr> decode_latest_picture(const SnapshotGop& gop, const std::string& what);

}  // namespace weir::transcode
