#include <catch2/catch.hpp>

#include <string>

#include "protocol/srt_streamid.h"

using namespace weir::protocol;

namespace {

SrtStreamId ok(std::string_view text) {
  SrtStreamIdError kind = SrtStreamIdError::kSyntax;
  auto r = parse_srt_streamid(text, &kind);
  INFO("stream id: " << text << " error: " << (r ? std::string() : r.error()));
  REQUIRE(r.is_ok());
  CHECK(kind == SrtStreamIdError::kNone);
  return *r;
}

std::string err(std::string_view text, SrtStreamIdError want) {
  SrtStreamIdError kind = SrtStreamIdError::kNone;
  auto r = parse_srt_streamid(text, &kind);
  INFO("stream id: " << text);
  REQUIRE_FALSE(r.is_ok());
  CHECK(kind == want);
  CHECK(r.error().find('\n') == std::string::npos);
  return r.error();
}

}  // namespace

TEST_CASE("srt streamid: access control publish and request") {
  SrtStreamId p = ok("#!::r=live/cam1,m=publish");
  CHECK(p.app == "live");
  CHECK(p.stream == "cam1");
  CHECK(p.mode == SrtMode::kPublish);
  CHECK(p.user.empty());
  CHECK(p.extra.empty());

  SrtStreamId q = ok("#!::r=live/cam1,m=request");
  CHECK(q.mode == SrtMode::kPlay);
  CHECK(q.app == "live");
  CHECK(q.stream == "cam1");
}

TEST_CASE("srt streamid: mode defaults to request") {
  SrtStreamId q = ok("#!::r=app_1/stream-2.hd");
  CHECK(q.mode == SrtMode::kPlay);
  CHECK(q.app == "app_1");
  CHECK(q.stream == "stream-2.hd");
}

TEST_CASE("srt streamid: keys in any order, standard and extra keys kept") {
  SrtStreamId a = ok("#!::u=alice,m=publish,s=sess42,h=example.com,t=stream,token=a=b/c,r=live/s,other=x");
  CHECK(a.app == "live");
  CHECK(a.stream == "s");
  CHECK(a.mode == SrtMode::kPublish);
  CHECK(a.user == "alice");
  CHECK(a.session == "sess42");
  CHECK(a.host == "example.com");
  REQUIRE(a.extra.size() == 2);
  CHECK(a.extra[0] == std::pair<std::string, std::string>{"token", "a=b/c"});  // '=' and '/' inside a value
  CHECK(a.extra[1] == std::pair<std::string, std::string>{"other", "x"});

  SrtStreamId b = ok("#!::m=publish,r=live/s,u=alice");
  CHECK(b.app == "live");
  CHECK(b.mode == SrtMode::kPublish);
  CHECK(b.user == "alice");
}

TEST_CASE("srt streamid: empty items and empty values") {
  SrtStreamId a = ok("#!::r=live/s,,m=publish,");
  CHECK(a.mode == SrtMode::kPublish);
  SrtStreamId b = ok("#!::r=live/s,u=,secret=");
  CHECK(b.user.empty());
  REQUIRE(b.extra.size() == 1);
  CHECK(b.extra[0].first == "secret");
  CHECK(b.extra[0].second.empty());
}

TEST_CASE("srt streamid: short forms") {
  SrtStreamId a = ok("live/s");
  CHECK(a.app == "live");
  CHECK(a.stream == "s");
  CHECK(a.mode == SrtMode::kPublish);

  SrtStreamId b = ok("publish:live/s");
  CHECK(b.mode == SrtMode::kPublish);
  CHECK(b.stream == "s");

  SrtStreamId c = ok("play:live/s");
  CHECK(c.mode == SrtMode::kPlay);
  CHECK(c.app == "live");
  CHECK(c.stream == "s");
}

