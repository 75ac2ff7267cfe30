// Fmp4Muxer: fragmented MP4 (ISO/IEC 14496-12, CMAF-style fragments) for the
// HLS / LL-HLS packager. Pure: bytes in, bytes out, no I/O.
//
// Output: one init segment (ftyp + moov, EXT-X-MAP) and a series of fragments,
// each one moof + mdat (an LL-HLS partial segment, EXT-X-PART). Every moof uses
// default-base-is-moof offsets and carries a version-1 tfdt, so fragments are
// self-contained: a media segment is its parts concatenated byte for byte, and
// a segment that starts with a video sync sample decodes with the init segment
// alone. No styp/sidx are written.
//
// Tracks: video (H.264 avc1+avcC, HEVC hvc1+hvcC, AV1 av01+av1C, VP9
// vp09+vpcC) and/or audio (AAC mp4a+esds, MP3 mp4a+esds with
// objectTypeIndication 0x6B/0x69, Opus Opus+dOps from an OpusHead config).
// Track id 1 is video and 2 audio when both exist; a single track is id 1.
// Timescales: 90000 for video, the sample rate for AAC and MP3, 48000 for Opus.
//
// In-band configuration (protocol/fmp4_in_band.h): a VP9 config packet (the
// VPCodecConfigurationRecord) is only stored; the track is configured at the
// next VP9 key frame, whose header gives the picture size (and the whole
// record if the publisher sent none). A key frame whose record + size differ
// from the track's is a config change like a new config packet. MP3 has no
// config packet: the first MP3 packet configures the track from its frame
// headers, and a packet with other parameters is a change. Such a change
// reported by a MEDIA packet (kConfigChanged) also queued that packet, after
// the change. An MP3 packet that is not whole MPEG audio frames is dropped and
// counted (stats().samples_malformed); a multi-frame packet becomes one sample
// per frame (1152 samples for MPEG-1 layer II/III, 576 for MPEG-2/2.5 layer III).
// A VP9 key frame whose header does not parse, arriving while the track has no
// VP9 configuration, is refused (an error).
//
// Until init_segment() is called (first, and again after a reported
// change), a track that appears or changes is not a change (kConfigStored):
// nobody holds an init of the current config to keep samples apart for.
// Samples queued under the replaced config of that track (after any pending
// barrier) are dropped then (counted as ignored), since no init will describe
// them. So a caller may queue samples and ask for the init only when it
// writes the first fragment, letting a track whose config arrives in-band
// (MP3's first frame, an SRT publisher's AAC config) join it. Such a caller
// keeps the last init it took for the samples has_old_config_samples() says
// predate a change.
//
// Timing: each sample's decode time is its own dts (ms) converted to the track
// timescale with rounding, so the timeline never drifts from the input clock.
// Video sample durations are the distance to the next sample's decode time;
// hence the muxer HOLDS BACK THE LAST VIDEO SAMPLE until the next video sample
// (or end_held_samples()) gives its duration: a fragment flushed right after
// add_packet(keyframe) ends just before that keyframe. Audio frames have a
// known length (AAC 1024 samples, Opus from the TOC byte), so audio is not held
// back: decode times follow the frame grid (previous + frame length) while the
// input dts stays within half a frame of it (ms timestamps are rounded), and
// re-sync to the dts beyond that (a gap or overlap), stretching or shrinking
// the previous frame if it is still unflushed.
//
// Input rules: dts >= 0 and non-decreasing per track (the hub guarantees it;
// a dts at or before the previous one is moved 1 tick after it and counted in
// stats()). Video samples before the first keyframe of a configuration are
// dropped. Payloads are the MediaPacket codec payload: AVCC/HVCC
// length-prefixed NAL units (written as they are), AV1 low-overhead OBUs
// (temporal delimiters and padding OBUs removed, AV1-ISOBMFF 2.4), raw AAC
// frames, Opus packets.
//
// Config changes: a config packet whose bytes differ from the track's current
// config (or one that adds a track) once output has started returns
// kConfigChanged. The samples queued before it belong to the old init segment:
// the held video sample is completed at the config packet's dts, and the next
// flush_fragment() returns only those samples (the last fragment for the old
// init). init_segment() already describes the new configuration; the caller
// closes the segment there and serves the new init (new EXT-X-MAP) before the
// fragments that follow. Video samples are dropped after any change until the
// next keyframe (also when only the audio config changed or an audio track
// appeared), so the first fragment of the new init is independent. Decode
// times continue across the change.
//
// Threading: not thread-safe; one muxer per hub output, used on one loop.
// Bounds: at most max_pending_samples / max_pending_bytes may wait for a flush;
// past that add_packet() fails (the caller is not cutting fragments).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/media_packet.h"
#include "core/status.h"

