#include "protocol/amf0.h"

#include <algorithm>

namespace weir::protocol {

namespace {

enum : uint8_t {
  kNumber = 0x00,
  kBoolean = 0x01,
  kString = 0x02,
  kObject = 0x03,
  kMovieClip = 0x04,
  kNull = 0x05,
  kUndefined = 0x06,
  kReference = 0x07,
  kEcmaArray = 0x08,
  kObjectEnd = 0x09,
  kStrictArray = 0x0A,
  kDate = 0x0B,
  kLongString = 0x0C,
  kUnsupported = 0x0D,
  kRecordSet = 0x0E,
  kXmlDocument = 0x0F,
  kTypedObject = 0x10,
  kAvmPlus = 0x11,
};

class Decoder {
 public:
  explicit Decoder(AmfBudget& budget) : budget_(budget) {}

  core::Status value(core::ByteReader& r, AmfValue& out, int depth) {
    uint8_t marker;
    if (!r.u8(marker)) return core::Status::error("amf0: truncated value (no type marker)");
    if (budget_.nodes == 0) {
      return core::Status::errorf("amf0: more than {} values", kAmfMaxNodes);
    }
    --budget_.nodes;
    switch (marker) {
      case kNumber: {
        double d;
        if (!r.f64be(d)) return core::Status::error("amf0: truncated number");
        out = AmfValue::number(d);
        return core::Status::ok();
      }
      case kBoolean: {
        uint8_t b;
        if (!r.u8(b)) return core::Status::error("amf0: truncated boolean");
        out = AmfValue::boolean(b != 0);
        return core::Status::ok();
      }
      case kString: {
        std::string s;
        if (auto st = short_string(r, s); !st) return st;
        out = AmfValue::string(std::move(s));
        return core::Status::ok();
      }
      case kLongString:
      case kXmlDocument: {
        uint32_t len;
        if (!r.u32be(len)) return core::Status::error("amf0: truncated long string length");
        core::ByteView b;
        if (!r.bytes(len, b)) {
          return core::Status::errorf("amf0: long string length {} exceeds remaining {} bytes",
                                      len, r.remaining());
        }
        out = AmfValue::string(std::string(core::as_chars(b)));
        return core::Status::ok();
      }
      case kNull: out = AmfValue::null(); return core::Status::ok();
      case kUndefined: out = AmfValue::undefined(); return core::Status::ok();
      case kObject: {
        if (depth <= 0) return too_deep();
        out = AmfValue::object();
        return properties(r, out, depth - 1);
      }
      case kTypedObject: {
        if (depth <= 0) return too_deep();
        std::string cls;
        if (auto st = short_string(r, cls); !st) return st;
        out = AmfValue::object();
        out.set_class_name(std::move(cls));
        return properties(r, out, depth - 1);
      }
      case kEcmaArray: {
        if (depth <= 0) return too_deep();
        // The count is advisory (encoders often write 0); the end marker
        // terminates. Never used to allocate.
        uint32_t count;
        if (!r.u32be(count)) return core::Status::error("amf0: truncated ecma array count");
        out = AmfValue::ecma_array();
        return properties(r, out, depth - 1);
      }
      case kStrictArray: {
        if (depth <= 0) return too_deep();
        uint32_t count;
        if (!r.u32be(count)) return core::Status::error("amf0: truncated strict array count");
        // Each element takes at least its marker byte.
        if (count > r.remaining()) {
          return core::Status::errorf("amf0: strict array of {} elements exceeds remaining {} bytes",
                                      count, r.remaining());
        }
        out = AmfValue::strict_array();
        auto& items = out.mutable_items();
        items.reserve(std::min<uint32_t>(count, 1024));
        for (uint32_t i = 0; i < count; ++i) {
          AmfValue v;
          if (auto st = value(r, v, depth - 1); !st) return st;
          items.push_back(std::move(v));
        }
        return core::Status::ok();
      }
      case kDate: {
        double ms;
        uint16_t tz;
        if (!r.f64be(ms) || !r.u16be(tz)) return core::Status::error("amf0: truncated date");
        out = AmfValue::date(ms, int16_t(tz));
        return core::Status::ok();
      }
      case kAvmPlus: {
        // AMF0 spec 3.1: switch to AMF3 for the next value.
        Amf3Decoder amf3(&budget_);
        return amf3.decode(r, out, depth);
      }
      case kReference:
        return core::Status::error("amf0: reference values (0x07) are not supported");
      case kObjectEnd:
        return core::Status::error("amf0: object end marker outside an object");
      case kMovieClip:
      case kUnsupported:
      case kRecordSet:
      default:
        return core::Status::errorf("amf0: unsupported type marker 0x{:02x}", marker);
    }
  }

