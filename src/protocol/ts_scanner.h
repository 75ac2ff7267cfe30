// TsScanner: the cheap look at MPEG-TS segments an HLS player needs. It
// follows PAT/PMT to the first video (H.264/HEVC) and audio stream and, for
// each PES, reads only its header (PTS/DTS) and, for video, the first
// kVideoScanBytes of the elementary stream: enough to see an AUD/SPS/IDR
// (keyframe) and a latency SEI. PES payloads are never reassembled.
//
// Time: 33-bit 90 kHz DTS is unwrapped per stream and reported in ms.
// Input may be split anywhere; a partial packet is carried to the next feed().
//
// Thread: one scanner per player, one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "core/buffer.h"
#include "core/status.h"

namespace weir::protocol {

struct TsFrame {
  bool video = false;
  int64_t dts_ms = 0;
  bool keyframe = false;             // video: RAI flag, or SPS/IDR in the scanned bytes
  std::optional<uint64_t> probe_us;  // latency SEI send time
};

class TsScanner {
 public:
  using Callback = std::function<void(const TsFrame&)>;
  static constexpr size_t kVideoScanBytes = 512;

  // Errors: lost sync (a packet not starting with 0x47 after a packet boundary).
  core::Status feed(core::ByteView data, const Callback& cb);
  // End of a segment: reports a video PES still being scanned, drops a
  // partial packet.
  void end_segment(const Callback& cb);

  uint64_t packets() const { return packets_; }

 private:
  struct Stream {
    uint16_t pid = 0x1FFF;
    bool collecting = false;
    bool rai = false;
    uint8_t buf[kVideoScanBytes + 188];
    size_t len = 0;
    bool have_last = false;
    int64_t last_raw = 0;
    int64_t unwrapped = 0;
  };
  void packet(core::ByteView p, const Callback& cb);
  void emit(Stream& s, bool video, const Callback& cb);
  int64_t unwrap(Stream& s, int64_t raw);

  uint8_t carry_[188];
  size_t carry_len_ = 0;
  uint16_t pmt_pid_ = 0x1FFF;
  Stream video_;
  Stream audio_;
  uint64_t packets_ = 0;
};

}  // namespace weir::protocol
