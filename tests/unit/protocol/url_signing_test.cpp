#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "protocol/url_signing.h"

using namespace weir::protocol;

namespace {
const std::vector<std::string> kKeys{"primary-key-1", "secondary-key-2"};
constexpr int64_t kNow = 1699990000;
constexpr int64_t kExp = 1700000000;
// Computed independently: python3 hmac.new(key, msg, hashlib.sha256).hexdigest().
const char* kPlayToken = "29356b77b4fff45845d18fed2e766fd4cc698626d34e5255cb3c3143b5ed3050";
const char* kPlayTokenIp = "bac4a011879932dee8d044aa05714e97d48a9705f3a8b475401c24f61b213ecb";
}  // namespace

TEST_CASE("weir tokens: the documented message and a known HMAC-SHA256") {
  CHECK(url_token_message(SignDirection::kPlay, "live", "cam1", kExp, "") == "play\nlive\ncam1\n1700000000");
  CHECK(url_token_message(SignDirection::kPublish, "live", "cam1", kExp, "::1") ==
        "publish\nlive\ncam1\n1700000000\n::1");
  CHECK(make_url_token("primary-key-1", SignDirection::kPlay, "live", "cam1", kExp, "") == kPlayToken);
  CHECK(make_url_token("primary-key-1", SignDirection::kPlay, "live", "cam1", kExp, "10.0.0.7") == kPlayTokenIp);
}

TEST_CASE("weir tokens: either key passes (rotation), anything else is refused with its reason") {
  auto verify = [](std::string_view exp, std::string_view tok, std::string_view ip = "", int64_t now = kNow,
                   SignDirection d = SignDirection::kPlay, std::string_view stream = "cam1") {
    return verify_url_token(kKeys, d, "live", stream, exp, tok, ip, now).verdict;
  };
  const std::string e = std::to_string(kExp);
  CHECK(verify(e, kPlayToken) == TokenVerdict::kOk);
  const std::string with_secondary = make_url_token("secondary-key-2", SignDirection::kPlay, "live", "cam1", kExp, "");
  CHECK(verify(e, with_secondary) == TokenVerdict::kOk);
  std::string upper = kPlayToken;
  for (char& c : upper) c = char(std::toupper(c));
  CHECK(verify(e, upper) == TokenVerdict::kOk);
  // Retired key, other stream, other direction, other expiry.
  CHECK(verify(e, make_url_token("old-key-0000", SignDirection::kPlay, "live", "cam1", kExp, "")) ==
        TokenVerdict::kInvalid);
  CHECK(verify(e, kPlayToken, "", kNow, SignDirection::kPlay, "cam2") == TokenVerdict::kInvalid);
  CHECK(verify(e, kPlayToken, "", kNow, SignDirection::kPublish) == TokenVerdict::kInvalid);
  CHECK(verify(std::to_string(kExp + 1), kPlayToken) == TokenVerdict::kInvalid);
  // Expiry: valid up to and including the second it names.
  CHECK(verify(e, kPlayToken, "", kExp) == TokenVerdict::kOk);
  auto late = verify_url_token(kKeys, SignDirection::kPlay, "live", "cam1", e, kPlayToken, "", kExp + 12);
  CHECK(late.verdict == TokenVerdict::kExpired);
  CHECK(late.expires == kExp);
  // Expired wins over wrong: the answer says nothing about the keys.
  CHECK(verify(e, std::string(64, 'a'), "", kExp + 1) == TokenVerdict::kExpired);
  // IP binding.
  CHECK(verify(e, kPlayTokenIp, "10.0.0.7") == TokenVerdict::kOk);
  CHECK(verify(e, kPlayTokenIp, "10.0.0.8") == TokenVerdict::kInvalid);
  CHECK(verify(e, kPlayTokenIp, "") == TokenVerdict::kInvalid);
  CHECK(verify(e, kPlayToken, "10.0.0.7") == TokenVerdict::kInvalid);
}

