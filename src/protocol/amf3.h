// AMF3 decoder (the subset RTMP command and data messages need).
//
// Supported markers: undefined, null, false, true, integer (U29, sign-extended
// from 29 bits), double, string, xml-doc, date, array (associative + dense
// part), object (sealed traits + dynamic members, trait and object
// references), xml, byte-array. XML and byte arrays become Strings holding the
// raw bytes. Externalizable objects, vectors and dictionaries are refused.
//
// References are resolved by copying the referenced value, so every copy is
// charged against an AmfBudget (node count and string bytes); a value that
// would expand past it fails instead of exhausting memory. Each reference
// table is capped at kAmf3MaxTableEntries. A reference to an object that is
// still being decoded (a cycle) is an error.
//
// Ownership / threads: an Amf3Decoder is a short-lived, single-thread object;
// its tables belong to one AMF3 "context" (one AMF0 0x11 switch, or one AMF3
// data stream).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/byte_reader.h"
#include "core/status.h"
#include "protocol/amf_value.h"

namespace weir::protocol {

inline constexpr size_t kAmfMaxNodes = size_t(1) << 17;         // AmfValues per decode
inline constexpr size_t kAmfMaxStringBytes = size_t(16) << 20;  // AMF3 string bytes produced
inline constexpr size_t kAmf3MaxTableEntries = 65536;

// What one top-level decode (e.g. one command message) may still produce.
// Shared between an AMF0 decode and the AMF3 values it switches into.
struct AmfBudget {
  size_t nodes = kAmfMaxNodes;
  size_t string_bytes = kAmfMaxStringBytes;
};

class Amf3Decoder {
 public:
  // `budget` may be null (a private default budget is used); if given it
  // must outlive the decoder.
  explicit Amf3Decoder(AmfBudget* budget = nullptr);

  // Decodes one AMF3 value at r. `max_depth` is how many container levels
  // may still be opened. On error the reader position is unspecified.
  core::Status decode(core::ByteReader& r, AmfValue& out, int max_depth = kAmfMaxDepth);

 private:
  struct Traits {
    std::string class_name;
    bool dynamic = false;
    std::vector<std::string> sealed;
  };
  struct ObjectEntry {
    AmfValue value;
    size_t nodes = 0;
    size_t bytes = 0;
    bool complete = false;
  };

  core::Status decode_value(core::ByteReader& r, AmfValue& out, int depth);
  core::Status read_string(core::ByteReader& r, std::string& out);
  core::Status read_object(core::ByteReader& r, AmfValue& out, int depth);
  core::Status read_array(core::ByteReader& r, AmfValue& out, int depth);
  core::Status read_traits(core::ByteReader& r, uint32_t header, const Traits*& out);
  core::Status charge(size_t nodes, size_t bytes);
  core::Status new_object_slot(size_t& index);
  core::Status finish_object_slot(size_t index, const AmfValue& v);
  core::Status copy_reference(uint32_t index, AmfValue& out);

  AmfBudget own_budget_;
  AmfBudget* budget_;
  std::vector<std::string> strings_;
  std::vector<ObjectEntry> objects_;
  std::vector<Traits> traits_;
};

// One AMF3 value with a fresh context and a default budget.
core::Status amf3_decode(core::ByteReader& r, AmfValue& out);

// U29 variable-length integer (1..4 bytes). Exposed for tests and for the
// AMF3 byte-array readers of other modules.
bool amf3_read_u29(core::ByteReader& r, uint32_t& out);

}  // namespace weir::protocol
