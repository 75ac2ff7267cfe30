#include <catch2/catch.hpp>

#include "edge/origin_health.h"
#include "edge/upstream_url.h"

#include "core/config.h"
#include "protocol/url_signing.h"

using namespace weir::edge;

TEST_CASE("upstream URL templates expand app, stream and the token") {
  auto r = expand_upstream_url("rtmp://o1:1935/{app}/{stream}", "live", "cam-1", "");
  REQUIRE(r);
  CHECK(r->kind == UpstreamKind::kRtmp);
  CHECK(r->url == "rtmp://o1:1935/live/cam-1");

  r = expand_upstream_url("http://o2:8080/{app}/{stream}.flv", "live", "s", "?token=abc&expires=9");
  REQUIRE(r);
  CHECK(r->kind == UpstreamKind::kHttpFlv);
  CHECK(r->url == "http://o2:8080/live/s.flv?token=abc&expires=9");

  // A template with its own query gets the token after '&'; {stream} twice.
  r = expand_upstream_url("rtmps://o3/{app}/{stream}?via=edge&n={stream}", "a", "b", "&t=1");
  REQUIRE(r);
  CHECK(r->url == "rtmps://o3/a/b?via=edge&n=b&t=1");

  CHECK_FALSE(expand_upstream_url("udp://o4:10080?streamid={stream}", "a", "b", ""));
  CHECK_FALSE(expand_upstream_url("rtmp://o1/{app}/{stream}", "a", "", ""));
}

TEST_CASE("upstream query: static token, a play token made with sign_key, then the via chain") {
  weir::core::UpstreamConfig up;
  CHECK(upstream_query(up, "live", "s", "", 1000) == "");
  CHECK(upstream_query(up, "live", "s", "n1", 1000) == "weir_via=n1");
  up.token = "k=v";
  CHECK(upstream_query(up, "live", "s", "n1", 1000) == "k=v&weir_via=n1");
  up.token.clear();
  up.sign_key = "play-key-1";
  up.sign_ttl_s = 60;
  const auto q = upstream_query(up, "live", "cam", "n1", 1000);
  const auto tok = weir::protocol::make_url_token("play-key-1", weir::protocol::SignDirection::kPlay, "live", "cam",
                                                  1060, "");
  CHECK(q == "expires=1060&token=" + tok + "&weir_via=n1");
  // The origin's check accepts it until it expires.
  auto v = weir::protocol::verify_url_token({"other", "play-key-1"}, weir::protocol::SignDirection::kPlay, "live",
                                            "cam", "1060", tok, "", 1059);
  CHECK(v.verdict == weir::protocol::TokenVerdict::kOk);
  v = weir::protocol::verify_url_token({"play-key-1"}, weir::protocol::SignDirection::kPlay, "live", "cam2", "1060",
                                       tok, "", 1059);
  CHECK(v.verdict == weir::protocol::TokenVerdict::kInvalid);
}

TEST_CASE("srt:// upstream templates: the token and the via chain go into the stream id as keys") {
  auto r = expand_upstream_url("srt://127.0.0.1:10080?streamid=#!::r={app}/{stream},m=request&latency=80", "live",
                               "cam-1", "token=abc&weir_via=edge-a,edge-b");
  REQUIRE(r);
  CHECK(r->kind == UpstreamKind::kSrt);
  CHECK(r->srt.host == "127.0.0.1");
  CHECK(r->srt.port == 10080);
  CHECK(r->srt.latency_ms == 80);
  // ',' separates the keys of an Access Control stream id: the chain is joined by '+'.
  CHECK(r->srt.streamid == "#!::r=live/cam-1,m=request,token=abc,weir_via=edge-a+edge-b");
  // A percent-encoded id (as ffmpeg users write it) decodes the same.
  r = expand_upstream_url("srt://o:1?streamid=%23!::r={app}/{stream}%2Cm=request", "a", "b", "");
  REQUIRE(r);
  CHECK(r->srt.streamid == "#!::r=a/b,m=request");
  // The short form takes no keys: the token is not sent.
  r = expand_upstream_url("srt://o:1?streamid=play:{app}/{stream}", "a", "b", "weir_via=e1");
  REQUIRE(r);
  CHECK(r->srt.streamid == "play:a/b");
  auto bad = expand_upstream_url("srt://o:1?streamid={stream}&pbkeylen=16", "a", "b", "");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error(), Catch::Contains("pbkeylen"));
}