namespace weir::protocol {

struct Fmp4MuxerOptions {
  // Picture size for the AV1 sample entry when av1C carries no sequence
  // header OBU to read it from.
  uint32_t width_hint = 0;
  uint32_t height_hint = 0;
  size_t max_pending_samples = 8192;
  size_t max_pending_bytes = 64 * 1024 * 1024;
  size_t max_sample_size = 16 * 1024 * 1024;
};

enum class Fmp4AddResult : uint8_t {
  kQueued,         // media sample accepted
  kConfigStored,   // config accepted (first config, or identical to the current one)
  kConfigChanged,  // config changed after output started: flush, then re-send init_segment()
  kIgnored,        // not muxed: data track, empty payload, unconfigured track, codec
                   // mismatch, video before its first keyframe
};

// What the packager needs to know about one track (for CODECS, RESOLUTION).
struct Fmp4TrackInfo {
  core::TrackType type = core::TrackType::kVideo;
  core::Codec codec = core::Codec::kUnknown;
  uint32_t track_id = 0;
  uint32_t timescale = 0;
  uint32_t width = 0;         // video
  uint32_t height = 0;
  uint32_t sample_rate = 0;   // audio
  uint16_t channels = 0;
  std::string codecs;         // RFC 6381 value, e.g. "avc1.64001f", "mp4a.40.2"
};

struct Fmp4Fragment {
  core::Slice data;              // moof + mdat; empty when nothing was ready
  uint32_t sequence_number = 0;  // mfhd sequence number
  // The first video sample is a sync sample (EXT-X-PART INDEPENDENT=YES).
  // Always true for audio-only output.
  bool independent = false;
  int64_t first_dts_ms = 0;      // smallest input dts among the samples
  // Duration of the primary track (video if the fragment has video samples,
  // else audio), from the sample durations: exact in the track timescale.
  double duration_ms = 0;
  uint32_t video_samples = 0;
  uint32_t audio_samples = 0;
  bool empty() const { return data.empty(); }
};

struct Fmp4MuxerStats {
  uint64_t samples_queued = 0;
  uint64_t samples_ignored = 0;
  uint64_t dts_clamped = 0;    // dts at/before the previous one, moved forward
  uint64_t audio_resyncs = 0;  // audio dts left the frame grid (gap or overlap)
  uint64_t samples_malformed = 0;  // MP3 packets that are not whole frames: dropped
  uint64_t fragments = 0;
};

class Fmp4Muxer {
 public:
  explicit Fmp4Muxer(const Fmp4MuxerOptions& options = {});

  // Takes one packet from the hub: config packets (kConfig) set up or change a
  // track; media packets are queued (see the file comment for timing and the
  // held-back video sample). Fails on a config it cannot parse or an
  // unsupported codec in a config, on an oversized sample, and when the
  // pending caps are exceeded; the muxer stays usable after a failure.
  core::Result<Fmp4AddResult> add_packet(const core::MediaPacket& pkt);

  // ftyp + moov for the current configuration. Fails if no track is
  // configured. Marks output as started (later config changes report
  // kConfigChanged).
  core::Result<core::Slice> init_segment();

  // Builds a fragment from every sample whose duration is known (all queued
  // samples except the held-back last video sample), or only those before a
  // pending config change. Returns an empty fragment if there are none.
  Fmp4Fragment flush_fragment(uint32_t sequence_number);

  // Gives the held-back video sample its duration so the next flush includes
  // it: end_dts_ms - its dts if that is positive, else the previous sample's
  // duration (or 40 ms if there was none). For the end of a stream.
  void end_held_samples(std::optional<int64_t> end_dts_ms = std::nullopt);

