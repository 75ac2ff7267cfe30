#include <catch2/catch.hpp>

#include "transcode/rendition_name.h"

using namespace weir::transcode;

TEST_CASE("rendition names from the template and back") {
  CHECK(rendition_stream_name("{stream}_{rendition}", "foo", "360p") == "foo_360p");
  CHECK(rendition_stream_name("{rendition}-{stream}", "foo", "hd") == "hd-foo");
  std::map<std::string, int> r{{"360p", 0}, {"0p", 0}, {"720p", 0}};
  auto m = match_rendition("{stream}_{rendition}", r, "foo_bar_360p");
  REQUIRE(m);
  CHECK(m->source == "foo_bar");
  CHECK(m->rendition == "360p");  // the longest name that matches, not "0p"
  CHECK_FALSE(match_rendition("{stream}_{rendition}", r, "_360p"));  // no source
  CHECK_FALSE(match_rendition("{stream}_{rendition}", r, "foo"));
  CHECK_FALSE(match_rendition("{stream}_{rendition}", r, "foo_1080p"));
  auto p = match_rendition("{rendition}.{stream}", r, "720p.cam");
  REQUIRE(p);
  CHECK(p->source == "cam");
}
