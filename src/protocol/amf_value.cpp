#include "protocol/amf_value.h"

#include <cmath>

#include <fmt/format.h>

namespace weir::protocol {

std::string_view amf_type_name(AmfType t) {
  switch (t) {
    case AmfType::kNumber: return "number";
    case AmfType::kBoolean: return "boolean";
    case AmfType::kString: return "string";
    case AmfType::kObject: return "object";
    case AmfType::kNull: return "null";
    case AmfType::kUndefined: return "undefined";
    case AmfType::kEcmaArray: return "ecma-array";
    case AmfType::kStrictArray: return "strict-array";
    case AmfType::kDate: return "date";
  }
  return "?";
}

AmfValue AmfValue::number(double d) {
  AmfValue v;
  v.type_ = AmfType::kNumber;
  v.num_ = d;
  return v;
}

AmfValue AmfValue::boolean(bool b) {
  AmfValue v;
  v.type_ = AmfType::kBoolean;
  v.bool_ = b;
  return v;
}

AmfValue AmfValue::string(std::string s) {
  AmfValue v;
  v.type_ = AmfType::kString;
  v.str_ = std::move(s);
  return v;
}

AmfValue AmfValue::null() {
  AmfValue v;
  v.type_ = AmfType::kNull;
  return v;
}

AmfValue AmfValue::undefined() { return AmfValue(); }

AmfValue AmfValue::object(std::vector<AmfProperty> props) {
  AmfValue v;
  v.type_ = AmfType::kObject;
  v.props_ = std::move(props);
  return v;
}

AmfValue AmfValue::object(std::initializer_list<AmfProperty> props) {
  return object(std::vector<AmfProperty>(props));
}

AmfValue AmfValue::ecma_array(std::vector<AmfProperty> props) {
  AmfValue v;
  v.type_ = AmfType::kEcmaArray;
  v.props_ = std::move(props);
  return v;
}

AmfValue AmfValue::ecma_array(std::initializer_list<AmfProperty> props) {
  return ecma_array(std::vector<AmfProperty>(props));
}

AmfValue AmfValue::strict_array(std::vector<AmfValue> items) {
  AmfValue v;
  v.type_ = AmfType::kStrictArray;
  v.items_ = std::move(items);
  return v;
}

AmfValue AmfValue::date(double ms, int16_t tz_minutes) {
  AmfValue v;
  v.type_ = AmfType::kDate;
  v.num_ = ms;
  v.tz_ = tz_minutes;
  return v;
}

const std::string& AmfValue::string() const {
  static const std::string kEmpty;
  return type_ == AmfType::kString ? str_ : kEmpty;
}

const AmfValue* AmfValue::get(std::string_view key) const {
  if (!is_map()) return nullptr;
  for (const auto& [k, v] : props_) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string_view AmfValue::get_string(std::string_view key, std::string_view fallback) const {
  const AmfValue* v = get(key);
  return v && v->is_string() ? std::string_view(v->str_) : fallback;
}

double AmfValue::get_number(std::string_view key, double fallback) const {
  const AmfValue* v = get(key);
  return v && v->is_number() ? v->num_ : fallback;
}

AmfValue& AmfValue::set(std::string key, AmfValue v) {
  if (!is_map()) return *this;
  for (auto& [k, old] : props_) {
    if (k == key) {
      old = std::move(v);
      return *this;
    }
  }
  props_.emplace_back(std::move(key), std::move(v));
  return *this;
}

AmfValue& AmfValue::push(AmfValue v) {
  if (type_ == AmfType::kStrictArray) items_.push_back(std::move(v));
  return *this;
}

AmfValue& AmfValue::set_class_name(std::string name) {
  class_name_ = std::move(name);
  return *this;
}

bool AmfValue::operator==(const AmfValue& o) const {
  if (type_ != o.type_) return false;
  switch (type_) {
    case AmfType::kNumber:
      return num_ == o.num_ || (std::isnan(num_) && std::isnan(o.num_));
    case AmfType::kBoolean: return bool_ == o.bool_;
    case AmfType::kString: return str_ == o.str_;
    case AmfType::kNull:
    case AmfType::kUndefined: return true;
    case AmfType::kObject:
    case AmfType::kEcmaArray: return class_name_ == o.class_name_ && props_ == o.props_;
    case AmfType::kStrictArray: return items_ == o.items_;
    case AmfType::kDate:
      return (num_ == o.num_ || (std::isnan(num_) && std::isnan(o.num_))) && tz_ == o.tz_;
  }
  return false;
}

namespace {

void render(const AmfValue& v, std::string& out, size_t max_len, int depth) {
  if (out.size() >= max_len) return;
  switch (v.type()) {
    case AmfType::kNumber: out += fmt::format("{}", v.number()); break;
    case AmfType::kBoolean: out += v.boolean() ? "true" : "false"; break;
    case AmfType::kString: {
      const std::string& s = v.string();
      out += '"';
      out.append(s, 0, std::min<size_t>(s.size(), 128));
      if (s.size() > 128) out += "...";
      out += '"';
      break;
    }
    case AmfType::kNull: out += "null"; break;
    case AmfType::kUndefined: out += "undefined"; break;
    case AmfType::kDate: out += fmt::format("Date({})", v.date_ms()); break;
    case AmfType::kObject:
    case AmfType::kEcmaArray: {
      if (depth > 8) {
        out += "{...}";
        break;
      }
      out += v.is_ecma_array() ? "[" : "{";
      bool first = true;
      for (const auto& [k, child] : v.props()) {
        if (out.size() >= max_len) break;
        if (!first) out += ", ";
        first = false;
        out += k;
        out += ": ";
        render(child, out, max_len, depth + 1);
      }
      out += v.is_ecma_array() ? "]" : "}";
      break;
    }
    case AmfType::kStrictArray: {
      if (depth > 8) {
        out += "[...]";
        break;
      }
      out += "[";
      bool first = true;
      for (const auto& child : v.items()) {
        if (out.size() >= max_len) break;
        if (!first) out += ", ";
        first = false;
        render(child, out, max_len, depth + 1);
      }
      out += "]";
      break;
    }
  }
}

}  // namespace

std::string AmfValue::debug_string(size_t max_len) const {
  std::string out;
  render(*this, out, max_len, 0);
  if (out.size() > max_len) {
    out.resize(max_len);
    out += "...";
  }
  return out;
}

}  // namespace weir::protocol