TEST_CASE("srt streamid: syntax errors") {
  CHECK(err("", SrtStreamIdError::kSyntax).find("empty stream id") != std::string::npos);
  CHECK(err("#!::m=publish", SrtStreamIdError::kSyntax).find("no resource") != std::string::npos);
  CHECK(err("#!::r=live/s,junk", SrtStreamIdError::kSyntax) == "stream id item 'junk' is not KEY=VALUE");
  CHECK(err("#!::r=live/s,=x", SrtStreamIdError::kSyntax).find("empty key") != std::string::npos);
  CHECK(err("#!::r=live/s,r=live/t", SrtStreamIdError::kSyntax) == "stream id key 'r' given twice");
  CHECK(err("#!::r=live/s,m=publish,m=request", SrtStreamIdError::kSyntax) == "stream id key 'm' given twice");
  CHECK(err("#!::r=live/s,x=1,x=2", SrtStreamIdError::kSyntax) == "stream id key 'x' given twice");
  CHECK(err("#!:{r=live/s}", SrtStreamIdError::kSyntax).find("nested") != std::string::npos);
  CHECK(err("#!x", SrtStreamIdError::kSyntax).find("unknown syntax") != std::string::npos);
  CHECK(err("#!::r=live", SrtStreamIdError::kSyntax).find("is not APP/STREAM") != std::string::npos);
  CHECK(err("#!::r=/s", SrtStreamIdError::kSyntax).find("empty app") != std::string::npos);
  CHECK(err("#!::r=live/", SrtStreamIdError::kSyntax).find("empty stream name") != std::string::npos);
  CHECK(err("#!::r=live/a/b", SrtStreamIdError::kSyntax).find("more than one '/'") != std::string::npos);
  CHECK(err("#!::r=live/s?x=1", SrtStreamIdError::kSyntax).find("holds '?'") != std::string::npos);
  CHECK(err("live/bad name", SrtStreamIdError::kSyntax).find("holds ' '") != std::string::npos);
  CHECK(err("live/caf\xc3\xa9", SrtStreamIdError::kSyntax).find("\\xc3") != std::string::npos);
  CHECK(err("nothing", SrtStreamIdError::kSyntax).find("is not APP/STREAM") != std::string::npos);
  CHECK(err("live/s\n", SrtStreamIdError::kSyntax).find("control character \\x0a") != std::string::npos);
  CHECK(err(std::string(513, 'a'), SrtStreamIdError::kSyntax) == "stream id of 513 bytes exceeds 512");
}

TEST_CASE("srt streamid: bad modes and types") {
  CHECK(err("#!::r=live/s,m=bidirectional", SrtStreamIdError::kBadMode) ==
        "stream id mode 'bidirectional' is not supported (want publish or request)");
  CHECK(err("#!::r=live/s,m=", SrtStreamIdError::kBadMode).find("mode ''") != std::string::npos);
  CHECK(err("read:live/s", SrtStreamIdError::kBadMode) ==
        "stream id mode 'read:' is not supported (want publish: or play:)");
  CHECK(err("#!::r=live/s,t=file", SrtStreamIdError::kUnsupportedType) ==
        "stream id type 'file' is not supported (only t=stream)");
}

TEST_CASE("srt streamid: the longest id is accepted, long values are cut in reasons") {
  std::string name(128, 'n');
  std::string id = "#!::r=live/" + name + ",m=publish,pad=";
  id += std::string(512 - id.size(), 'p');
  REQUIRE(id.size() == 512);
  SrtStreamId s = ok(id);
  CHECK(s.stream == name);
  std::string reason = err("#!::r=live/s,m=" + std::string(200, 'z'), SrtStreamIdError::kBadMode);
  CHECK(reason.size() < 140);
  CHECK(reason.find("...") != std::string::npos);
}

TEST_CASE("srt streamid: format round trip") {
  SrtStreamId a = ok("#!::h=h1,u=bob,r=live/s,m=publish,s=xyz,k1=v=1,k2=");
  std::string text = format_srt_streamid(a);
  CHECK(text == "#!::r=live/s,m=publish,u=bob,s=xyz,h=h1,k1=v=1,k2=");
  SrtStreamId b = ok(text);
  CHECK(b.app == a.app);
  CHECK(b.stream == a.stream);
  CHECK(b.mode == a.mode);
  CHECK(b.user == a.user);
  CHECK(b.session == a.session);
  CHECK(b.host == a.host);
  CHECK(b.extra == a.extra);
  CHECK(format_srt_streamid(ok("play:live/x")) == "#!::r=live/x,m=request");
}

TEST_CASE("srt streamid: a percent-encoded access control id is decoded") {
  SrtStreamId a = ok("%23%21%3A%3Ar%3Dlive%2Fs%2Cm%3Dpublish%2Cu%3Dal%20ice");
  CHECK(a.app == "live");
  CHECK(a.stream == "s");
  CHECK(a.mode == SrtMode::kPublish);
  CHECK(a.user == "al ice");
  CHECK(err("%23%21%3A%3Ar%3Dlive%2Fs%0A", SrtStreamIdError::kSyntax).find("control character \\x0a") !=
        std::string::npos);
  CHECK(err("%23%2", SrtStreamIdError::kSyntax).find("percent-encoding") != std::string::npos);
  // Only a leading %23 turns decoding on; elsewhere '%' is just a bad character.
  CHECK(err("live/a%20b", SrtStreamIdError::kSyntax).find("holds '%'") != std::string::npos);
}
