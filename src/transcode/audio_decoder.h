// AudioDecoder: one source's audio decoder (libavcodec) fed with the hub's
// audio packets, giving decoded frames with pts in ms. Shared by the
// rendition pipeline (one per source, for every encoded rendition) and the
// mixer (one per input).
//
//   Status st = dec.push(pkt, [&](AVFrame* f) { return use(f); });
//
// A config packet (re)opens the decoder unless it repeats the current one;
// MP3, which has no config packet, opens it from its first frame (and again
// when the codec changes). Frames before a decoder is open, or of another
// codec than the open one, are ignored. One undecodable packet is skipped
// and counted; push() fails after kMaxDecodeErrors in a row, or when a
// config cannot be opened (the message says why; the caller decides what
// that input's failure means).
//
// Thread: one thread at a time (a WorkerPool strand), never a loop.
#pragma once

extern "C" {
#include <libavutil/frame.h>
}

#include <cstdint>
#include <functional>
#include <optional>

#include "core/media_packet.h"
#include "core/status.h"
#include "protocol/av/av_ptr.h"
#include "protocol/av/media_to_av.h"
#include "transcode/video_decoder.h"

namespace weir::transcode {

class AudioDecoder {
 public:
  static constexpr int kMaxDecodeErrors = VideoDecoder::kMaxDecodeErrors;

  struct Stats {
    uint64_t frames = 0;   // frames decoded
    uint64_t errors = 0;   // packets the decoder refused
    uint64_t reopens = 0;  // decoder reopened for a new config
  };
  // Gets each decoded frame (pts = its best-effort timestamp, ms); the frame
  // is unreferenced after it returns.
  using FrameFn = std::function<core::Status(AVFrame*)>;

  core::Status push(const core::MediaPacket& pkt, const FrameFn& on_frame);
  bool open() const { return dec_ != nullptr; }
  const Stats& stats() const { return stats_; }

 private:
  core::Status open_for(const core::MediaPacket& config);
  core::Status decode(const core::MediaPacket& pkt, const FrameFn& on_frame);

  protocol::av::CodecContextPtr dec_;
  std::optional<protocol::av::MediaToAv> to_av_;
  core::MediaPacket config_;
  bool have_config_ = false;
  int errors_in_row_ = 0;
  Stats stats_;
};

}  // namespace weir::transcode