TEST_CASE("upstream order: in order, round robin, hash; unhealthy origins last") {
  CHECK(upstream_order(UpstreamPolicy::kInOrder, 3, "s", 7, {}) == std::vector<size_t>{0, 1, 2});
  CHECK(upstream_order(UpstreamPolicy::kRoundRobin, 3, "s", 0, {}) == std::vector<size_t>{0, 1, 2});
  CHECK(upstream_order(UpstreamPolicy::kRoundRobin, 3, "s", 4, {}) == std::vector<size_t>{1, 2, 0});
  // Hash: stable for a name (every edge picks the same first origin), and
  // names spread over the origins.
  auto h = upstream_order(UpstreamPolicy::kHash, 4, "cam-7", 0, {});
  CHECK(h == upstream_order(UpstreamPolicy::kHash, 4, "cam-7", 99, {}));
  REQUIRE(h.size() == 4);
  CHECK(h[1] == (h[0] + 1) % 4);
  std::vector<int> firsts(4);
  for (int i = 0; i < 400; ++i) firsts[upstream_order(UpstreamPolicy::kHash, 4, "s" + std::to_string(i), 0, {})[0]]++;
  for (int n : firsts) CHECK(n > 50);
  // An origin that is down goes last, the others keep their order.
  CHECK(upstream_order(UpstreamPolicy::kInOrder, 3, "s", 0, {false, true, true}) == std::vector<size_t>{1, 2, 0});
  CHECK(upstream_order(UpstreamPolicy::kRoundRobin, 3, "s", 1, {true, false, true}) == std::vector<size_t>{2, 0, 1});
  CHECK(upstream_order(UpstreamPolicy::kInOrder, 2, "s", 0, {false, false}) == std::vector<size_t>{0, 1});
  CHECK(upstream_order(UpstreamPolicy::kInOrder, 0, "s", 0, {}).empty());
  CHECK(parse_upstream_policy("hash") == UpstreamPolicy::kHash);
  CHECK(parse_upstream_policy("round_robin") == UpstreamPolicy::kRoundRobin);
  CHECK(parse_upstream_policy("in_order") == UpstreamPolicy::kInOrder);
}

TEST_CASE("upstream backoff doubles up to its cap") {
  CHECK(upstream_backoff_ms(500, 10000, 0) == 500);
  CHECK(upstream_backoff_ms(500, 10000, 1) == 1000);
  CHECK(upstream_backoff_ms(500, 10000, 4) == 8000);
  CHECK(upstream_backoff_ms(500, 10000, 5) == 10000);
  CHECK(upstream_backoff_ms(500, 10000, 1000) == 10000);
  CHECK(upstream_backoff_ms(0, 10000, 3) == 0);
}

TEST_CASE("origin health: a failed origin is down for its backoff, then tried first again") {
  OriginHealth h;
  const std::vector<std::string> urls{"rtmp://a/{app}/{stream}", "rtmp://b/{app}/{stream}"};
  auto& a = h.at(urls[0]);
  CHECK(&a == &h.at(urls[0]));
  CHECK(h.healthy(urls, 0) == std::vector<bool>{true, true});
  h.connected(a);
  CHECK(a.streams == 1);
  h.ended(a, true, "connection lost", true, 1000, 500, 4000);
  CHECK(a.streams == 0);
  CHECK(a.failures == 1);
  CHECK(a.last_error == "connection lost");
  CHECK(h.healthy(urls, 1499) == std::vector<bool>{false, true});
  CHECK(h.healthy(urls, 1500) == std::vector<bool>{true, true});
  h.ended(a, false, "connect timeout", true, 2000, 500, 4000);  // second round: 1000 ms
  CHECK(h.healthy(urls, 2999) == std::vector<bool>{false, true});
  // A stream the origin lacks is not the origin's fault: not down.
  auto& b = h.at(urls[1]);
  h.ended(b, false, "NetStream.Play.StreamNotFound", false, 3000, 500, 4000);
  CHECK(b.failures == 1);
  CHECK(h.healthy(urls, 3000)[1]);
  std::string text;
  h.write_metrics(text);
  CHECK(text.find("weir_edge_origin_up{origin=\"rtmp://a/{app}/{stream}\"} 0") != std::string::npos);
  CHECK(text.find("weir_edge_origin_failures_total{origin=\"rtmp://b/{app}/{stream}\"} 1") != std::string::npos);
  CHECK(text.find("error=\"NetStream.Play.StreamNotFound\"") != std::string::npos);
}

TEST_CASE("origin health: pushes (a publish at the edge) count apart from pulls and share the down state") {
  OriginHealth h;
  const std::vector<std::string> urls{"rtmp://a/{app}/{stream}"};
  auto& a = h.at(urls[0]);
  h.connected(a);        // a pull
  h.connected(a, true);  // a push
  CHECK(a.streams == 1);
  CHECK(a.pushes == 1);
  bool more = true;
  auto v = h.list("", 10, 0, more);
  REQUIRE(v.size() == 1);
  CHECK(v[0].streams == 1);
  CHECK(v[0].pushes == 1);
  CHECK_FALSE(more);
  // The push's connection is lost: the origin is down for pulls too.
  h.ended(a, true, "connection lost", true, 1000, 500, 4000, true);
  CHECK(a.pushes == 0);
  CHECK(a.streams == 1);
  CHECK(h.healthy(urls, 1200) == std::vector<bool>{false});
  // A refused publish (a forward loop) is about the stream: not down.
  h.ended(a, false, "NetStream.Publish.BadName: forward loop", false, 2000, 500, 4000, true);
  CHECK(a.failures == 2);
  CHECK(a.pushes == 0);
  std::string text;
  h.write_metrics(text);
  CHECK(text.find("weir_edge_origin_pushes{origin=\"rtmp://a/{app}/{stream}\"} 0") != std::string::npos);
  CHECK(text.find("weir_edge_origin_streams{origin=\"rtmp://a/{app}/{stream}\"} 1") != std::string::npos);
}