TEST_CASE("weir tokens: bad lengths and characters are malformed, absence is missing") {
  const std::string e = std::to_string(kExp);
  auto verify = [](std::string_view exp, std::string_view tok) {
    return verify_url_token(kKeys, SignDirection::kPlay, "live", "cam1", exp, tok, "", kNow).verdict;
  };
  CHECK(verify("", "") == TokenVerdict::kMissing);
  CHECK(verify(e, "") == TokenVerdict::kMissing);
  CHECK(verify("", kPlayToken) == TokenVerdict::kMalformed);
  CHECK(verify(e, std::string(kPlayToken).substr(0, 63)) == TokenVerdict::kMalformed);
  CHECK(verify(e, std::string(kPlayToken) + "0") == TokenVerdict::kMalformed);
  CHECK(verify(e, std::string(63, '0') + "g") == TokenVerdict::kMalformed);
  CHECK(verify(e, std::string(100000, 'a')) == TokenVerdict::kMalformed);
  CHECK(verify("-1700000000", kPlayToken) == TokenVerdict::kMalformed);
  CHECK(verify("+1700000000", kPlayToken) == TokenVerdict::kMalformed);
  CHECK(verify("1700000000.5", kPlayToken) == TokenVerdict::kMalformed);
  CHECK(verify("0x65", kPlayToken) == TokenVerdict::kMalformed);
  CHECK(verify("1234567890123", kPlayToken) == TokenVerdict::kMalformed);  // 13 digits
  CHECK(verify(std::string(100000, '9'), kPlayToken) == TokenVerdict::kMalformed);
  CHECK(verify_url_token(kKeys, SignDirection::kPlay, "live", std::string(300, 's'), e, kPlayToken, "", kNow).verdict ==
        TokenVerdict::kMalformed);
  CHECK(verify_url_token({}, SignDirection::kPlay, "live", "cam1", e, kPlayToken, "", kNow).verdict ==
        TokenVerdict::kInvalid);
}

TEST_CASE("tencent tokens: txSecret = md5(key + stream + txTime), txTime upper-case hex") {
  CHECK(tencent_tx_time(kExp) == "6553F100");
  // python3: hashlib.md5(b"tencentkey1" + b"cam1" + b"6553F100").hexdigest()
  CHECK(make_tencent_secret("tencentkey1", "cam1", "6553F100") == "c57affafd6b237ba8c15aadde191d0f5");
  const std::vector<std::string> keys{"old-tencent", "tencentkey1"};
  auto verify = [&](std::string_view t, std::string_view s, int64_t now = kNow, std::string_view stream = "cam1") {
    return verify_tencent_token(keys, stream, t, s, now).verdict;
  };
  CHECK(verify("6553F100", "c57affafd6b237ba8c15aadde191d0f5") == TokenVerdict::kOk);
  CHECK(verify("6553F100", "C57AFFAFD6B237BA8C15AADDE191D0F5") == TokenVerdict::kOk);
  CHECK(verify("6553F100", "c57affafd6b237ba8c15aadde191d0f5", kExp + 1) == TokenVerdict::kExpired);
  CHECK(verify("6553F100", "c57affafd6b237ba8c15aadde191d0f5", kNow, "cam2") == TokenVerdict::kInvalid);
  CHECK(verify("6553f100", "c57affafd6b237ba8c15aadde191d0f5") == TokenVerdict::kInvalid);  // signed over "6553F100"
  CHECK(verify("6553F101", "c57affafd6b237ba8c15aadde191d0f5") == TokenVerdict::kInvalid);
  CHECK(verify("", "") == TokenVerdict::kMissing);
  CHECK(verify("", "c57affafd6b237ba8c15aadde191d0f5") == TokenVerdict::kMalformed);
  CHECK(verify("6553F10G", "c57affafd6b237ba8c15aadde191d0f5") == TokenVerdict::kMalformed);
  CHECK(verify("16553F1000000000A", "c57affafd6b237ba8c15aadde191d0f5") == TokenVerdict::kMalformed);
  CHECK(verify("FFFFFFFFFFFFFFFF", "c57affafd6b237ba8c15aadde191d0f5") == TokenVerdict::kMalformed);  // > INT64_MAX
  CHECK(verify("6553F100", "c57affafd6b237ba8c15aadde191d0f") == TokenVerdict::kMalformed);
}

