#include "protocol/amf3.h"

#include <utility>

namespace weir::protocol {

namespace {

enum : uint8_t {
  kUndefined = 0x00,
  kNull = 0x01,
  kFalse = 0x02,
  kTrue = 0x03,
  kInteger = 0x04,
  kDouble = 0x05,
  kString = 0x06,
  kXmlDoc = 0x07,
  kDate = 0x08,
  kArray = 0x09,
  kObject = 0x0A,
  kXml = 0x0B,
  kByteArray = 0x0C,
};

// Size of an already-built value, for charging copies against the budget.
// Values here were decoded under the depth limit, so recursion is bounded.
void measure(const AmfValue& v, size_t& nodes, size_t& bytes) {
  nodes += 1;
  bytes += v.string().size();
  for (const auto& [k, child] : v.props()) {
    bytes += k.size();
    measure(child, nodes, bytes);
  }
  for (const auto& child : v.items()) measure(child, nodes, bytes);
}

}  // namespace

bool amf3_read_u29(core::ByteReader& r, uint32_t& out) {
  core::ByteReader probe = r;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    uint8_t b;
    if (!probe.u8(b)) return false;
    if (i < 3) {
      v = (v << 7) | (b & 0x7F);
      if (!(b & 0x80)) {
        out = v;
        r = probe;
        return true;
      }
    } else {
      v = (v << 8) | b;
    }
  }
  out = v;
  r = probe;
  return true;
}

Amf3Decoder::Amf3Decoder(AmfBudget* budget) : budget_(budget ? budget : &own_budget_) {}

core::Status Amf3Decoder::charge(size_t nodes, size_t bytes) {
  if (nodes > budget_->nodes) {
    return core::Status::errorf("amf3: value has more than {} elements", kAmfMaxNodes);
  }
  if (bytes > budget_->string_bytes) {
    return core::Status::errorf("amf3: value expands to more than {} string bytes",
                                kAmfMaxStringBytes);
  }
  budget_->nodes -= nodes;
  budget_->string_bytes -= bytes;
  return core::Status::ok();
}

core::Status Amf3Decoder::decode(core::ByteReader& r, AmfValue& out, int max_depth) {
  return decode_value(r, out, max_depth);
}

core::Status amf3_decode(core::ByteReader& r, AmfValue& out) {
  Amf3Decoder d;
  return d.decode(r, out);
}

core::Status Amf3Decoder::read_string(core::ByteReader& r, std::string& out) {
  uint32_t h;
  if (!amf3_read_u29(r, h)) return core::Status::error("amf3: truncated string header");
  if ((h & 1) == 0) {
    uint32_t idx = h >> 1;
    if (idx >= strings_.size()) {
      return core::Status::errorf("amf3: string reference {} out of range ({} strings)", idx,
                                  strings_.size());
    }
    if (auto st = charge(0, strings_[idx].size()); !st) return st;
    out = strings_[idx];
    return core::Status::ok();
  }
  uint32_t len = h >> 1;
  core::ByteView b;
  if (!r.bytes(len, b)) {
    return core::Status::errorf("amf3: string length {} exceeds remaining {} bytes", len,
                                r.remaining());
  }
  if (auto st = charge(0, len); !st) return st;
  out.assign(reinterpret_cast<const char*>(b.data()), b.size());
  if (len > 0) {  // the empty string is never sent by reference
    if (strings_.size() >= kAmf3MaxTableEntries) {
      return core::Status::errorf("amf3: more than {} strings", kAmf3MaxTableEntries);
    }
    strings_.push_back(out);
  }
  return core::Status::ok();
}

core::Status Amf3Decoder::new_object_slot(size_t& index) {
  if (objects_.size() >= kAmf3MaxTableEntries) {
    return core::Status::errorf("amf3: more than {} objects", kAmf3MaxTableEntries);
  }
  index = objects_.size();
  objects_.emplace_back();
  return core::Status::ok();
}

core::Status Amf3Decoder::finish_object_slot(size_t index, const AmfValue& v) {
  size_t nodes = 0, bytes = 0;
  measure(v, nodes, bytes);
  // The table keeps its own copy (references copy out of it), so charge it.
  if (auto st = charge(nodes, bytes); !st) return st;
  ObjectEntry& e = objects_[index];
  e.value = v;
  e.nodes = nodes;
  e.bytes = bytes;
  e.complete = true;
  return core::Status::ok();
}

