// TsDemuxer: MPEG-2 Transport Stream (SRT ingest, stored HLS segments) ->
// Weir MediaPackets (FLV tag bodies; see ts_to_packets.h for the codec side).
//
// Input: feed() takes the stream in pieces of any size (SRT payloads are
// usually 7 x 188 bytes, but nothing assumes it). The demuxer locks on two
// sync bytes 188 apart, drops packets with transport_error_indicator, and
// after losing sync skips bytes until it finds the pattern again (counted in
// resyncs / garbage_bytes). More than max_unsynced_bytes without sync fails.
//
// Program: the first program of the PAT (program_number != 0); from its PMT,
// the first H.264 (0x1B) or HEVC (0x24) stream and the first AAC-ADTS (0x0F),
// MP3 (0x03/0x04) or Opus (0x06 + "Opus" registration) stream. Nothing is
// output until PAT and PMT are known; packets before that are counted in
// missing_tables. A new PAT/PMT version re-selects streams; a stream whose
// PID and type stay the same keeps its state. Sections are checked: length
// <= 1021 and within the data, CRC, pointer_field within the packet.
//
// PES: reassembled per stream; an unbounded (length 0) PES ends at the next
// payload_unit_start_indicator, a bounded one as soon as it is complete. A
// PES over max_pes_size is dropped (the bytes are released at once) and so is
// one that lost packets (continuity counter gap without discontinuity
// indicator). Continuity errors are counted per PID; duplicate packets
// (same CC, 13818-1 2.4.3.3) are discarded.
//
// Time: 33-bit 90 kHz PTS/DTS are unwrapped per stream onto a 64-bit
// timeline whose zero is the first timestamp seen on any stream, so audio
// and video stay aligned. A jump of more than discontinuity_threshold, or any
// backward/over-1 s step after a PCR discontinuity_indicator, is a
// discontinuity: the stream is rebased to continue one frame after its last
// output, and other streams that jump to the same place reuse that rebase
// (counted once). A PES without PTS continues from the previous one (video:
// previous DTS + last frame duration; audio: after the last frame).
//
// Ownership/threading: one demuxer per ingest session, used by one thread.
// Memory: one PES buffer per selected stream (<= max_pes_size), a partial
// section per table PID (<= 1024 bytes) and < 2 TS packets of input.
#pragma once

#include <cstdint>
#include <vector>

#include "core/buffer.h"
#include "core/media_packet.h"
#include "core/status.h"
#include "protocol/ts_packet.h"
#include "protocol/ts_to_packets.h"

namespace weir::protocol {

struct TsDemuxOptions {
  size_t max_pes_size = 8 << 20;
  int64_t discontinuity_threshold = 10 * kTsClock;  // 90 kHz ticks
  size_t max_unsynced_bytes = 1 << 20;
};

struct TsDemuxStats {
  uint64_t bytes = 0;              // bytes fed
  uint64_t packets = 0;            // 188-byte packets examined
  uint64_t resyncs = 0;            // times the sync had to be searched for again
  uint64_t garbage_bytes = 0;      // bytes skipped outside packets
  uint64_t transport_errors = 0;   // packets with transport_error_indicator (dropped)
  uint64_t malformed_packets = 0;  // bad adaptation field (dropped)
  uint64_t scrambled = 0;          // scrambled payloads (dropped)
  uint64_t cc_errors = 0;          // continuity gaps, all PIDs
  uint64_t duplicates = 0;         // duplicate packets discarded
  uint64_t missing_tables = 0;     // packets dropped before PAT and PMT were known
  uint64_t section_errors = 0;     // PSI sections with bad length/CRC/pointer
  uint64_t pes = 0;                // PES packets handed to the codec layer
  uint64_t pes_dropped = 0;        // PES dropped: over the cap, lost packets, bad header
  uint64_t pes_oversize = 0;       // of which over max_pes_size
  uint64_t pts_missing = 0;        // PES without PTS (timestamp derived or dropped)
  uint64_t discontinuities = 0;    // timeline rebases
  TsEsStats es;                    // codec layer counters
};

class TsDemuxer {
 public:
  explicit TsDemuxer(const TsDemuxOptions& options = {});

