// H.264 / HEVC parameter sets between their two forms: Annex B (start codes;
// what libx264/libx265 put in extradata and MPEG-TS carries in-band) and the
// avcC / hvcC records (what FLV sequence headers and MP4 carry). Built on
// codec_config.h's parsers and builders.
//
// Records built here are canonical: rebuilt from their parameter sets, so two
// sources that describe the same stream (Annex B extradata, or an avcC that
// another writer laid out) give byte-identical records. What a rebuilt record
// leaves out: SPS extension NAL units (avcC), SEI arrays (hvcC), and
// min_spatial_segmentation / parallelism / frame-rate hints (hvcC), all of
// which decoders ignore.
//
// Pure functions, any thread; every length is checked against the input.
#pragma once

#include <cstdint>
#include <vector>

#include "core/buffer.h"
#include "core/status.h"

namespace weir::protocol {

// True when `data` begins with a 3- or 4-byte Annex B start code.
bool has_start_code_prefix(core::ByteView data);

// avcC from the SPS (type 7) and PPS (type 8) NAL units among `nals`, in
// their order, duplicates dropped; other NAL types are ignored. Fails when
// either kind is missing or the first SPS does not parse.
core::Result<core::Slice> avc_config_from_nals(const std::vector<core::ByteView>& nals,
                                               uint8_t nal_length_size = 4);
// hvcC from the VPS/SPS/PPS (types 32/33/34) among `nals`, as above.
core::Result<core::Slice> hevc_config_from_nals(const std::vector<core::ByteView>& nals,
                                                uint8_t nal_length_size = 4);

// Canonical avcC / hvcC from extradata in either form: Annex B parameter sets
// (4-byte NAL lengths), or a record (its NAL length size is kept).
core::Result<core::Slice> avc_config_from_extradata(core::ByteView extradata);
core::Result<core::Slice> hevc_config_from_extradata(core::ByteView extradata);

// A record's parameter sets in Annex B form with 4-byte start codes: SPS then
// PPS (avcC), VPS, SPS, PPS (hvcC). Fails for a NAL unit Annex B cannot
// carry (a start code pattern inside, or a zero last byte; no real encoder
// writes either).
core::Result<core::Slice> avc_config_to_annexb(core::ByteView avcc);
core::Result<core::Slice> hevc_config_to_annexb(core::ByteView hvcc);

}  // namespace weir::protocol
