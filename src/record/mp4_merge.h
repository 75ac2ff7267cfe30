// VOD merge: recorded fMP4 segment files (protocol/fmp4_scan.h) into one
// progressive MP4 with the moov before the mdat (fast start).
//
// How: every segment is scanned (moov/moof boxes only); a segment that fails
// to scan, or has no complete fragment, is skipped and reported, the rest are
// kept (a crash-cut tail is dropped, the valid prefix used). The moov is
// computed from the scanned tables first, so every chunk offset is known, and
// written first; then the sample bytes are copied from the segment files into
// the mdat with copy_file_range (a pread/write loop where the kernel refuses),
// one chunk (stsc/stco) per traf run, runs adjacent in a segment file in one
// call, so media bytes cross userspace at most once. The
// output is written to `<output>.tmp`, fsynced (option) and renamed.
//
// Tracks: one video and one audio track at most, matched across segments by
// handler (track ids may differ between inits). Sample descriptions: each
// distinct sample entry becomes one stsd entry (a codec config change gives
// two). A track whose timescale changes between segments is rescaled to its
// first timescale.
//
// Timing: decode times are the live timeline's. The earliest track starts at
// 0; a track that starts later gets an empty edit (elst), and a first sample
// with a composition offset a media_time, so audio and video stay in sync. A
// forward jump (a publisher pause between segments) is kept as time by
// stretching the previous sample; a backward overlap is clamped forward (the
// sample moves to the end of the previous one).
//
// Blocking file I/O: run on a worker thread. No shared state; concurrent
// merges into different outputs are fine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "protocol/fmp4_scan.h"

namespace weir::record {

struct MergeRequest {
  std::vector<std::string> segments;  // segment files in recording order
  std::string output;                 // the MP4 to write (via output + ".tmp")
  bool fsync = true;                  // fsync the output and its directory
  // When set, also writes an HLS VOD playlist (record/vod_playlist.h) over the
  // usable segments at this path (via + ".tmp"); it must sit next to them.
  std::string playlist;
  double playlist_target_duration_s = 4.0;
  protocol::Fmp4ScanLimits limits;
};

struct MergedTrack {
  uint32_t track_id = 0;
  uint32_t handler = 0;    // 'vide' or 'soun'
  uint32_t timescale = 0;
  std::vector<uint32_t> sample_entries;  // stsd entries in order: 'avc1', 'mp4a', ...
  std::vector<uint8_t> object_types;     // per entry: esds objectTypeIndication, 0 if none
  uint16_t width = 0;        // first video sample entry
  uint16_t height = 0;
  uint32_t sample_rate = 0;  // first audio sample entry
  uint16_t channels = 0;
  uint64_t samples = 0;
  uint64_t bytes = 0;        // sample bytes
  double start_s = 0;        // presentation start in the movie (empty edit)
  double duration_s = 0;     // media duration
};

struct SegmentIssue {
  std::string path;
  std::string reason;
};

struct MergeResult {
  double duration_s = 0;     // mvhd duration
  uint64_t bytes = 0;        // output file size
  uint64_t media_bytes = 0;  // mdat payload
  std::vector<MergedTrack> tracks;
  size_t segments_used = 0;
  std::vector<SegmentIssue> skipped;    // not used at all
  std::vector<SegmentIssue> truncated;  // used up to their valid prefix
  uint64_t gaps = 0;                    // forward jumps over 0.5 s kept as time (per track)
  uint64_t overlaps_clamped = 0;        // samples moved forward
  bool copy_fallback = false;           // copy_file_range refused: pread/write used
};

// Fails when no segment is usable, on an output I/O error (the .tmp is
// removed), or when the merged tables would exceed the caps (moov > 1 GiB).
core::Result<MergeResult> merge_segments(const MergeRequest& request);

}  // namespace weir::record
