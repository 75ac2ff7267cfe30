// Latency probe: an H.264 SEI NAL unit (type 6) carrying one
// user_data_unregistered message (payloadType 5, ITU-T H.264 D.1.6 / D.2.6):
// a fixed 16-byte UUID and the 8-byte big-endian wall-clock send time in µs
// (CLOCK_REALTIME). The publisher puts it first in every video access unit;
// players on the same machine compute arrival - send. SEI NAL units survive
// remuxing to MPEG-TS and fMP4, so the same probe works for HLS.
//
// The time bytes are escaped with emulation prevention bytes (00 00 0x ->
// 00 00 03 0x) so the NAL unit is valid; the parsers undo it.
//
// Pure functions, any thread.
#pragma once

#include <cstdint>
#include <optional>

#include "core/buffer.h"

namespace weir::protocol {

// "WEIRLATENCYPROBE": no zero bytes, so it never needs escaping.
inline constexpr uint8_t kProbeUuid[16] = {'W', 'E', 'I', 'R', 'L', 'A', 'T', 'E',
                                           'N', 'C', 'Y', 'P', 'R', 'O', 'B', 'E'};
// Largest probe NAL: 1 header + 2 SEI header + 16 + 8 time (+ up to 4
// emulation prevention bytes) + 1 trailing.
inline constexpr size_t kProbeNalMaxSize = 32;

// CLOCK_REALTIME in µs.
uint64_t wall_clock_us();

// Writes the probe NAL (header included, escaped) into out; returns its size.
size_t write_probe_sei_nal(uint8_t out[kProbeNalMaxSize], uint64_t send_us);

// The send time if `nal` (one H.264 NAL unit with its header, no start code
// or length) is a probe SEI; nullopt otherwise.
std::optional<uint64_t> parse_probe_sei(core::ByteView nal);

// Looks at the first `max_nals` NAL units of a length-prefixed access unit
// (AVCC, nal_length_size 1..4) for a probe SEI.
std::optional<uint64_t> find_probe_in_avcc(core::ByteView au, int nal_length_size, int max_nals = 6);

// Looks for a probe SEI in Annex-B bytes (start codes), e.g. the start of a
// video PES payload. NAL units cut off at the end of `data` are ignored.
std::optional<uint64_t> find_probe_in_annexb(core::ByteView data);

// True if the Annex-B bytes hold an IDR slice (type 5) or an SPS (type 7):
// the start of a keyframe access unit.
bool annexb_has_keyframe_nal(core::ByteView data);

}  // namespace weir::protocol
