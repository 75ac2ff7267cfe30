// MixAudio: the sound side of a mix. Each input's audio is decoded
// (AudioDecoder, the rendition pipeline's), resampled to 48 kHz stereo float by its own libavfilter
// graph (aresample + aformat; rebuilt when the input's format changes) and
// queued in a FIFO; each tick takes the same number of samples from every
// input - silence where one has none (not live, dropped, muted by having no
// audio) - and mixes them in one graph (volume per input for its gain or
// mute, amix without normalisation), then encodes AAC (AudioEncoder).
//
// Timing: the program's audio counts samples (tick(upto) makes samples up to
// `upto`), so it stays continuous and monotonic whatever the inputs do. Each
// input's FIFO knows the input time of its first sample; a tick takes from
// it the samples whose program time (MixClock, the same mapping as the
// input's pictures: the program keeps the input's own A/V sync) falls in the
// tick: older ones are dropped (late), silence stands in before the first
// one that has come and after the last (an underrun, counted). The program
// time is also shifted by the encoder's priming (AAC: 1024 samples), which
// the encoder stamps before the first sample, so the program's audio and
// video stamps agree. A gap in an input's timestamps is filled with silence;
// a jump back restarts its FIFO.
//
// Bounds: each input's FIFO holds at most kMaxBacklogSamples; past it the
// oldest samples are dropped (counted in samples_dropped), so a bursty input
// cannot grow memory or delay.
// Thread: one thread at a time (the mix's strand), never a loop.
#pragma once

extern "C" {
#include <libavutil/audio_fifo.h>
}

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/media_packet.h"
#include "core/status.h"
#include "protocol/av/av_ptr.h"
#include "transcode/audio_decoder.h"
#include "transcode/audio_encoder.h"
#include "transcode/filter_graph.h"
#include "transcode/mix_clock.h"
#include "transcode/mix_spec.h"

namespace weir::transcode {

class MixAudio {
 public:
  static constexpr int kRate = 48000;
  static constexpr int64_t kMaxBacklogSamples = kRate;      // 1 s (the clock's delay is 200 ms)
  static constexpr int64_t kJoinSamples = kRate / 100;       // 10 ms: closer than this is continuous

  struct Stats {
    uint64_t frames_out = 0;       // AAC frames encoded
    uint64_t underruns = 0;        // an input ran dry while read
    uint64_t samples_dropped = 0;  // input samples dropped: late, or past the backlog cap
    uint64_t input_errors = 0;     // an input's audio decoder failed (silent until its next config)
  };

  explicit MixAudio(MixSpec spec);
  ~MixAudio();

  void push(const std::string& key, const core::MediaPacket& pkt);
  void lost(const std::string& key);
  void set_spec(MixSpec spec);
  // Mixes and encodes the program's audio up to sample `upto` (48 kHz);
  // appends AAC frames to `out`. `clocks`: each input's, by key.
  core::Status tick(int64_t upto, const std::map<std::string, MixClock>& clocks, std::vector<core::MediaPacket>& out);
  // The program's AAC config, once the encoder is open (first tick).
  const core::MediaPacket* config() const { return enc_ ? &config_ : nullptr; }
  const Stats& stats() const { return stats_; }

 private:
  struct FifoFree {
    void operator()(AVAudioFifo* f) const { av_audio_fifo_free(f); }
  };
  struct Input {
    AudioDecoder dec;
    std::unique_ptr<FilterGraph> resample;
    std::string resample_key;
    std::unique_ptr<AVAudioFifo, FifoFree> fifo;
    int64_t head = 0;  // input time of the FIFO's first sample, in 48 kHz samples
  };
  // `n` samples of `in` for program samples from `start` into `f` (planar, 2
  // channels) from offset 0, silence where it has none; true on an underrun.
  bool take(Input& in, int64_t start, int n, AVFrame* f);

  core::Status queue(Input& in, AVFrame* decoded);
  core::Status build_mix();

  MixSpec spec_;
  std::map<std::string, Input> inputs_;
  std::unique_ptr<FilterGraph> mix_;
  std::string mix_key_;
  std::unique_ptr<AudioEncoder> enc_;
  core::MediaPacket config_;
  int64_t done_ = 0;  // program samples made
  Stats stats_;
};

}  // namespace weir::transcode
