// MixEngine: the FFmpeg side of one mix, everything that runs on its
// WorkerPool strand: the picture (MixVideo) and the sound (MixAudio) of the
// program, and their interleaving into one packet sequence for the program
// hub. Input packets, ticks and spec changes reach it in the order the job's
// loop submitted them (one strand), so a PATCH applies between two ticks.
//
// Timing: each input has a MixClock (mix_clock.h), anchored on its packets
// as they arrive, that both MixVideo and MixAudio use to place its pictures
// and samples on the program's timeline: the program keeps each input's own
// audio/video sync, kDelayMs behind its live edge. `now_ms` everywhere is the
// program's clock (ms since the mix started, the same clock as frame pts).
//
// Interleaving: the video encoder delays pictures (lookahead, B-frames), so
// audio packets are held until the video's dts has reached them; at most
// kMaxHeldAudio wait (overflow action: the oldest goes out early).
//
// Thread: the strand only (one thread at a time, never a loop).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/media_packet.h"
#include "core/status.h"
#include "transcode/mix_audio.h"
#include "transcode/mix_clock.h"
#include "transcode/mix_spec.h"
#include "transcode/mix_video.h"

namespace weir::transcode {

class MixEngine {
 public:
  static constexpr size_t kMaxHeldAudio = 256;

  MixEngine(const MixSpec& spec, int encoder_threads);

  void push(const std::string& key, const core::MediaPacket& pkt, int64_t now_ms);
  void lost(const std::string& key);
  void set_spec(const MixSpec& spec);
  // Program frame `frame` (pts = frame * 1000 / fps ms) and the audio up to
  // the same time; appends the program's packets to `out`.
  core::Status tick(int64_t frame, int64_t now_ms, std::vector<core::MediaPacket>& out);

  const MixVideo& video() const { return video_; }
  const MixAudio& audio() const { return audio_; }
  // The input's clock (nullptr before its first packet).
  const MixClock* clock(const std::string& key) const;

 private:
  int fps_;
  MixVideo video_;
  MixAudio audio_;
  std::map<std::string, MixClock> clocks_;  // by input key
  std::deque<core::MediaPacket> held_audio_;
  int64_t last_video_dts_ = INT64_MIN;
  bool sent_audio_config_ = false;
};

}  // namespace weir::transcode
