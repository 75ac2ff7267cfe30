// AmfValue: one decoded AMF0/AMF3 value (the union of what RTMP commands and
// script-data tags carry).
//
// Ownership: a plain value type; copies are deep. Objects and ECMA arrays keep
// their properties in wire (insertion) order as a vector of key/value pairs, so
// re-encoding reproduces the original order. Not thread-safe to mutate; a const
// AmfValue may be read from any thread.
//
// Type mapping for AMF3 values (see amf3.h): integer and double -> Number,
// xml / xml-document / byte-array -> String (raw bytes), dense-only array ->
// StrictArray, array with associative members -> EcmaArray, typed objects ->
// Object with class_name() set.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weir::protocol {

enum class AmfType : uint8_t {
  kNumber,
  kBoolean,
  kString,
  kObject,
  kNull,
  kUndefined,
  kEcmaArray,
  kStrictArray,
  kDate,
};

std::string_view amf_type_name(AmfType t);

class AmfValue;
using AmfProperty = std::pair<std::string, AmfValue>;

class AmfValue {
 public:
  // Default-constructed value is Undefined.
  AmfValue() = default;

  static AmfValue number(double d);
  static AmfValue boolean(bool b);
  static AmfValue string(std::string s);
  static AmfValue null();
  static AmfValue undefined();
  static AmfValue object(std::vector<AmfProperty> props = {});
  static AmfValue object(std::initializer_list<AmfProperty> props);
  static AmfValue ecma_array(std::vector<AmfProperty> props = {});
  static AmfValue ecma_array(std::initializer_list<AmfProperty> props);
  static AmfValue strict_array(std::vector<AmfValue> items = {});
  // Milliseconds since the Unix epoch; tz_minutes is AMF0's (ignored) offset.
  static AmfValue date(double ms, int16_t tz_minutes = 0);

  AmfType type() const { return type_; }
  bool is_number() const { return type_ == AmfType::kNumber; }
  bool is_boolean() const { return type_ == AmfType::kBoolean; }
  bool is_string() const { return type_ == AmfType::kString; }
  bool is_object() const { return type_ == AmfType::kObject; }
  bool is_null() const { return type_ == AmfType::kNull; }
  bool is_undefined() const { return type_ == AmfType::kUndefined; }
  bool is_ecma_array() const { return type_ == AmfType::kEcmaArray; }
  bool is_strict_array() const { return type_ == AmfType::kStrictArray; }
  bool is_date() const { return type_ == AmfType::kDate; }
  // Object or ECMA array: both are key/value maps.
  bool is_map() const { return type_ == AmfType::kObject || type_ == AmfType::kEcmaArray; }

  // Typed accessors return a neutral value (0, false, "") for another type.
  double number() const { return type_ == AmfType::kNumber || type_ == AmfType::kDate ? num_ : 0; }
  bool boolean() const { return type_ == AmfType::kBoolean && bool_; }
  const std::string& string() const;
  double date_ms() const { return type_ == AmfType::kDate ? num_ : 0; }
  int16_t date_tz() const { return tz_; }

  // Object / ECMA array lookup (first property with that key); nullptr if this
  // is not a map or the key is absent.
  const AmfValue* get(std::string_view key) const;
  // Convenience: get(key) as string / number, or the fallback.
  std::string_view get_string(std::string_view key, std::string_view fallback = {}) const;
  double get_number(std::string_view key, double fallback = 0) const;

  // Properties of an object / ECMA array (empty otherwise), in wire order.
  const std::vector<AmfProperty>& props() const { return props_; }
  // Elements of a strict array (empty otherwise).
  const std::vector<AmfValue>& items() const { return items_; }
  // AMF0 typed object / AMF3 trait class name; empty for anonymous objects.
  const std::string& class_name() const { return class_name_; }

  // Mutators. set() replaces the first property with that key or appends one;
  // only valid on maps (ignored otherwise). push() only on strict arrays.
  AmfValue& set(std::string key, AmfValue v);
  AmfValue& push(AmfValue v);
  AmfValue& set_class_name(std::string name);
  // Raw access for decoders.
  std::vector<AmfProperty>& mutable_props() { return props_; }
  std::vector<AmfValue>& mutable_items() { return items_; }

  bool operator==(const AmfValue& o) const;

  // Short human-readable rendering for logs and test failure messages
  // ({app: "live", tcUrl: "rtmp://..."}); long strings and deep trees are cut.
  std::string debug_string(size_t max_len = 512) const;

 private:
  AmfType type_ = AmfType::kUndefined;
  bool bool_ = false;
  int16_t tz_ = 0;
  double num_ = 0;
  std::string str_;
  std::string class_name_;
  std::vector<AmfProperty> props_;
  std::vector<AmfValue> items_;
};

// Limits shared by the AMF0 and AMF3 decoders.
inline constexpr int kAmfMaxDepth = 32;

}  // namespace weir::protocol