  // Samples flush_fragment() would emit now.
  bool has_ready_samples() const;
  // Duration (ms) of the samples flush_fragment() would emit now, primary track.
  double ready_duration_ms() const;
  // True between a kConfigChanged and the next flush.
  bool config_change_pending() const { return change_pending_; }
  // The next flush_fragment() returns samples of the configuration before a
  // change: they go with the init segment taken before it, not with what
  // init_segment() returns now.
  bool has_old_config_samples() const;
  // Incremented at every kConfigChanged.
  uint32_t init_generation() const { return init_generation_; }

  // Current tracks in track id order.
  std::vector<Fmp4TrackInfo> tracks() const;
  // "avc1.64001f,mp4a.40.2" for the HLS CODECS attribute.
  std::string codecs() const;
  const Fmp4MuxerStats& stats() const { return stats_; }

  // Forgets tracks, queued samples and timeline.
  void reset();

 private:
  struct Sample {
    core::Slice data;
    int64_t dts_ms = 0;
    uint64_t decode_time = 0;
    uint32_t duration = 0;
    int32_t composition_offset = 0;
    uint32_t flags = 0;
    bool sync = false;
  };

  struct Track {
    Fmp4TrackInfo info;
    bool configured = false;
    core::Slice config;  // codec payload of the config packet
    uint32_t sample_entry_type = 0;  // avc1, hvc1, av01, vp09, mp4a, Opus
    uint32_t config_box_type = 0;    // avcC, hvcC, av1C, vpcC, esds, dOps
    core::Slice config_box;          // that box's body (after the box header)
    uint8_t esds_oti = 0;            // mp4a: objectTypeIndication (0x40 AAC, 0x6B/0x69 MP3)
    // VP9, MP3: the in-band parameters the entry was built from
    // (fmp4_in_band.h); a sample with other ones reconfigures the track.
    std::vector<uint8_t> derived;
    core::Slice vp9_record;          // the last VP9 config packet's record (may be empty)

    std::deque<Sample> ready;
    std::optional<Sample> held;
    size_t barrier = SIZE_MAX;     // ready[0..barrier) predate a config change
    uint32_t barrier_track_id = 0; // track id in the init those samples belong to
    bool started = false;          // video: first keyframe seen
    bool have_last = false;
    uint64_t last_decode = 0;      // decode time of the latest sample
    uint32_t last_duration = 0;    // latest known sample duration
  };

  struct Setup;  // a track's sample entry and info, before it is installed

  core::Result<Fmp4AddResult> on_config(const core::MediaPacket& pkt);
  core::Result<Fmp4AddResult> on_sample(const core::MediaPacket& pkt);
  core::Result<Fmp4AddResult> on_mp3(Track& t, const core::MediaPacket& pkt, const core::Slice& payload);
  core::Status check_room(size_t samples, size_t bytes, size_t largest) const;
  core::Result<Setup> setup_from_config(const core::MediaPacket& pkt) const;
  // Installs `s` in `t` (config: the config packet's payload, empty for an
  // in-band configuration) and does the change bookkeeping at `dts`.
  core::Result<Fmp4AddResult> reconfigure(Track& t, Setup s, core::Slice config, int64_t dts);
  void drop_queued(Track& t);
  void queue_audio(Track& t, core::Slice data, int64_t dts_ms, uint32_t frame);
  void assign_track_ids();
  void complete_held(Track& t, std::optional<int64_t> end_dts_ms);
  void write_trak(core::ByteWriter& w, const Track& t) const;
  void write_sample_entry(core::ByteWriter& w, const Track& t) const;
  size_t pending_samples() const;
  Track* primary_ready_track();
  const Track* primary_ready_track() const;
  size_t ready_count(const Track& t) const;

  Fmp4MuxerOptions options_;
  Track video_;
  Track audio_;
  // init_segment() was called since the last reported change: the caller
  // holds the init of the current configuration.
  bool init_taken_ = false;
  bool change_pending_ = false;
  uint32_t init_generation_ = 0;
  size_t pending_bytes_ = 0;
  Fmp4MuxerStats stats_;
};

}  // namespace weir::protocol