 private:
  static core::Status too_deep() {
    return core::Status::errorf("amf0: nesting deeper than {} levels", kAmfMaxDepth);
  }

  static core::Status short_string(core::ByteReader& r, std::string& out) {
    uint16_t len;
    if (!r.u16be(len)) return core::Status::error("amf0: truncated string length");
    core::ByteView b;
    if (!r.bytes(len, b)) {
      return core::Status::errorf("amf0: string length {} exceeds remaining {} bytes", len,
                                  r.remaining());
    }
    out.assign(reinterpret_cast<const char*>(b.data()), b.size());
    return core::Status::ok();
  }

  // Key/value pairs up to the 00 00 09 end marker.
  core::Status properties(core::ByteReader& r, AmfValue& out, int depth) {
    auto& props = out.mutable_props();
    for (;;) {
      std::string key;
      if (auto st = short_string(r, key); !st) return st;
      if (key.empty()) {
        core::ByteReader peek = r;
        uint8_t m;
        if (!peek.u8(m)) return core::Status::error("amf0: truncated object (no end marker)");
        if (m == kObjectEnd) {
          r = peek;
          return core::Status::ok();
        }
      }
      AmfValue v;
      if (auto st = value(r, v, depth); !st) return st;
      props.emplace_back(std::move(key), std::move(v));
    }
  }

  AmfBudget& budget_;
};

void encode_key(core::ByteWriter& w, std::string_view k) {
  size_t n = std::min<size_t>(k.size(), 0xFFFF);
  w.u16be(uint16_t(n));
  w.bytes(k.substr(0, n));
}

void encode_props(core::ByteWriter& w, const AmfValue& v) {
  for (const auto& [k, child] : v.props()) {
    encode_key(w, k);
    amf0_encode(w, child);
  }
  w.u16be(0);
  w.u8(kObjectEnd);
}

}  // namespace

core::Status amf0_decode(core::ByteReader& r, AmfValue& out, AmfBudget& budget) {
  Decoder d(budget);
  return d.value(r, out, kAmfMaxDepth);
}

core::Status amf0_decode(core::ByteReader& r, AmfValue& out) {
  AmfBudget budget;
  return amf0_decode(r, out, budget);
}

core::Result<std::vector<AmfValue>> amf0_decode_all(core::ByteView data) {
  core::ByteReader r(data);
  AmfBudget budget;
  std::vector<AmfValue> values;
  while (!r.empty()) {
    AmfValue v;
    if (auto st = amf0_decode(r, v, budget); !st) return st;
    values.push_back(std::move(v));
  }
  return values;
}

void amf0_encode(core::ByteWriter& w, const AmfValue& v) {
  switch (v.type()) {
    case AmfType::kNumber:
      w.u8(kNumber);
      w.f64be(v.number());
      break;
    case AmfType::kBoolean:
      w.u8(kBoolean);
      w.u8(v.boolean() ? 1 : 0);
      break;
    case AmfType::kString: {
      const std::string& s = v.string();
      if (s.size() > 0xFFFF) {
        w.u8(kLongString);
        w.u32be(uint32_t(s.size()));
      } else {
        w.u8(kString);
        w.u16be(uint16_t(s.size()));
      }
      w.bytes(s);
      break;
    }
    case AmfType::kObject:
      if (!v.class_name().empty()) {
        w.u8(kTypedObject);
        encode_key(w, v.class_name());
      } else {
        w.u8(kObject);
      }
      encode_props(w, v);
      break;
    case AmfType::kNull: w.u8(kNull); break;
    case AmfType::kUndefined: w.u8(kUndefined); break;
    case AmfType::kEcmaArray:
      w.u8(kEcmaArray);
      w.u32be(uint32_t(v.props().size()));
      encode_props(w, v);
      break;
    case AmfType::kStrictArray:
      w.u8(kStrictArray);
      w.u32be(uint32_t(v.items().size()));
      for (const auto& child : v.items()) amf0_encode(w, child);
      break;
    case AmfType::kDate:
      w.u8(kDate);
      w.f64be(v.date_ms());
      w.u16be(uint16_t(v.date_tz()));
      break;
  }
}

void amf0_encode_all(core::ByteWriter& w, const std::vector<AmfValue>& values) {
  for (const auto& v : values) amf0_encode(w, v);
}

}  // namespace weir::protocol