  // Consumes all of `data`, calling on_packet for every MediaPacket completed
  // by it (per stream in decode order; config packets before the frames they
  // apply to). Returns the first callback error, or an error if no sync was
  // found within max_unsynced_bytes; damaged input is otherwise counted and
  // survived.
  core::Status feed(core::ByteView data, const TsPacketCallback& on_packet);
  // End of input: hands over PES packets still being assembled (an unbounded
  // video PES is only known to be complete when the next one starts). An
  // unbounded PES whose last packet was not stuffed has most likely lost its
  // tail with the connection: it is dropped (pes_dropped), not handed over as
  // a damaged frame; the rare PES that ends exactly on a packet's end goes too.
  core::Status flush(const TsPacketCallback& on_packet);

  const TsDemuxStats& stats() const;
  bool has_program() const { return pmt_known_; }
  core::Codec video_codec() const { return conv_.video_codec(); }
  core::Codec audio_codec() const { return conv_.audio_codec(); }
  uint16_t video_pid() const { return video_.pid; }
  uint16_t audio_pid() const { return audio_.pid; }
  // Continuity errors seen on one PID (PAT, PMT or a selected stream).
  uint64_t cc_errors(uint16_t pid) const;

 private:
  struct Section {
    uint16_t pid = kTsPidNull;
    int last_cc = -1;
    uint64_t cc_errors = 0;
    std::vector<uint8_t> buf;  // a section being assembled
    bool collecting = false;
  };
  struct Clock {
    bool have = false;
    int64_t last_raw = 0;        // 33-bit
    int64_t last_unwrapped = 0;
    int64_t offset = 0;          // unwrapped + offset = timeline
    int64_t last_out = 0;        // last DTS on the timeline
    int64_t last_delta = 0;      // last positive DTS step
    uint64_t rebase_epoch = 0;   // last rebase this stream followed
  };
  struct Es {
    uint16_t pid = kTsPidNull;
    uint8_t stream_type = 0;
    bool video = false;
    int last_cc = -1;
    uint64_t cc_errors = 0;
    std::vector<uint8_t> pes;
    bool in_pes = false;
    bool header_done = false;
    PesHeader header;
    size_t expected = 0;         // 6 + PES_packet_length, 0 if unbounded
    bool ends_stuffed = false;   // its last packet so far was stuffed (TsPacketInfo::stuffed)
    bool disc_armed = false;     // PCR discontinuity_indicator seen; applies to the next PES
    bool pes_disc = false;       // the PES being assembled follows a discontinuity_indicator
    Clock clock;
  };

  size_t process(core::ByteView v, const TsPacketCallback& cb, core::Status& st);
  core::Status handle_packet(core::ByteView p, const TsPacketCallback& cb);
  void handle_section_packet(Section& s, const TsPacketInfo& info);
  void handle_section(Section& s, core::ByteView section);
  void on_pat(const PsiSection& sec);
  void on_pmt(const PsiSection& sec);
  core::Status handle_es_packet(Es& es, const TsPacketInfo& info, const TsPacketCallback& cb);
  core::Status finish_pes(Es& es, const TsPacketCallback& cb);
  void drop_pes(Es& es);
  void reset_es(Es& es, uint16_t pid, uint8_t stream_type, bool video);
  // Maps a raw 33-bit DTS of `es` onto the output timeline (before the base).
  int64_t map_time(Es& es, int64_t raw, bool after_indicator);

  TsDemuxOptions options_;
  mutable TsDemuxStats stats_;
  TsToPackets conv_;
  std::vector<uint8_t> buf_;
  bool synced_ = false;
  bool lost_sync_ = false;
  size_t unsynced_ = 0;

  Section pat_;
  Section pmt_;
  bool pat_known_ = false;
  bool pmt_known_ = false;
  uint16_t program_number_ = 0;
  uint16_t pcr_pid_ = kTsPidNull;
  Es video_;
  Es audio_;

  // Timeline shared by the streams.
  bool have_ref_ = false;
  int64_t ref_raw_ = 0;
  int64_t ref_unwrapped_ = 0;
  bool have_base_ = false;
  int64_t base_ = 0;
  uint64_t rebase_epoch_ = 0;
  int64_t rebase_raw_ = 0;
  int64_t rebase_out_ = 0;
};

}  // namespace weir::protocol
