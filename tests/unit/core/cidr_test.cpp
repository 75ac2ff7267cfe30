// IP addresses and CIDR ranges (core/cidr.h): IPv4, IPv6, IPv4-mapped IPv6,
// bare addresses, prefixes at the edges, and what is refused.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/cidr.h"

using namespace weir::core;

namespace {
IpAddress ip(const char* s) {
  auto a = parse_ip(s);
  REQUIRE(a);
  return *a;
}
bool in(const char* cidr, const char* addr) {
  auto c = parse_cidr(cidr);
  REQUIRE(c.is_ok());
  return c->contains(ip(addr));
}
}  // namespace

TEST_CASE("parse_ip reads IPv4 and IPv6 and prints them back") {
  CHECK(ip("192.0.2.7").is_v4());
  CHECK(ip("192.0.2.7").to_string() == "192.0.2.7");
  CHECK_FALSE(ip("2001:db8::1").is_v4());
  CHECK(ip("2001:DB8:0:0::1").to_string() == "2001:db8::1");
  // IPv4-mapped IPv6 is the IPv4 address.
  CHECK(ip("::ffff:10.1.2.3") == ip("10.1.2.3"));
  CHECK(ip("::ffff:10.1.2.3").to_string() == "10.1.2.3");
  CHECK(ip("::ffff:a01:203") == ip("10.1.2.3"));
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "example.com", "::1::2",
                          "fe80::1%eth0", "1.2.3.4/8", "[::1]", "12345::", "0x7f.0.0.1"})
    CHECK_FALSE(parse_ip(bad));
  CHECK_FALSE(parse_ip(std::string("1.2.3.4\0", 8)));
  CHECK_FALSE(parse_ip(std::string(60, '1')));
}

TEST_CASE("IPv4 ranges match their addresses only") {
  CHECK(in("10.0.0.0/8", "10.255.3.4"));
  CHECK_FALSE(in("10.0.0.0/8", "11.0.0.0"));
  CHECK(in("192.168.1.0/24", "192.168.1.255"));
  CHECK_FALSE(in("192.168.1.0/24", "192.168.2.0"));
  CHECK(in("172.16.0.0/12", "172.31.255.255"));
  CHECK_FALSE(in("172.16.0.0/12", "172.32.0.0"));
  CHECK(in("127.0.0.1", "127.0.0.1"));  // bare = /32
  CHECK_FALSE(in("127.0.0.1", "127.0.0.2"));
  CHECK(in("0.0.0.0/0", "203.0.113.9"));
  CHECK_FALSE(in("0.0.0.0/0", "2001:db8::1"));  // all of IPv4, nothing else
  CHECK(in("10.0.0.0/8", "::ffff:10.9.9.9"));    // a mapped client matches an IPv4 rule
  CHECK(in("10.1.2.3/32", "10.1.2.3"));
}

TEST_CASE("IPv6 ranges, bare addresses and mapped rules") {
  CHECK(in("2001:db8::/32", "2001:db8:ffff::1"));
  CHECK_FALSE(in("2001:db8::/32", "2001:db9::1"));
  CHECK(in("::1", "::1"));  // bare = /128
  CHECK_FALSE(in("::1", "::2"));
  CHECK(in("[::1]", "::1"));
  CHECK(in("[2001:db8::]/48", "2001:db8:0:1::"));
  CHECK(in("::/0", "2001:db8::1"));
  CHECK(in("::/0", "10.0.0.1"));  // all of it, mapped IPv4 included
  CHECK(in("::ffff:10.0.0.0/104", "10.3.4.5"));  // a mapped rule matches IPv4 clients
  CHECK_FALSE(in("::ffff:10.0.0.0/104", "11.3.4.5"));
  CHECK(in("fe80::/10", "febf::1"));
  CHECK_FALSE(in("fe80::/10", "fec0::1"));
}

TEST_CASE("parse_cidr refuses what is not a range, saying why") {
  auto why = [](const char* t) {
    auto c = parse_cidr(t);
    REQUIRE_FALSE(c.is_ok());
    return c.error();
  };
  CHECK(why("10.0.0.0/33").find("over 32") != std::string::npos);
  CHECK(why("::/129").find("over 128") != std::string::npos);
  CHECK(why("10.0.0.1/8").find("did you mean 10.0.0.0/8") != std::string::npos);
  CHECK(why("2001:db8::1/32").find("did you mean 2001:db8::/32") != std::string::npos);
  CHECK(why("fe80::1%eth0").find("zone") != std::string::npos);
  CHECK(why("[10.0.0.1]").find("brackets") != std::string::npos);
  CHECK(why("[::1").find("brackets") != std::string::npos);
  CHECK(why("").find("empty") != std::string::npos);
  for (const char* bad : {"10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0.0/0x8", "10.0.0.0/ 8", "localhost",
                          "10.0.0.0/0008", "1.2.3.4.5/32", "*", "10.0.0.*"})
    CHECK_FALSE(parse_cidr(bad).is_ok());
  CHECK_FALSE(parse_cidr(std::string(kMaxCidrText + 1, '1')).is_ok());
}

TEST_CASE("Cidr prints back in canonical form") {
  CHECK(parse_cidr("10.0.0.0/8")->to_string() == "10.0.0.0/8");
  CHECK(parse_cidr("127.0.0.1")->to_string() == "127.0.0.1/32");
  CHECK(parse_cidr("2001:0db8::/32")->to_string() == "2001:db8::/32");
  CHECK(parse_cidr("::1")->to_string() == "::1/128");
}

TEST_CASE("CidrList matches any of its ranges and keeps only valid entries") {
  CidrList l;
  CHECK(l.empty());
  CHECK_FALSE(l.contains(ip("10.0.0.1")));
  REQUIRE(l.add("10.0.0.0/8").is_ok());
  REQUIRE(l.add("2001:db8::/32").is_ok());
  CHECK_FALSE(l.add("10.0.0.0/40").is_ok());
  CHECK(l.size() == 2);
  CHECK(l.contains(ip("10.2.3.4")));
  CHECK(l.contains(ip("::ffff:10.2.3.4")));
  CHECK(l.contains(ip("2001:db8::5")));
  CHECK_FALSE(l.contains(ip("192.0.2.1")));
  CHECK_FALSE(l.contains(ip("::1")));
  // Iterating yields the entries' canonical text.
  CHECK(std::vector<std::string>(l.begin(), l.end()) == std::vector<std::string>{"10.0.0.0/8", "2001:db8::/32"});
}
