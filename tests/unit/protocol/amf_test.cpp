#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/byte_reader.h"
#include "protocol/amf0.h"
#include "protocol/amf3.h"
#include "protocol/amf_value.h"

using namespace weir;
using namespace weir::protocol;

namespace {

std::vector<uint8_t> bytes_of(std::initializer_list<int> v) {
  std::vector<uint8_t> out;
  for (int b : v) out.push_back(uint8_t(b));
  return out;
}

void append(std::vector<uint8_t>& out, std::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
}

std::vector<uint8_t> encode(const AmfValue& v) {
  core::ByteWriter w;
  amf0_encode(w, v);
  auto view = w.view();
  return std::vector<uint8_t>(view.begin(), view.end());
}

AmfValue decode_one(const std::vector<uint8_t>& b) {
  auto r = amf0_decode_all(core::ByteView(b.data(), b.size()));
  REQUIRE(r.is_ok());
  REQUIRE(r->size() == 1);
  return (*r)[0];
}

std::string decode_error(const std::vector<uint8_t>& b) {
  auto r = amf0_decode_all(core::ByteView(b.data(), b.size()));
  REQUIRE_FALSE(r.is_ok());
  return r.error();
}

core::Result<AmfValue> amf3(const std::vector<uint8_t>& b) {
  core::ByteReader r(core::ByteView(b.data(), b.size()));
  AmfValue v;
  if (auto st = amf3_decode(r, v); !st) return st;
  if (!r.empty()) return core::Status::error("trailing bytes");
  return v;
}

AmfValue sample_object() {
  return AmfValue::object({
      {"app", AmfValue::string("live")},
      {"flashVer", AmfValue::string("FMLE/3.0 (compatible; Lavf60.16.100)")},
      {"tcUrl", AmfValue::string("rtmp://127.0.0.1:1935/live")},
      {"fpad", AmfValue::boolean(false)},
      {"capabilities", AmfValue::number(15)},
      {"nested", AmfValue::object({{"deeper", AmfValue::ecma_array({{"x", AmfValue::null()}})},
                                   {"list", AmfValue::strict_array({AmfValue::number(1),
                                                                    AmfValue::string("two"),
                                                                    AmfValue::undefined()})}})},
      {"when", AmfValue::date(1700000000000.0, 60)},
  });
}

}  // namespace

TEST_CASE("amf0 encodes the exact spec bytes", "[amf0]") {
  CHECK(encode(AmfValue::number(1.0)) == bytes_of({0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0}));
  CHECK(encode(AmfValue::boolean(true)) == bytes_of({0x01, 0x01}));
  auto s = bytes_of({0x02, 0x00, 0x07});
  append(s, "connect");
  CHECK(encode(AmfValue::string("connect")) == s);
  CHECK(encode(AmfValue::null()) == bytes_of({0x05}));
  CHECK(encode(AmfValue::undefined()) == bytes_of({0x06}));
  auto o = bytes_of({0x03, 0x00, 0x03});
  append(o, "app");
  o.insert(o.end(), {0x02, 0x00, 0x04});
  append(o, "live");
  o.insert(o.end(), {0x00, 0x00, 0x09});
  CHECK(encode(AmfValue::object({{"app", AmfValue::string("live")}})) == o);
  CHECK(encode(AmfValue::ecma_array()) == bytes_of({0x08, 0, 0, 0, 0, 0x00, 0x00, 0x09}));
  CHECK(encode(AmfValue::strict_array({AmfValue::null()})) ==
        bytes_of({0x0A, 0, 0, 0, 1, 0x05}));
  CHECK(encode(AmfValue::date(0, -60)) == bytes_of({0x0B, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xC4}));
}

