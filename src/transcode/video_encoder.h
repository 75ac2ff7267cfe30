// VideoEncoder: one libx264/libx265 encoder fed with pictures (pts in ms)
// and giving the output stream's MediaPackets (its config first, then
// frames, dts non-decreasing and never negative).
//
// Keyframes: only where the caller forces them (forced-idr, no scene-cut
// keyframes) plus a GOP cap (gop_frames, default 10 s of frames), so a
// caller can place them on a source's keyframes or at a fixed interval.
// The size, pixel format and rate are fixed at open(); a picture of another
// size is refused (the caller's filter graph scales into it).
//
// Thread: one thread at a time (a WorkerPool strand), never a loop. The
// destructor joins the encoder's own threads: free it on the pool too.
#pragma once

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
#include <libavutil/rational.h>
}

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/media_packet.h"
#include "core/status.h"
#include "protocol/av/av_ptr.h"
#include "protocol/av/av_to_media.h"

namespace weir::transcode {

struct VideoEncoderSpec {
  std::string codec = "libx264";  // libx264 | libx265
  std::string preset = "veryfast";
  std::string profile;            // "" = the encoder's default
  int64_t bitrate_kbps = 1000;
  int64_t maxrate_kbps = 0;       // 0: the bitrate (VBV cap = bitrate)
  int threads = 1;                // the encoder's own threads
  int gop_frames = 0;             // keyframe at least every N frames (0: 10 s)
};

class VideoEncoder {
 public:
  static core::Result<std::unique_ptr<VideoEncoder>> open(const VideoEncoderSpec& spec, int width, int height,
                                                          AVPixelFormat format, AVRational frame_rate);
  ~VideoEncoder();
  VideoEncoder(const VideoEncoder&) = delete;
  VideoEncoder& operator=(const VideoEncoder&) = delete;

  // One picture (pts in ms; `key`: an IDR) or nullptr to flush; appends the
  // packets made to `out`.
  core::Status encode(AVFrame* frame, bool key, std::vector<core::MediaPacket>& out);

  int width() const;
  int height() const;
  uint64_t frames_out() const { return frames_out_; }

 private:
  VideoEncoder() = default;
  protocol::av::CodecContextPtr enc_;
  std::optional<protocol::av::AvToMedia> to_media_;
  uint64_t frames_out_ = 0;
};

}  // namespace weir::transcode
