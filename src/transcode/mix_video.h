// MixVideo: the picture side of a mix. Each input's video is decoded
// (VideoDecoder) and only its latest picture kept; each tick composes the
// program picture with one libavfilter graph - the background (one
// picture made when it changes) and, per shown input in z order,
// scale (aspect kept, centred in its rectangle) + overlay - and encodes it
// (VideoEncoder, libx264, a keyframe every 2 s).
//
// Every source and the background get the tick's pts, so the graph gives
// exactly one picture per tick whatever the inputs' rates: inputs of other
// sizes, pixel formats and frame rates are normalised by construction. The
// background is made by make_mix_background (mix_background.h: the colour,
// and the image over it, read from disk here on the strand when it changes).
// The graph is rebuilt when what it draws changes: a layout or background PATCH,
// an input appearing or going, an input's size or pixel format changing.
//
// Timing: each decoded picture waits in its input's queue until the tick of
// its program time (MixClock: its pts on the program's timeline, the same
// mapping as the input's audio, so the program keeps the input's own A/V
// sync); the tick draws the latest picture whose time has come.
//
// An input is shown while its latest picture came up less than kStaleMs ago
// (or, with on_input_loss=last_frame, as long as it has one); otherwise its
// rectangle shows the background. An input whose decoder fails is reset
// (counted) and shows the background until its next keyframe.
//
// Bounds: per input, the picture shown and at most kMaxQueued waiting (the
// clock's delay at 60 fps is 12); overflow action: the oldest waiting one
// is dropped (counted in frames_dropped).
// Thread: one thread at a time (the mix's WorkerPool strand), never a loop.
#pragma once

extern "C" {
#include <libavutil/frame.h>
}

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/media_packet.h"
#include "core/status.h"
#include "protocol/av/av_ptr.h"
#include "transcode/filter_graph.h"
#include "transcode/mix_clock.h"
#include "transcode/mix_spec.h"
#include "transcode/video_decoder.h"
#include "transcode/video_encoder.h"

namespace weir::transcode {

class MixVideo {
 public:
  static constexpr int64_t kStaleMs = 1000;
  static constexpr size_t kMaxQueued = 16;

  struct Stats {
    uint64_t frames_out = 0;     // program pictures encoded
    uint64_t graph_builds = 0;   // compose graph (re)built
    uint64_t input_resets = 0;   // input decoders reset after an error
    uint64_t inputs_shown = 0;   // inputs drawn in the last picture
    uint64_t frames_dropped = 0; // input pictures dropped from a full queue
    uint64_t background_errors = 0;  // background image unusable at draw time (colour alone drawn)
  };

  MixVideo(MixSpec spec, int encoder_threads);
  ~MixVideo();

  // A video packet of input `key` ("app/stream").
  void push(const std::string& key, const core::MediaPacket& pkt);
  // The input's stream ended: its decoder goes, and its picture unless
  // on_input_loss is last_frame.
  void lost(const std::string& key);
  void set_spec(MixSpec spec);
  // Composes and encodes the picture of program time `pts_ms` (`now_ms`:
  // the program's clock; `clocks`: each input's, by key); appends the
  // program's video packets (its config first) to `out`.
  core::Status tick(int64_t pts_ms, int64_t now_ms, const std::map<std::string, MixClock>& clocks,
                    std::vector<core::MediaPacket>& out);

  const Stats& stats() const { return stats_; }
  // Whether `key` has a picture that would be shown now.
  bool shown(const std::string& key, int64_t now_ms) const;

 private:
  struct Input {
    VideoDecoder dec;
    core::MediaPacket config;
    bool have_config = false;
    protocol::av::FramePtr last;
    int64_t last_ms = 0;  // program clock when `last` came up
    std::deque<std::pair<int64_t, protocol::av::FramePtr>> waiting;  // (input pts, picture), in pts order
  };
  // Brings up the latest of `in`'s waiting pictures whose program time is <= pts_ms.
  void promote(Input& in, const MixClock& clock, int64_t pts_ms, int64_t now_ms);

  core::Status make_background();
  core::Status build(const std::vector<std::pair<MixPlacement, const AVFrame*>>& shown);

  MixSpec spec_;
  int encoder_threads_;
  std::map<std::string, Input> inputs_;
  protocol::av::FramePtr background_;
  std::unique_ptr<FilterGraph> graph_;
  std::string graph_key_;  // what the graph draws; a change rebuilds it
  std::unique_ptr<VideoEncoder> enc_;
  Stats stats_;
};

}  // namespace weir::transcode
