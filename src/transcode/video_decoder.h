// VideoDecoder: one source's video decoder (libavcodec) fed with the hub's
// packets: configs (a new one reopens the decoder, an identical one is
// ignored) and frames, giving decoded pictures with pts in ms.
//
//   VideoDecoder dec;
//   if (pkt.is_config()) return dec.configure(pkt);
//   if (!dec.admit(pkt)) return ok;           // no decoder yet, or waiting for a keyframe
//   return dec.decode(pkt, [&](AVFrame* f) { return use(f); });
//
// After a config, an error or skip_to_keyframe() nothing is decoded until
// the next keyframe. decode() fails when the source cannot be decoded:
// kMaxDecodeErrors unreadable/undecodable packets in a row, or
// kMaxPacketsWithoutFrame packets without a picture (a decoder may swallow
// garbage without an error); the message says why.
//
// Thread: one thread at a time (a WorkerPool strand), never a loop.
#pragma once

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/rational.h>
}

#include <cstdint>
#include <functional>
#include <optional>

#include "core/media_packet.h"
#include "core/status.h"
#include "protocol/av/av_ptr.h"
#include "protocol/av/media_to_av.h"

namespace weir::transcode {

class VideoDecoder {
 public:
  static constexpr int kMaxDecodeErrors = 50;
  static constexpr int kMaxPacketsWithoutFrame = 300;

  struct Stats {
    uint64_t frames = 0;   // pictures decoded
    uint64_t errors = 0;   // packets or frames the decoder refused
    uint64_t reopens = 0;  // decoder reopened for a new config
  };
  // Gets each decoded picture (pts in ms, pict_type cleared); it may keep a
  // reference (av_frame_ref) but the frame is unreferenced after it returns.
  using FrameFn = std::function<core::Status(AVFrame*)>;

  // A video config: (re)opens the decoder unless it repeats the current one.
  core::Status configure(const core::MediaPacket& config);
  // Whether the video frame `pkt` goes to decode(): a decoder is open and, if
  // one is awaited, it is a keyframe (which ends the wait).
  bool admit(const core::MediaPacket& pkt);
  core::Status decode(const core::MediaPacket& pkt, const FrameFn& on_frame);
  void skip_to_keyframe() { need_key_ = true; }

  bool open() const { return dec_ != nullptr; }
  // The source's frame rate as the decoder reports it ({0,1} unknown).
  AVRational frame_rate() const { return rate_; }
  const Stats& stats() const { return stats_; }

 private:
  protocol::av::CodecContextPtr dec_;
  std::optional<protocol::av::MediaToAv> to_av_;
  core::MediaPacket config_;
  bool need_key_ = true;
  int errors_in_row_ = 0;
  int packets_since_frame_ = 0;
  AVRational rate_{0, 1};
  Stats stats_;
};

}  // namespace weir::transcode
