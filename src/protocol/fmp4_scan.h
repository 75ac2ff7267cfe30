// Fmp4 scan: reads back a fragmented-MP4 segment file (what Fmp4Muxer wrote
// for the recorder: ftyp + moov with mvex, then moof + mdat fragments) into
// sample tables, WITHOUT the media bytes: the caller supplies a read callback
// and the scanner asks only for top-level box headers (at most 16 bytes each)
// and the bodies of the small boxes it must parse (ftyp, moov, moof). mdat
// payloads are never requested; samples are reported by file offset.
//
// Pure (no I/O of its own: the callback does it), callable from any thread;
// the result owns its bytes. The moof parsing is protocol/mp4_reader.h's.
//
// Recovery semantics (a recorder killed mid-write leaves a short file):
//   - A broken or incomplete init (no moov before the first moof, moov cut
//     short, a moov the reader refuses, no tracks, no mvex) is an error.
//   - After the init, the file is walked box by box. A box that runs past the
//     end of the file, a header that is cut short or nonsensical, or a moof
//     whose mdat is missing or cut short ends the walk: that is the TAIL,
//     not an error. `valid_bytes` is the end of the last complete moof + mdat
//     pair (the end of the moov if there is none), where a recovery truncates,
//     and `tail` says why the rest was not used.
//   - A COMPLETE moof + mdat pair that is inconsistent (a traf for a track the
//     moov does not have, samples outside the mdat, a moof the reader refuses,
//     a moof followed by something other than mdat, a decode time past 2^48
//     ticks) is an error naming the box.
// Counts and sizes are capped (Fmp4ScanLimits) before anything is allocated
// for them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/status.h"

namespace weir::protocol {

struct Fmp4ScanLimits {
  size_t max_init_bytes = 4 * 1024 * 1024;   // ftyp and moov, each
  size_t max_moof_bytes = 64 * 1024 * 1024;  // one moof
  // All tracks, whole file. 4 h at 60 fps (864k) + 48 kHz AAC (675k) = 1.54M.
  size_t max_samples = 4'000'000;
  size_t max_fragments = 1'000'000;           // 4 h cut every 15 ms
  size_t max_boxes = 4'000'000;              // top-level boxes walked
  size_t max_tracks = 8;
  uint32_t max_sample_size = 64 * 1024 * 1024;
};

struct Fmp4ScanSample {
  uint64_t decode_time = 0;  // track timescale (tfdt + the durations before it in the traf)
  uint64_t offset = 0;       // absolute file offset of the sample's bytes
  uint32_t duration = 0;
  uint32_t size = 0;
  uint32_t flags = 0;        // ISO sample flags (trun, tfhd or trex defaults)
  int32_t composition_offset = 0;
  bool is_sync() const { return !(flags & 0x00010000); }
};

struct Fmp4ScanTrack {
  uint32_t track_id = 0;
  uint32_t handler = 0;       // 'vide', 'soun', ...
  uint32_t timescale = 0;     // mdhd, > 0
  uint32_t sample_entry = 0;  // 'avc1', 'hvc1', 'av01', 'mp4a', 'Opus', ...
  uint32_t config_type = 0;   // 'avcC', 'hvcC', 'av1C', 'vpcC', 'esds', 'dOps', 0 if none
  uint16_t width = 0;         // visual sample entry
  uint16_t height = 0;
  uint32_t tkhd_width = 0;    // 16.16
  uint32_t tkhd_height = 0;
  uint16_t channels = 0;      // audio sample entry
  uint32_t sample_rate = 0;
  std::vector<uint8_t> config;  // decoder config (the AudioSpecificConfig for esds; none for MP3)
  uint8_t object_type = 0;      // esds objectTypeIndication (0x40 AAC, 0x6B / 0x69 MP3), 0 if no esds
  std::vector<uint8_t> stsd;    // the whole stsd box, header included
  // Every sample of the complete fragments, in file order.
  std::vector<Fmp4ScanSample> samples;

  bool is_video() const;
  bool is_audio() const;
};

// One traf's samples: tracks[track_index].samples[first_sample, + sample_count).
struct Fmp4ScanRun {
  size_t track_index = 0;
  size_t first_sample = 0;
  size_t sample_count = 0;
};

struct Fmp4ScanFragment {
  uint64_t offset = 0;  // of the moof
  uint64_t size = 0;    // moof + mdat
  uint32_t sequence_number = 0;
  // Starts with a video sync sample (every fragment of an audio-only file).
  bool independent = false;
  std::vector<Fmp4ScanRun> runs;
  uint64_t end() const { return offset + size; }
};

struct Fmp4Scan {
  uint64_t file_size = 0;
  uint32_t major_brand = 0;
  uint64_t init_size = 0;    // end of the moov: bytes [0, init_size) are the init segment
  uint64_t valid_bytes = 0;  // end of the last complete fragment (init_size if none)
  std::string tail;          // why [valid_bytes, file_size) was not used; empty if it all was
  std::vector<Fmp4ScanTrack> tracks;
  std::vector<Fmp4ScanFragment> fragments;

  // Index of the video track if there is one, else 0.
  size_t primary_track() const;
  bool has_video() const;
  size_t sample_count() const;
};

// Reads exactly `size` bytes at `offset` (offset + size <= the file size the
// scan was given) into `out`, which it resizes. An error aborts the scan.
using Fmp4ReadFn =
    std::function<core::Status(uint64_t offset, size_t size, std::vector<uint8_t>& out)>;

// Scans a file of `file_size` bytes through `read`.
core::Result<Fmp4Scan> scan_fmp4(uint64_t file_size, const Fmp4ReadFn& read,
                                 const Fmp4ScanLimits& limits = {});
// Same over bytes in memory (tests, fuzzing).
core::Result<Fmp4Scan> scan_fmp4_bytes(core::ByteView bytes, const Fmp4ScanLimits& limits = {});

}  // namespace weir::protocol
