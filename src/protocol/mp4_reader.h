// Mp4 reader: a small, bounded ISO BMFF (ISO/IEC 14496-12) parser for
// fragmented MP4: box headers, an init segment's tracks (handler, timescale,
// sample entry, decoder config, trex defaults) and the samples of moof + mdat
// fragments. Used by the fMP4 tests and fuzzing, and usable by anything that
// has to look inside CMAF segments (an HLS edge, a recorder check).
//
// Pure functions over borrowed bytes, callable from any thread. Results
// borrow from the input (ByteView fields): they are valid only while the
// caller keeps the input alive. Every box size is checked against the bytes
// that contain it, nesting depth and box / sample / track counts are capped
// (Mp4ReaderLimits), and every count read from the input is checked against
// the bytes left before anything is allocated for it. Errors name the box:
// "trun: 5000 samples need 80000 bytes, 120 left".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/status.h"

namespace weir::protocol {

struct Mp4ReaderLimits {
  size_t max_depth = 16;         // box nesting
  size_t max_boxes = 100000;     // boxes per call
  size_t max_samples = 1000000;  // samples per call (all fragments)
  size_t max_tracks = 64;
};

struct Mp4Box {
  uint32_t type = 0;
  size_t offset = 0;       // of the header, from the start of the bytes parsed
  size_t size = 0;         // whole box, header included
  size_t header_size = 0;  // 8, 16 (largesize) or + 16 for 'uuid'
  core::ByteView payload;  // after the header (a full box's version/flags included)
};

struct Mp4BoxNode {
  Mp4Box box;
  std::vector<Mp4BoxNode> children;  // for the container boxes this reader knows
};

// Boxes directly inside `data`, in order; `base_offset` is added to the
// reported offsets. A size of 0 means "to the end of data".
core::Result<std::vector<Mp4Box>> read_mp4_boxes(core::ByteView data, size_t base_offset = 0,
                                                 size_t max_boxes = 100000);
// The whole tree, descending into the known containers (moov, trak, mdia,
// minf, dinf, stbl, stsd, mvex, moof, traf, edts, mfra, udta).
core::Result<std::vector<Mp4BoxNode>> read_mp4_box_tree(core::ByteView data,
                                                        const Mp4ReaderLimits& limits = {});

// "moov" for logs; non-printable bytes become '?'.
std::string mp4_type_name(uint32_t type);

struct Mp4InitTrack {
  uint32_t track_id = 0;
  uint32_t handler = 0;        // 'vide', 'soun', ...
  uint32_t timescale = 0;      // mdhd
  uint32_t sample_entry = 0;   // 'avc1', 'hvc1', 'av01', 'mp4a', 'Opus', ...
  uint16_t width = 0;          // visual sample entry
  uint16_t height = 0;
  uint32_t tkhd_width = 0;     // 16.16
  uint32_t tkhd_height = 0;
  uint16_t channels = 0;       // audio sample entry
  uint32_t sample_rate = 0;    // integer part of the 16.16 samplerate
  uint32_t config_type = 0;    // 'avcC', 'hvcC', 'av1C', 'vpcC', 'esds', 'dOps', 0 if none
  // That box's payload; for esds the DecoderSpecificInfo (AudioSpecificConfig),
  // empty for MPEG-1/2 audio (objectTypeIndication 0x6B / 0x69), which has none.
  core::ByteView config;
  uint16_t es_id = 0;          // esds only
  uint8_t object_type = 0;     // esds only: objectTypeIndication (0x40 MPEG-4 audio, 0x6B MP3, ...)
  // The whole stsd box (header included), to copy into another moov.
  core::ByteView stsd;
  bool has_trex = false;
  uint32_t default_sample_description_index = 0;
  uint32_t default_sample_duration = 0;
  uint32_t default_sample_size = 0;
  uint32_t default_sample_flags = 0;
};

struct Mp4Init {
  uint32_t major_brand = 0;
  uint32_t minor_version = 0;
  std::vector<uint32_t> compatible_brands;
  uint32_t movie_timescale = 0;
  uint32_t next_track_id = 0;
  bool has_mvex = false;
  std::vector<Mp4InitTrack> tracks;

  const Mp4InitTrack* find(uint32_t track_id) const;
};

// Reads ftyp and moov from `data` (other top-level boxes are skipped).
core::Result<Mp4Init> parse_mp4_init(core::ByteView data, const Mp4ReaderLimits& limits = {});

struct Mp4Sample {
  uint64_t decode_time = 0;
  uint32_t duration = 0;
  uint32_t size = 0;
  uint32_t flags = 0;
  int64_t composition_offset = 0;
  core::ByteView data;  // inside the mdat that follows the moof
  uint64_t data_offset = 0;  // of `data`, counted like Mp4Fragment::offset
  bool is_sync() const { return !(flags & 0x00010000); }
};

struct Mp4TrackRun {
  uint32_t track_id = 0;
  uint32_t tfhd_flags = 0;
  bool has_tfdt = false;
  uint8_t tfdt_version = 0;
  uint64_t base_decode_time = 0;  // tfdt, or continued from the previous fragment
  std::vector<uint8_t> trun_versions;
  std::vector<uint32_t> trun_flags;
  std::vector<Mp4Sample> samples;
};

struct Mp4Fragment {
  uint32_t sequence_number = 0;
  size_t offset = 0;  // of the moof
  size_t moof_size = 0;
  size_t mdat_size = 0;  // 0 if the moof is not followed by an mdat
  std::vector<Mp4TrackRun> tracks;
};

// Every moof (+ following mdat) in `data`, which may be one fragment, a whole
// segment or a whole file (ftyp/moov/styp/sidx and other boxes are skipped).
// `init` supplies trex defaults; without it the defaults are 0. A traf with
// no tfdt continues from the end of the same track's previous traf in `data`
// (0 for the first). base_data_offset, when present, counts from the start
// of `data`. Every sample must lie inside the mdat that follows its moof.
core::Result<std::vector<Mp4Fragment>> parse_mp4_fragments(core::ByteView data,
                                                           const Mp4Init* init = nullptr,
                                                           const Mp4ReaderLimits& limits = {});

// One moof box (`moof`: the whole box, header included) that sits at
// `moof_offset` of a file, followed by an mdat whose payload spans
// [mdat_payload_offset, mdat_payload_offset + mdat_payload_size): the mdat
// bytes themselves need not be in memory. Samples get data_offset (a file
// offset) and an empty `data`; each must lie inside that payload. A traf
// without tfdt starts at decode time 0 (has_tfdt tells). base_data_offset,
// when present, is a file offset. For scanning files without reading their
// media (protocol/fmp4_scan.h).
core::Result<Mp4Fragment> parse_mp4_moof(core::ByteView moof, uint64_t moof_offset,
                                         uint64_t mdat_payload_offset, uint64_t mdat_payload_size,
                                         const Mp4Init* init = nullptr,
                                         const Mp4ReaderLimits& limits = {});

}  // namespace weir::protocol
