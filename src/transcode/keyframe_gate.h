// KeyframeGate: the overflow action of a job that hands a hub's packets to a
// bounded WorkerPool strand (TranscodeJob, MixJob's inputs): when the strand
// refuses a packet (the encoders cannot keep up) or the consumer reports a
// gap, nothing more goes until the source's next video keyframe, which goes
// after the source's latest video config (a decoder restarting at a
// keyframe needs it). Audio and configs in between are dropped too; the
// caller counts what offer() did not send, by kind.
//
//   auto o = gate.offer(m, [&](const core::MediaPacket& p) { return strand_submit(p); });
//   if (!o.sent) count_drop(m);
//
// Thread: the job's loop (one thread); `submit` is called inside offer().
#pragma once

#include "core/media_packet.h"

namespace weir::transcode {

class KeyframeGate {
 public:
  struct Outcome {
    bool sent = false;            // `m` went to submit and was taken
    bool resumed = false;         // a drop ended at this keyframe
    bool began_dropping = false;  // submit refused `m`: dropping from here
  };

  // The consumer lost packets (ReadResult::kGap): resume at the next keyframe.
  void gap() { dropping_ = true; }
  // A new attachment: no drop, no config.
  void reset() {
    dropping_ = false;
    have_config_ = false;
    config_ = core::MediaPacket();
  }
  bool dropping() const { return dropping_; }

  // `submit(const MediaPacket&) -> bool` hands one packet on (false: refused).
  template <class Submit>
  Outcome offer(const core::MediaPacket& m, Submit&& submit) {
    Outcome o;
    const bool video_frame = m.is_video() && !m.is_config();
    if (m.is_video() && m.is_config()) {
      config_ = m;
      have_config_ = true;
    }
    if (dropping_) {
      if (!(video_frame && m.is_keyframe())) return o;
      if (have_config_ && !submit(config_)) return o;
      dropping_ = false;
      o.resumed = true;
    }
    if (submit(m)) {
      o.sent = true;
      return o;
    }
    dropping_ = true;
    o.began_dropping = true;
    return o;
  }

 private:
  core::MediaPacket config_;  // the source's latest video config, sent again when a drop ends
  bool have_config_ = false;
  bool dropping_ = false;
};

}  // namespace weir::transcode