TEST_CASE("amf0 round trips every type", "[amf0]") {
  std::vector<AmfValue> values = {
      AmfValue::number(0),
      AmfValue::number(-1.5e300),
      AmfValue::boolean(true),
      AmfValue::boolean(false),
      AmfValue::string(""),
      AmfValue::string("hello"),
      AmfValue::string(std::string(65535, 'a')),
      AmfValue::null(),
      AmfValue::undefined(),
      AmfValue::object(),
      sample_object(),
      AmfValue::ecma_array({{"duration", AmfValue::number(0)},
                            {"width", AmfValue::number(1280)},
                            {"encoder", AmfValue::string("Lavf")}}),
      AmfValue::strict_array(),
      AmfValue::strict_array({sample_object(), AmfValue::strict_array({AmfValue::number(3)})}),
      AmfValue::date(1234.5, 0),
      AmfValue::object({{"", AmfValue::string("empty key")}}),
  };
  AmfValue typed = AmfValue::object({{"a", AmfValue::number(1)}});
  typed.set_class_name("com.example.Thing");
  values.push_back(typed);

  for (const auto& v : values) {
    INFO(v.debug_string());
    CHECK(decode_one(encode(v)) == v);
  }
  // All at once through decode_all.
  core::ByteWriter w;
  amf0_encode_all(w, values);
  auto all = amf0_decode_all(w.view());
  REQUIRE(all.is_ok());
  CHECK(*all == values);
}

TEST_CASE("amf0 long strings", "[amf0]") {
  std::string big(70000, 'x');
  big[0] = 'a';
  big.back() = 'z';
  auto b = encode(AmfValue::string(big));
  REQUIRE(b.size() == 1 + 4 + big.size());
  CHECK(b[0] == 0x0C);
  CHECK(b[1] == 0x00);
  CHECK(b[2] == 0x01);
  CHECK(b[3] == 0x11);
  CHECK(b[4] == 0x70);  // 70000 = 0x00011170
  CHECK(decode_one(b).string() == big);
  // XML document (0x0F) decodes as a string too.
  auto x = bytes_of({0x0F, 0, 0, 0, 3});
  append(x, "<a>");
  CHECK(decode_one(x).string() == "<a>");
}

TEST_CASE("amf0 decoding fails at every truncation of a valid encoding", "[amf0]") {
  std::vector<AmfValue> samples = {
      sample_object(),
      AmfValue::strict_array({AmfValue::number(1), AmfValue::string("x")}),
      AmfValue::ecma_array({{"k", AmfValue::boolean(true)}}),
      AmfValue::date(5, 0),
      AmfValue::string(std::string(70000, 'q')),
  };
  for (const auto& v : samples) {
    auto b = encode(v);
    for (size_t cut = 1; cut < b.size(); ++cut) {
      std::vector<uint8_t> prefix(b.begin(), b.begin() + cut);
      auto r = amf0_decode_all(core::ByteView(prefix.data(), prefix.size()));
      INFO(v.debug_string(80) << " cut at " << cut);
      REQUIRE_FALSE(r.is_ok());
      CHECK(r.error().rfind("amf", 0) == 0);
    }
  }
  // Empty input is an empty list, not an error.
  auto empty = amf0_decode_all(core::ByteView());
  REQUIRE(empty.is_ok());
  CHECK(empty->empty());
}

TEST_CASE("amf0 rejects hostile counts and lengths without allocating", "[amf0]") {
  CHECK_THAT(decode_error(bytes_of({0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05})),
             Catch::Contains("strict array of 4294967295 elements exceeds remaining 1 bytes"));
  CHECK_THAT(decode_error(bytes_of({0x0C, 0xFF, 0xFF, 0xFF, 0xF0, 'a'})),
             Catch::Contains("long string length 4294967280 exceeds remaining 1 bytes"));
  CHECK_THAT(decode_error(bytes_of({0x02, 0x10, 0x00, 'a'})),
             Catch::Contains("string length 4096 exceeds remaining 1 bytes"));
  // ECMA array count is advisory: a huge one with a proper end still decodes.
  auto v = decode_one(bytes_of({0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x09}));
  CHECK(v.is_ecma_array());
  CHECK(v.props().empty());
}

