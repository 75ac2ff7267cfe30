// MixAudio: the sound side of a mix. Each input's audio is decoded
// (libavcodec), resampled to 48 kHz stereo float by its own libavfilter
// graph (aresample + aformat; rebuilt when the input's format changes) and
// queued in a FIFO; each tick takes the same number of samples from every
// input - silence where one has none (not live, dropped, muted by having no
// audio) - and mixes them in one graph (volume per input for its gain or
// mute, amix without normalisation), then encodes AAC (AudioEncoder).
//
// Timing: the program's audio counts samples (tick(upto) makes samples up to
// `upto`), so it stays continuous and monotonic whatever the inputs do. An
// input starts being read once kPrebufferSamples are queued and is read
// until it runs dry (an underrun, counted: it waits for the prebuffer again),
// which absorbs the network's jitter.
//
// Bounds: each input's FIFO holds at most kMaxBacklogSamples; past it the
// oldest samples are dropped down to the prebuffer (counted in
// samples_dropped), so a bursty input cannot grow memory or delay.
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
#include "protocol/av/media_to_av.h"
#include "transcode/audio_encoder.h"
#include "transcode/filter_graph.h"
#include "transcode/mix_spec.h"

namespace weir::transcode {

class MixAudio {
 public:
  static constexpr int kRate = 48000;
  static constexpr int64_t kPrebufferSamples = kRate / 20;   // 50 ms
  static constexpr int64_t kMaxBacklogSamples = kRate / 4;   // 250 ms

  struct Stats {
    uint64_t frames_out = 0;       // AAC frames encoded
    uint64_t underruns = 0;        // an input ran dry while read
    uint64_t samples_dropped = 0;  // input samples dropped past the backlog cap
    uint64_t input_errors = 0;     // input audio that could not be decoded
  };

  explicit MixAudio(MixSpec spec);
  ~MixAudio();

  void push(const std::string& key, const core::MediaPacket& pkt);
  void lost(const std::string& key);
  void set_spec(MixSpec spec);
  // Mixes and encodes the program's audio up to sample `upto` (48 kHz);
  // appends AAC frames to `out`.
  core::Status tick(int64_t upto, std::vector<core::MediaPacket>& out);
  // The program's AAC config, once the encoder is open (first tick).
  const core::MediaPacket* config() const { return enc_ ? &config_ : nullptr; }
  const Stats& stats() const { return stats_; }

 private:
  struct FifoFree {
    void operator()(AVAudioFifo* f) const { av_audio_fifo_free(f); }
  };
  struct Input {
    protocol::av::CodecContextPtr dec;
    std::optional<protocol::av::MediaToAv> to_av;
    core::MediaPacket config;
    std::unique_ptr<FilterGraph> resample;
    std::string resample_key;
    std::unique_ptr<AVAudioFifo, FifoFree> fifo;
    bool primed = false;
  };

  core::Status open_input(Input& in, const core::MediaPacket& config);
  core::Status decode(Input& in, const core::MediaPacket& pkt);
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
