// One HLS media segment as the store keeps it: metadata plus the bytes of its
// MPEG-TS variant and its fMP4 variant (made of LL-HLS parts). Segments are
// numbered by media sequence number (msn); the TS and fMP4 playlists share
// the numbering and the cut points.
//
// Immutable fields once the segment is complete, except where the bytes live
// (memfd, heap, disk, gone), which the store changes under its lock. Near the
// live edge the TS and fMP4 bytes are memfd-backed Buffers (sent with
// sendfile); further back the store keeps heap copies, so a stream holds a
// bounded number of descriptors (about twice window_segments).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/buffer.h"

namespace weir::origin::hls {

struct Part {
  core::Slice data;  // moof + mdat
  double duration_ms = 0;
  bool independent = false;
};

struct Segment {
  uint64_t msn = 0;
  int64_t first_dts = 0;      // ms, stream timeline
  double duration_ms = 0;     // set when complete
  int64_t pdt_ms = 0;         // wall clock of the first sample (ms since epoch)
  uint64_t discontinuity_seq = 0;  // discontinuity number (count of EXT-X-DISCONTINUITY up to here)
  bool discontinuity = false;      // EXT-X-DISCONTINUITY precedes it
  bool complete = false;

  // MPEG-TS variant (possibly encrypted). Bytes are in memory, or on disk at
  // ts_path, or evicted (neither).
  core::Slice ts;
  uint64_t ts_size = 0;
  std::string ts_path;
  bool ts_spilling = false;   // a disk write is in flight
  uint64_t key_id = 0;        // AES-128 key (0 = clear)

  // fMP4 variant: parts, and their concatenation once complete.
  uint64_t init_id = 0;
  std::vector<Part> parts;
  core::Slice fmp4;

  bool ts_available() const { return !ts.empty() || !ts_path.empty(); }
};

}  // namespace weir::origin::hls