TEST_CASE("amf0 nesting depth is limited", "[amf0]") {
  auto nested = [](int levels) {
    std::vector<uint8_t> b;
    for (int i = 0; i < levels; ++i) {
      b.push_back(0x03);
      b.insert(b.end(), {0x00, 0x01, 'k'});
    }
    b.push_back(0x05);
    for (int i = 0; i < levels; ++i) b.insert(b.end(), {0x00, 0x00, 0x09});
    return b;
  };
  {
    auto b = nested(kAmfMaxDepth);
    auto r = amf0_decode_all(core::ByteView(b.data(), b.size()));
    REQUIRE(r.is_ok());
  }
  {
    auto b = nested(kAmfMaxDepth + 1);
    CHECK_THAT(decode_error(b), Catch::Contains("nesting deeper than 32"));
  }
  {
    // 100000 nested strict arrays of one element: fails fast, no stack overflow.
    std::vector<uint8_t> b;
    for (int i = 0; i < 100000; ++i) b.insert(b.end(), {0x0A, 0, 0, 0, 1});
    b.push_back(0x05);
    CHECK_THAT(decode_error(b), Catch::Contains("nesting deeper"));
  }
}

TEST_CASE("amf0 refuses references, stray end markers and unsupported types", "[amf0]") {
  CHECK_THAT(decode_error(bytes_of({0x07, 0x00, 0x00})), Catch::Contains("reference"));
  CHECK_THAT(decode_error(bytes_of({0x09})), Catch::Contains("object end marker outside"));
  CHECK_THAT(decode_error(bytes_of({0x04})), Catch::Contains("unsupported type marker 0x04"));
  CHECK_THAT(decode_error(bytes_of({0x0D})), Catch::Contains("unsupported type marker 0x0d"));
  CHECK_THAT(decode_error(bytes_of({0x0E})), Catch::Contains("unsupported type marker 0x0e"));
  CHECK_THAT(decode_error(bytes_of({0x20})), Catch::Contains("unsupported type marker 0x20"));
  // A value cut short after a complete one: decode_all fails.
  CHECK_THAT(decode_error(bytes_of({0x05, 0x00, 0x3F})), Catch::Contains("truncated number"));
}

TEST_CASE("amf0 element budget stops value floods", "[amf0]") {
  // 200000 nulls inside a strict array: more than kAmfMaxNodes values.
  std::vector<uint8_t> b = {0x0A, 0x00, 0x03, 0x0D, 0x40};  // 200000
  b.insert(b.end(), 200000, 0x05);
  CHECK_THAT(decode_error(b), Catch::Contains("more than 131072 values"));
}

TEST_CASE("amf0 switches to amf3 on 0x11", "[amf0][amf3]") {
  // 0x11, AMF3 anonymous dynamic object {app: "live", objectEncoding: 3}
  auto b = bytes_of({0x11, 0x0A, 0x0B, 0x01, 0x07});
  append(b, "app");
  b.insert(b.end(), {0x06, 0x09});
  append(b, "live");
  b.push_back(0x1D);
  append(b, "objectEncoding");
  b.insert(b.end(), {0x04, 0x03, 0x01});
  // followed by a plain AMF0 number
  b.insert(b.end(), {0x00, 0x40, 0x08, 0, 0, 0, 0, 0, 0});
  auto r = amf0_decode_all(core::ByteView(b.data(), b.size()));
  REQUIRE(r.is_ok());
  REQUIRE(r->size() == 2);
  const AmfValue& o = (*r)[0];
  CHECK(o.is_object());
  CHECK(o.get_string("app") == "live");
  CHECK(o.get_number("objectEncoding") == 3);
  CHECK((*r)[1].number() == 3);
}

