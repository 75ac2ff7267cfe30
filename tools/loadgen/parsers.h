// The wire parsers the load generator uses live in weir_protocol, where each
// one has a libFuzzer target; this brings their names into weir::loadgen.
#pragma once

#include "protocol/http_response_reader.h"
#include "protocol/m3u8.h"
#include "protocol/sei_probe.h"
#include "protocol/ts_scanner.h"

namespace weir::loadgen {

using protocol::annexb_has_keyframe_nal;
using protocol::find_probe_in_annexb;
using protocol::find_probe_in_avcc;
using protocol::HlsPart;
using protocol::HlsPlaylist;
using protocol::HlsSegment;
using protocol::HttpResponseHead;
using protocol::HttpResponseReader;
using protocol::kMaxPlaylistBytes;
using protocol::kMaxPlaylistEntries;
using protocol::kProbeNalMaxSize;
using protocol::kProbeUuid;
using protocol::m3u8_attribute;
using protocol::parse_m3u8;
using protocol::parse_probe_sei;
using protocol::TsFrame;
using protocol::TsScanner;
using protocol::wall_clock_us;
using protocol::write_probe_sei_nal;

}  // namespace weir::loadgen
