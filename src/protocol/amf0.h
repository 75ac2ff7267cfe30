// AMF0 codec (Adobe AMF0 spec), as carried by RTMP command (type 20), data
// (type 18) messages and FLV script tags.
//
// Decoding is strict about lengths: every count and length is checked against
// the remaining bytes before anything is allocated, containers nest at most
// kAmfMaxDepth levels, a whole decode yields at most kAmfMaxNodes values, and
// a value cut short is an error. References (0x07) are refused (no RTMP client
// sends them in commands, and resolving them by copy allows blow-ups).
// The AMF3 switch marker (0x11) decodes the next value as AMF3 (amf3.h) with
// fresh AMF3 reference tables per switch.
//
// All functions are pure and may be called from any thread.
#pragma once

#include <vector>

#include "core/buffer.h"
#include "core/byte_reader.h"
#include "core/status.h"
#include "protocol/amf3.h"
#include "protocol/amf_value.h"

namespace weir::protocol {

// One value at r. On error the reader position is unspecified.
core::Status amf0_decode(core::ByteReader& r, AmfValue& out);
// Same, charging a caller-provided budget (to bound several decodes together).
core::Status amf0_decode(core::ByteReader& r, AmfValue& out, AmfBudget& budget);

// Values until the input is used up; any value cut short is an error.
core::Result<std::vector<AmfValue>> amf0_decode_all(core::ByteView data);

// Encoding: strings longer than 65535 bytes go out as long strings (0x0C);
// objects with a class_name() as typed objects (0x10); property names are
// cut to 65535 bytes (AMF0 has no longer form).
void amf0_encode(core::ByteWriter& w, const AmfValue& v);
void amf0_encode_all(core::ByteWriter& w, const std::vector<AmfValue>& values);

}  // namespace weir::protocol