TEST_CASE("amf3 scalars", "[amf3]") {
  CHECK(amf3(bytes_of({0x00}))->is_undefined());
  CHECK(amf3(bytes_of({0x01}))->is_null());
  CHECK(amf3(bytes_of({0x02}))->boolean() == false);
  CHECK(amf3(bytes_of({0x03}))->boolean() == true);
  CHECK(amf3(bytes_of({0x04, 0x00}))->number() == 0);
  CHECK(amf3(bytes_of({0x04, 0x7F}))->number() == 127);
  CHECK(amf3(bytes_of({0x04, 0x81, 0x00}))->number() == 128);
  CHECK(amf3(bytes_of({0x04, 0xFF, 0x7F}))->number() == 16383);
  CHECK(amf3(bytes_of({0x04, 0x81, 0x80, 0x00}))->number() == 16384);
  CHECK(amf3(bytes_of({0x04, 0xBF, 0xFF, 0xFF, 0xFF}))->number() == 268435455);
  CHECK(amf3(bytes_of({0x04, 0xC0, 0x80, 0x80, 0x00}))->number() == -268435456);
  CHECK(amf3(bytes_of({0x04, 0xFF, 0xFF, 0xFF, 0xFF}))->number() == -1);
  CHECK(amf3(bytes_of({0x05, 0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18}))->number() ==
        Approx(3.141592653589793));
  auto s = bytes_of({0x06, 0x0B});
  append(s, "hello");
  CHECK(amf3(s)->string() == "hello");
  CHECK(amf3(bytes_of({0x06, 0x01}))->string().empty());
  auto d = amf3(bytes_of({0x08, 0x01, 0x42, 0x78, 0xBC, 0xFE, 0x56, 0x80, 0x00, 0x00}));
  REQUIRE(d.is_ok());
  CHECK(d->is_date());
  CHECK(d->date_ms() == 1700000000000.0);
  auto ba = bytes_of({0x0C, 0x07, 0x00, 0xFF, 0x10});
  CHECK(amf3(ba)->string() == std::string("\x00\xFF\x10", 3));
  auto xml = bytes_of({0x0B, 0x07});
  append(xml, "<a>");
  CHECK(amf3(xml)->string() == "<a>");
  auto xmldoc = bytes_of({0x07, 0x05});
  append(xmldoc, "<b");
  CHECK(amf3(xmldoc)->string() == "<b");
}

TEST_CASE("amf3 string references", "[amf3]") {
  // [ "hello", ref 0, "", "world", ref 1 ]; the empty string is never in the table.
  auto b = bytes_of({0x09, 0x0B, 0x01, 0x06, 0x0B});
  append(b, "hello");
  b.insert(b.end(), {0x06, 0x00, 0x06, 0x01, 0x06, 0x0B});
  append(b, "world");
  b.insert(b.end(), {0x06, 0x02});
  auto v = amf3(b);
  REQUIRE(v.is_ok());
  REQUIRE(v->is_strict_array());
  REQUIRE(v->items().size() == 5);
  CHECK(v->items()[0].string() == "hello");
  CHECK(v->items()[1].string() == "hello");
  CHECK(v->items()[2].string() == "");
  CHECK(v->items()[3].string() == "world");
  CHECK(v->items()[4].string() == "world");
  // Out-of-range string reference.
  CHECK_THAT(amf3(bytes_of({0x06, 0x04})).error(), Catch::Contains("string reference 2 out of range"));
}

TEST_CASE("amf3 arrays", "[amf3]") {
  // Dense + associative: {k: "v", "0": 7}
  auto b = bytes_of({0x09, 0x03, 0x03, 'k', 0x06, 0x03, 'v', 0x01, 0x04, 0x07});
  auto v = amf3(b);
  REQUIRE(v.is_ok());
  REQUIRE(v->is_ecma_array());
  REQUIRE(v->props().size() == 2);
  CHECK(v->get_string("k") == "v");
  CHECK(v->get_number("0") == 7);
  // Huge dense count fails before allocating.
  CHECK_THAT(amf3(bytes_of({0x09, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x01})).error(),
             Catch::Contains("exceeds remaining"));
}

