// Host patterns for the Referer/Origin allow list (core/host_pattern.h).
#include <catch2/catch.hpp>

#include <string>

#include "core/host_pattern.h"

using namespace weir::core;

TEST_CASE("host patterns: exact hosts and subdomain wildcards, any case") {
  CHECK(host_pattern_matches("example.com", "example.com"));
  CHECK(host_pattern_matches("example.com", "EXAMPLE.com"));
  CHECK_FALSE(host_pattern_matches("example.com", "www.example.com"));
  CHECK_FALSE(host_pattern_matches("example.com", "badexample.com"));
  CHECK(host_pattern_matches("*.example.com", "www.example.com"));
  CHECK(host_pattern_matches("*.example.com", "a.b.example.com"));
  CHECK_FALSE(host_pattern_matches("*.example.com", "example.com"));
  CHECK_FALSE(host_pattern_matches("*.example.com", "evilexample.com"));
  CHECK_FALSE(host_pattern_matches("*.example.com", "www.example.com.evil.test"));
  CHECK_FALSE(host_pattern_matches("example.com", ""));
  CHECK(host_pattern_matches("[::1]", "[::1]"));
}

TEST_CASE("check_host_pattern refuses URLs, ports, stray wildcards and empty labels") {
  for (const char* ok : {"example.com", "*.example.com", "localhost", "a-b.c_d.example", "[::1]", "127.0.0.1"})
    CHECK(check_host_pattern(ok).empty());
  for (const char* bad : {"", "*", "*.", "https://example.com", "example.com:8080", "example.com/", "www.*.com",
                          "*example.com", "a..b", ".example.com", "example.com.", "exa mple.com", "[::1", "[zz]"})
    CHECK_FALSE(check_host_pattern(bad).empty());
  CHECK_FALSE(check_host_pattern(std::string(254, 'a')).empty());
  CHECK_FALSE(check_host_pattern(std::string(64, 'a') + ".com").empty());
}

TEST_CASE("url_host takes the host out of Referer and Origin values") {
  CHECK(url_host("https://www.example.com/page?x=1") == "www.example.com");
  CHECK(url_host("https://www.example.com") == "www.example.com");
  CHECK(url_host("http://user:pw@www.example.com:8443/p") == "www.example.com");
  CHECK(url_host("http://[::1]:8080/x") == "[::1]");
  CHECK(url_host("https://evil.test#frag") == "evil.test");
  CHECK(url_host("null").empty());
  CHECK(url_host("www.example.com/page").empty());
  CHECK(url_host("://x").empty());
  CHECK(url_host("ht tp://x/").empty());
  CHECK(url_host("http://[::1/").empty());
}
