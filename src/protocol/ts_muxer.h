// TsMuxer: Weir MediaPackets -> MPEG-2 Transport Stream (ISO/IEC 13818-1).
//
// One program, fixed PIDs as FFmpeg uses them: PMT 0x1000, video 0x100,
// audio 0x101. Stream types: H.264 0x1B, HEVC 0x24, AAC (ADTS) 0x0F,
// MP3 0x03, Opus 0x06 with the "Opus" registration descriptor and the DVB
// extension descriptor 0x80 (ETSI TS 102 366 style, as FFmpeg writes it).
//
// Output follows what FFmpeg's mpegts muxer produces, so ffprobe/ffmpeg and
// hls.js read it without warnings:
//  - video: length-prefixed NAL units -> Annex-B, an access unit delimiter
//    first (H.264 type 9 / HEVC type 35) unless the AU starts with one, and on
//    keyframes the VPS/SPS/PPS of the decoder config unless the AU has them;
//    PES stream id 0xE0 with PES_packet_length 0 (unbounded), or the real
//    length when bounded_video_pes is set and it fits in 16 bits;
//  - audio: raw AAC frames get an ADTS header built from the AudioSpecificConfig;
//    PES stream id 0xC0 (0xBD for Opus), bounded length; up to
//    audio_frames_per_pes AAC frames share one PES;
//  - PTS/DTS at 90 kHz = ms * 90 + timestamp_offset, modulo 2^33 (PTS only when
//    pts == dts); PCR = DTS - pcr_delay in the adaptation field of the first
//    TS packet of each video PES (of each audio PES in an audio-only
//    program), never going backwards (a jump back of more than a second is
//    written with discontinuity_indicator set); when video is sparse, an
//    adaptation-only packet on the video PID carries a PCR whenever audio
//    runs 50 ms past the last PCR;
//  - random_access_indicator on keyframe PES and on audio PES;
//  - stuffing through the adaptation field of the last packet of each PES;
//  - continuity counters per PID live in the muxer and continue across
//    write_tables() calls, so segments written one after another concatenate
//    into one valid stream.
//
// Ownership/threading: one muxer per output stream, used by one thread. It
// keeps the decoder configs (owned Slices), the counters and at most one
// pending audio PES; every write appends whole 188-byte packets to `out`.
#pragma once

#include <cstdint>
#include <vector>

#include "core/buffer.h"
#include "core/media_packet.h"
#include "core/status.h"
#include "protocol/codec_config.h"
#include "protocol/ts_packet.h"

namespace weir::protocol {

struct TsMuxerOptions {
  // 90 kHz ticks added to every PTS, DTS and PCR. FFmpeg starts streams at
  // 1.4 s (126000); 0 starts PTS at the packet's own ms value.
  int64_t timestamp_offset = 126000;
  // PCR = DTS - pcr_delay (90 kHz), but not below 0 while DTS is not. FFmpeg's
  // default max_delay is 0.7 s; a smaller value lowers decoder buffering on
  // live (SRT) outputs.
  int64_t pcr_delay = 63000;
  // AAC frames packed into one audio PES (1..64). HLS players prefer fewer,
  // larger PES; live SRT viewers want 1. Pending frames are written before
  // any video keyframe, at write_tables() and at flush().
  size_t audio_frames_per_pes = 1;
  // Write PAT+PMT before every video keyframe (and every 500 ms of audio in an
  // audio-only program), for continuous streams that viewers may join at any
  // keyframe. Tables are always written before the first PES and after a
  // track change, whatever this says.
  bool tables_before_keyframes = false;
  // Video PES carry their PES_packet_length when it fits (payload + header
  // <= 65535 bytes; larger ones stay unbounded). A live reader then knows a
  // frame is complete when its last byte arrives, not at the next frame's
  // start: no frame of delay, and the last frame of a stream is not left
  // waiting for a PES that never comes (an SRT edge lost it).
  bool bounded_video_pes = false;
  uint16_t transport_stream_id = 1;
  uint16_t program_number = 1;
};

class TsMuxer {
 public:
  explicit TsMuxer(const TsMuxerOptions& options = {});