TEST_CASE("amf3 objects: sealed traits, dynamic members, trait and object references",
          "[amf3]") {
  // Array of three: obj1 (class Foo, sealed a, b), obj2 (traits ref 0), ref to obj1.
  auto b = bytes_of({0x09, 0x07, 0x01});
  // obj1: U29O-traits inline, not dynamic, 2 sealed: 0b0010_0011 = 0x23
  b.insert(b.end(), {0x0A, 0x23, 0x07});
  append(b, "Foo");
  b.insert(b.end(), {0x03, 'a', 0x03, 'b'});
  b.insert(b.end(), {0x04, 0x05, 0x06, 0x05, 'x', 'y'});
  // obj2: traits reference 0 -> header 0b01 = 0x01
  b.insert(b.end(), {0x0A, 0x01, 0x04, 0x06, 0x06, 0x00});  // b = ref string 0 ("Foo")
  // reference to object 1 (obj1; the array itself is object 0)
  b.insert(b.end(), {0x0A, 0x02});
  auto v = amf3(b);
  REQUIRE(v.is_ok());
  REQUIRE(v->items().size() == 3);
  const AmfValue& o1 = v->items()[0];
  CHECK(o1.class_name() == "Foo");
  CHECK(o1.get_number("a") == 5);
  CHECK(o1.get_string("b") == "xy");
  const AmfValue& o2 = v->items()[1];
  CHECK(o2.class_name() == "Foo");
  CHECK(o2.get_number("a") == 6);
  CHECK(o2.get_string("b") == "Foo");
  CHECK(v->items()[2] == o1);

  // Dynamic object with sealed + dynamic members: 0b0001_1011 = 0x1B
  auto d = bytes_of({0x0A, 0x1B, 0x01, 0x03, 's', 0x03, 0x03, 'd', 0x02, 0x01});
  auto dv = amf3(d);
  REQUIRE(dv.is_ok());
  REQUIRE(dv->props().size() == 2);
  CHECK(dv->props()[0].first == "s");
  CHECK(dv->props()[0].second.boolean());
  CHECK(dv->props()[1].first == "d");
  CHECK(dv->props()[1].second.is_boolean());
}

TEST_CASE("amf3 malformed input", "[amf3]") {
  // Self reference while decoding (cycle).
  CHECK_THAT(amf3(bytes_of({0x0A, 0x0B, 0x01, 0x03, 'a', 0x0A, 0x00, 0x01})).error(),
             Catch::Contains("cycle"));
  CHECK_THAT(amf3(bytes_of({0x0A, 0x04})).error(), Catch::Contains("object reference 2 out of range"));
  CHECK_THAT(amf3(bytes_of({0x0A, 0x05})).error(), Catch::Contains("traits reference 1 out of range"));
  CHECK_THAT(amf3(bytes_of({0x0A, 0x07, 0x01})).error(), Catch::Contains("externalizable"));
  CHECK_THAT(amf3(bytes_of({0x0D, 0x01})).error(), Catch::Contains("unsupported type marker 0x0d"));
  CHECK_THAT(amf3(bytes_of({0x11})).error(), Catch::Contains("unsupported type marker 0x11"));
  CHECK_THAT(amf3(bytes_of({0x0A, 0xFF, 0xFF, 0xFF, 0xF3, 0x01})).error(),
             Catch::Contains("sealed members exceed remaining"));
  // Truncation at every offset of a valid object.
  auto b = bytes_of({0x0A, 0x1B, 0x07});
  append(b, "Cls");
  b.insert(b.end(), {0x03, 's', 0x05, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x03, 'd', 0x08, 0x01});
  b.insert(b.end(), {0, 0, 0, 0, 0, 0, 0, 0, 0x01});
  REQUIRE(amf3(b).is_ok());
  for (size_t cut = 0; cut < b.size(); ++cut) {
    std::vector<uint8_t> prefix(b.begin(), b.begin() + cut);
    INFO("cut at " << cut);
    CHECK_FALSE(amf3(prefix).is_ok());
  }
  // Deep nesting.
  std::vector<uint8_t> deep;
  for (int i = 0; i < 1000; ++i) deep.insert(deep.end(), {0x09, 0x03, 0x01});
  deep.push_back(0x01);
  CHECK_THAT(amf3(deep).error(), Catch::Contains("nesting deeper than 32"));
}