TEST_CASE("HLS session tokens: bound to app, stream, expiry and (optionally) the address") {
  // python3: hmac.new(b"primary-key-1", b"hls-session\nlive\ncam1\n1700000000", sha256).hexdigest()
  const std::string hs = hls_session_token("primary-key-1", "live", "cam1", kExp, "");
  CHECK(hs == "1700000000.bab75f325369be05dc3aef56103514455f42fbaba88d1c3a4a84732657b15192");
  auto verify = [&](std::string_view t, std::string_view ip = "", int64_t now = kNow, std::string_view stream = "cam1") {
    return verify_hls_session_token(kKeys, "live", stream, t, ip, now).verdict;
  };
  CHECK(verify(hs) == TokenVerdict::kOk);
  CHECK(verify(hs, "", kExp + 1) == TokenVerdict::kExpired);
  CHECK(verify(hs, "", kNow, "cam2") == TokenVerdict::kInvalid);
  CHECK(verify(hs, "127.0.0.1") == TokenVerdict::kInvalid);
  const std::string bound = hls_session_token("secondary-key-2", "live", "cam1", kExp, "127.0.0.1");
  CHECK(verify(bound, "127.0.0.1") == TokenVerdict::kOk);
  CHECK(verify(bound, "127.0.0.2") == TokenVerdict::kInvalid);
  CHECK(verify("") == TokenVerdict::kMissing);
  CHECK(verify("1700000000") == TokenVerdict::kMalformed);
  CHECK(verify("1700000000.") == TokenVerdict::kMalformed);
  CHECK(verify(".bab75f325369be05dc3aef56103514455f42fbaba88d1c3a4a84732657b15192") == TokenVerdict::kMalformed);
  CHECK(verify("1700000000.bab75f32") == TokenVerdict::kMalformed);
  // A full play token is no session token, nor the other way round.
  CHECK(verify(std::string("1700000000.") + kPlayToken) == TokenVerdict::kInvalid);
  CHECK(verify_url_token(kKeys, SignDirection::kPlay, "live", "cam1", "1700000000", hs.substr(11), "", kNow).verdict ==
        TokenVerdict::kInvalid);
}

TEST_CASE("playlist URIs get the session parameter, tags and segment lines alike") {
  const std::string ll =
      "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-MAP:URI=\"init0.mp4\"\n"
      "#EXT-X-PART:DURATION=0.400,URI=\"part7.0.m4s\",INDEPENDENT=YES\n"
      "#EXTINF:2.000,\nseg7.m4s\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part8.0.m4s\"\n"
      "#EXT-X-RENDITION-REPORT:URI=\"../b/llhls.m3u8?x=1\",LAST-MSN=7\n";
  CHECK(add_param_to_playlist_uris(ll, "hs=1.ab") ==
        "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-MAP:URI=\"init0.mp4?hs=1.ab\"\n"
        "#EXT-X-PART:DURATION=0.400,URI=\"part7.0.m4s?hs=1.ab\",INDEPENDENT=YES\n"
        "#EXTINF:2.000,\nseg7.m4s?hs=1.ab\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part8.0.m4s?hs=1.ab\"\n"
        "#EXT-X-RENDITION-REPORT:URI=\"../b/llhls.m3u8?x=1&hs=1.ab\",LAST-MSN=7\n");
  CHECK(add_param_to_playlist_uris("#EXTM3U\r\n#EXT-X-KEY:METHOD=AES-128,URI=\"s/key1.key\"\r\n\r\ns/seg1.ts", "hs=2") ==
        "#EXTM3U\r\n#EXT-X-KEY:METHOD=AES-128,URI=\"s/key1.key?hs=2\"\r\n\r\ns/seg1.ts?hs=2");
  CHECK(add_param_to_playlist_uris("", "hs=2").empty());
  CHECK(add_param_to_playlist_uris("#X:URI=\"unterminated\n", "hs=2") == "#X:URI=\"unterminated\n");
}

TEST_CASE("constant_time_equal compares whole strings") {
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
  CHECK(constant_time_equal("", ""));
}