core::Status Amf3Decoder::copy_reference(uint32_t index, AmfValue& out) {
  if (index >= objects_.size()) {
    return core::Status::errorf("amf3: object reference {} out of range ({} objects)", index,
                                objects_.size());
  }
  const ObjectEntry& e = objects_[index];
  if (!e.complete) {
    return core::Status::errorf("amf3: object reference {} points into itself (cycle)", index);
  }
  if (auto st = charge(e.nodes, e.bytes); !st) return st;
  out = e.value;
  return core::Status::ok();
}

core::Status Amf3Decoder::read_traits(core::ByteReader& r, uint32_t h, const Traits*& out) {
  // h: U29O-traits with bit 0 (inline object) already known to be set.
  if ((h & 2) == 0) {
    uint32_t idx = h >> 2;
    if (idx >= traits_.size()) {
      return core::Status::errorf("amf3: traits reference {} out of range ({} traits)", idx,
                                  traits_.size());
    }
    out = &traits_[idx];
    return core::Status::ok();
  }
  if (h & 4) return core::Status::error("amf3: externalizable objects are not supported");
  Traits t;
  t.dynamic = (h & 8) != 0;
  uint32_t count = h >> 4;
  if (auto st = read_string(r, t.class_name); !st) return st;
  // Every member name takes at least one byte.
  if (count > r.remaining()) {
    return core::Status::errorf("amf3: {} sealed members exceed remaining {} bytes", count,
                                r.remaining());
  }
  t.sealed.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    std::string name;
    if (auto st = read_string(r, name); !st) return st;
    t.sealed.push_back(std::move(name));
  }
  if (traits_.size() >= kAmf3MaxTableEntries) {
    return core::Status::errorf("amf3: more than {} traits", kAmf3MaxTableEntries);
  }
  traits_.push_back(std::move(t));
  out = &traits_.back();
  return core::Status::ok();
}

core::Status Amf3Decoder::read_object(core::ByteReader& r, AmfValue& out, int depth) {
  uint32_t h;
  if (!amf3_read_u29(r, h)) return core::Status::error("amf3: truncated object header");
  if ((h & 1) == 0) return copy_reference(h >> 1, out);
  if (depth <= 0) {
    return core::Status::errorf("amf3: nesting deeper than {} levels", kAmfMaxDepth);
  }
  const Traits* tp = nullptr;
  if (auto st = read_traits(r, h, tp); !st) return st;
  // traits_ may grow while members decode (nested objects); copy what we need.
  Traits traits = *tp;
  size_t slot;
  if (auto st = new_object_slot(slot); !st) return st;
  AmfValue obj = AmfValue::object();
  obj.set_class_name(traits.class_name);
  auto& props = obj.mutable_props();
  for (const std::string& name : traits.sealed) {
    AmfValue v;
    if (auto st = decode_value(r, v, depth - 1); !st) return st;
    props.emplace_back(name, std::move(v));
  }
  if (traits.dynamic) {
    for (;;) {
      std::string key;
      if (auto st = read_string(r, key); !st) return st;
      if (key.empty()) break;
      AmfValue v;
      if (auto st = decode_value(r, v, depth - 1); !st) return st;
      props.emplace_back(std::move(key), std::move(v));
    }
  }
  if (auto st = finish_object_slot(slot, obj); !st) return st;
  out = std::move(obj);
  return core::Status::ok();
}