TEST_CASE("amf3 reference expansion is bounded", "[amf3]") {
  // Outer array of 41: elem0 = [1 x 16 ints], elem_i = [ref elem_{i-1}, ref elem_{i-1}].
  // Fully expanded that is 2^40 * 16 values; the budget must stop it.
  std::vector<uint8_t> b = {0x09, uint8_t((41 << 1) | 1), 0x01};
  b.insert(b.end(), {0x09, uint8_t((16 << 1) | 1), 0x01});
  for (int i = 0; i < 16; ++i) b.insert(b.end(), {0x04, 0x01});
  for (int i = 1; i <= 40; ++i) {
    // object table: 0 = outer, 1 = elem0, i+1 = elem_i
    uint8_t ref = uint8_t(i << 1);  // reference to object index i (= elem_{i-1})
    b.insert(b.end(), {0x09, 0x05, 0x01, 0x09, ref, 0x09, ref});
  }
  auto r = amf3(b);
  REQUIRE_FALSE(r.is_ok());
  CHECK_THAT(r.error(), Catch::Contains("more than 131072 elements"));
}

TEST_CASE("amf3 u29 reader", "[amf3]") {
  auto read = [](std::vector<uint8_t> b) {
    core::ByteReader r(core::ByteView(b.data(), b.size()));
    uint32_t v = 0;
    bool ok = amf3_read_u29(r, v);
    return std::make_pair(ok, v);
  };
  CHECK(read({0x00}) == std::make_pair(true, 0u));
  CHECK(read({0xFF, 0xFF, 0xFF, 0xFF}) == std::make_pair(true, 0x1FFFFFFFu));
  CHECK(read({0x80}).first == false);
  CHECK(read({0x80, 0x80, 0x80}).first == false);
}

TEST_CASE("AmfValue accessors and builders", "[amf]") {
  AmfValue o = sample_object();
  CHECK(o.get_string("app") == "live");
  CHECK(o.get_string("missing", "dflt") == "dflt");
  CHECK(o.get_number("capabilities") == 15);
  CHECK(o.get("nested")->get("list")->items().size() == 3);
  CHECK(o.get("nope") == nullptr);
  CHECK(AmfValue::number(3).get("x") == nullptr);
  o.set("app", AmfValue::string("other"));
  CHECK(o.get_string("app") == "other");
  CHECK(o.props()[0].first == "app");  // replaced in place, order kept
  o.set("zzz", AmfValue::boolean(true));
  CHECK(o.props().back().first == "zzz");
  CHECK(AmfValue::number(1).string().empty());
  CHECK(AmfValue::string("x").number() == 0);
  CHECK(AmfValue().is_undefined());
  CHECK(AmfValue::object({}).is_object());
  CHECK(AmfValue::object({}).props().empty());
  CHECK(AmfValue::ecma_array({}).is_ecma_array());
  CHECK(AmfValue::object({{"a", AmfValue::number(1)}}).debug_string() == "{a: 1}");
  CHECK(AmfValue::strict_array({AmfValue::string("s"), AmfValue::null()}).debug_string() ==
        "[\"s\", null]");
  CHECK(amf_type_name(AmfType::kEcmaArray) == "ecma-array");
}