  // Video track: kH264 with an avcC record or kHEVC with an hvcC record.
  // kUnknown removes the track. A codec change bumps the PMT version; the new
  // tables are written before the next PES.
  core::Status set_video(core::Codec codec, core::ByteView decoder_config);
  // Audio track: kAAC with an AudioSpecificConfig, kMP3 (config ignored; an
  // MP3 frame also configures the track by itself, as FLV has no MP3 config)
  // or kOpus (config: an OpusHead, or empty for stereo). kUnknown removes it.
  core::Status set_audio(core::Codec codec, core::ByteView config);

  void set_timestamp_offset(int64_t ticks_90khz) { options_.timestamp_offset = ticks_90khz; }
  int64_t timestamp_offset() const { return options_.timestamp_offset; }
  bool has_video() const { return video_.codec != core::Codec::kUnknown; }
  bool has_audio() const { return audio_.codec != core::Codec::kUnknown; }

  // PAT + PMT (two packets). Pending audio is written first.
  void write_tables(core::ByteWriter& out);
  // One access unit. Config packets (kConfig) update the track through
  // set_video/set_audio and write nothing; data-track packets and packets
  // without codec payload are ignored. Fails (writing nothing) for a track
  // that is not configured, a codec that differs from the configured one,
  // malformed NAL lengths, or an AAC frame ADTS cannot carry.
  core::Status write_packet(core::ByteWriter& out, const core::MediaPacket& pkt);
  // Writes the pending audio PES, if any. Call before cutting a segment.
  void flush(core::ByteWriter& out);

  // Continuity counter the next packet on `pid` will carry.
  uint8_t next_continuity_counter(uint16_t pid) const;

 private:
  struct Track {
    core::Codec codec = core::Codec::kUnknown;
    core::Slice config;
    // video
    int nal_length_size = 4;
    std::vector<core::Slice> param_sets;  // VPS, SPS, PPS in that order (NAL header included)
    // audio
    AacConfig aac;
    uint32_t sample_rate = 0;
    uint8_t channels = 2;
  };

  core::Status write_video(core::ByteWriter& out, const core::MediaPacket& pkt);
  core::Status write_audio(core::ByteWriter& out, const core::MediaPacket& pkt);
  void write_section(core::ByteWriter& out, uint16_t pid, const std::vector<uint8_t>& section);
  // Splits header+payload into TS packets on `pid`.
  void write_pes(core::ByteWriter& out, uint16_t pid, core::ByteView pes_header,
                 core::ByteView payload, bool random_access, bool with_pcr, int64_t pcr90,
                 bool discontinuity);
  void write_pcr_only(core::ByteWriter& out, uint16_t pid, int64_t pcr90, bool discontinuity);
  // Next PCR for a PES with this (unmasked) DTS: monotonic unless it jumps
  // back by more than a second (then *discontinuity is set).
  int64_t next_pcr(int64_t dts90, bool* discontinuity);
  void maybe_write_tables(core::ByteWriter& out, bool keyframe, int64_t dts90);
  void emit_tables(core::ByteWriter& out);
  void flush_audio(core::ByteWriter& out);
  uint8_t& cc_for(uint16_t pid);
  std::vector<PmtStreamSpec> pmt_streams() const;
  void update_pmt_identity();

  TsMuxerOptions options_;
  Track video_;
  Track audio_;
  uint8_t cc_pat_ = 0, cc_pmt_ = 0, cc_video_ = 0, cc_audio_ = 0, cc_other_ = 0;
  bool tables_written_ = false;
  uint8_t pmt_version_ = 0;
  std::vector<uint8_t> pmt_identity_;       // stream types, PIDs, descriptors of the current PMT
  std::vector<uint8_t> written_identity_;   // ... and of the last one written
  int64_t last_tables_dts_ = INT64_MIN;
  bool have_pcr_ = false;
  int64_t last_pcr_ = 0;                    // unmasked 90 kHz
  // Pending audio PES (AAC batching).
  core::ByteWriter pending_audio_;
  size_t pending_frames_ = 0;
  int64_t pending_pts90_ = 0;
  int64_t pending_end90_ = 0;     // PTS of the sample after the last pending frame
};

}  // namespace weir::protocol