core::Status Amf3Decoder::read_array(core::ByteReader& r, AmfValue& out, int depth) {
  uint32_t h;
  if (!amf3_read_u29(r, h)) return core::Status::error("amf3: truncated array header");
  if ((h & 1) == 0) return copy_reference(h >> 1, out);
  if (depth <= 0) {
    return core::Status::errorf("amf3: nesting deeper than {} levels", kAmfMaxDepth);
  }
  uint32_t dense = h >> 1;
  size_t slot;
  if (auto st = new_object_slot(slot); !st) return st;
  std::vector<AmfProperty> assoc;
  for (;;) {
    std::string key;
    if (auto st = read_string(r, key); !st) return st;
    if (key.empty()) break;
    AmfValue v;
    if (auto st = decode_value(r, v, depth - 1); !st) return st;
    assoc.emplace_back(std::move(key), std::move(v));
  }
  // Every element takes at least one byte.
  if (dense > r.remaining()) {
    return core::Status::errorf("amf3: array of {} elements exceeds remaining {} bytes", dense,
                                r.remaining());
  }
  AmfValue arr;
  if (assoc.empty()) {
    arr = AmfValue::strict_array();
    auto& items = arr.mutable_items();
    items.reserve(std::min<uint32_t>(dense, 1024));
    for (uint32_t i = 0; i < dense; ++i) {
      AmfValue v;
      if (auto st = decode_value(r, v, depth - 1); !st) return st;
      items.push_back(std::move(v));
    }
  } else {
    // Mixed array: dense elements become keys "0", "1", ... like AMF0's
    // ECMA array, after the associative members.
    arr = AmfValue::ecma_array(std::move(assoc));
    auto& props = arr.mutable_props();
    for (uint32_t i = 0; i < dense; ++i) {
      AmfValue v;
      if (auto st = decode_value(r, v, depth - 1); !st) return st;
      props.emplace_back(std::to_string(i), std::move(v));
    }
  }
  if (auto st = finish_object_slot(slot, arr); !st) return st;
  out = std::move(arr);
  return core::Status::ok();
}

core::Status Amf3Decoder::decode_value(core::ByteReader& r, AmfValue& out, int depth) {
  uint8_t marker;
  if (!r.u8(marker)) return core::Status::error("amf3: truncated value (no type marker)");
  if (auto st = charge(1, 0); !st) return st;
  switch (marker) {
    case kUndefined: out = AmfValue::undefined(); return core::Status::ok();
    case kNull: out = AmfValue::null(); return core::Status::ok();
    case kFalse: out = AmfValue::boolean(false); return core::Status::ok();
    case kTrue: out = AmfValue::boolean(true); return core::Status::ok();
    case kInteger: {
      uint32_t u;
      if (!amf3_read_u29(r, u)) return core::Status::error("amf3: truncated integer");
      int32_t i = (u & 0x10000000) ? int32_t(u | 0xE0000000u) : int32_t(u);
      out = AmfValue::number(i);
      return core::Status::ok();
    }
    case kDouble: {
      double d;
      if (!r.f64be(d)) return core::Status::error("amf3: truncated double");
      out = AmfValue::number(d);
      return core::Status::ok();
    }
    case kString: {
      std::string s;
      if (auto st = read_string(r, s); !st) return st;
      out = AmfValue::string(std::move(s));
      return core::Status::ok();
    }
    case kXmlDoc:
    case kXml:
    case kByteArray: {
      uint32_t h;
      if (!amf3_read_u29(r, h)) return core::Status::error("amf3: truncated xml/byte-array header");
      if ((h & 1) == 0) return copy_reference(h >> 1, out);
      uint32_t len = h >> 1;
      core::ByteView b;
      if (!r.bytes(len, b)) {
        return core::Status::errorf("amf3: xml/byte-array length {} exceeds remaining {} bytes",
                                    len, r.remaining());
      }
      if (auto st = charge(0, len); !st) return st;
      size_t slot;
      if (auto st = new_object_slot(slot); !st) return st;
      AmfValue v = AmfValue::string(std::string(core::as_chars(b)));
      if (auto st = finish_object_slot(slot, v); !st) return st;
      out = std::move(v);
      return core::Status::ok();
    }
    case kDate: {
      uint32_t h;
      if (!amf3_read_u29(r, h)) return core::Status::error("amf3: truncated date header");
      if ((h & 1) == 0) return copy_reference(h >> 1, out);
      double ms;
      if (!r.f64be(ms)) return core::Status::error("amf3: truncated date");
      size_t slot;
      if (auto st = new_object_slot(slot); !st) return st;
      AmfValue v = AmfValue::date(ms);
      if (auto st = finish_object_slot(slot, v); !st) return st;
      out = std::move(v);
      return core::Status::ok();
    }
    case kArray: return read_array(r, out, depth);
    case kObject: return read_object(r, out, depth);
    default:
      return core::Status::errorf("amf3: unsupported type marker 0x{:02x}", marker);
  }
}

}  // namespace weir::protocol
