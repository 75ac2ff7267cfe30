// RtmpClient against a real Weir origin in-process (test_origin.h): publish a
// real encoded clip, play it back over RTMP and HTTP-FLV (and over RTMPS and
// HTTPS through core's TLS layer), refusals with the server's codes,
// timeouts, and the publisher's send cap.
#include "client/rtmp_client.h"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "client/http_client.h"
#include "client_test_support.h"
#include "test_origin.h"
#include "../test_cert.h"
#include "../test_net.h"

using namespace weir;
using namespace weir::test;
using client::RtmpClient;
using client::RtmpClientOptions;
using client::RtmpMode;

namespace {

RtmpClientOptions publish_options() {
  RtmpClientOptions o;
  o.mode = RtmpMode::kPublish;
  return o;
}

void check_same_stream(const std::vector<core::MediaPacket>& got, const std::vector<core::MediaPacket>& want) {
  for (auto t : {core::TrackType::kVideo, core::TrackType::kAudio, core::TrackType::kData}) {
    INFO("track " << int(t));
    check_same_packets(track(got, t), track(want, t));
  }
}

// Publishes `url` (waits until ready) and returns the client.
std::unique_ptr<RtmpClient> publisher(TestLoop& cl, RtmpRecorder& rec, const std::string& url,
                                      RtmpClientOptions o = publish_options()) {
  std::unique_ptr<RtmpClient> c;
  cl.run([&] {
    c = std::make_unique<RtmpClient>(cl.loop(), rec, o);
    REQUIRE(c->start(url).is_ok());
  });
  REQUIRE(wait_until([&] { return rec.ready.load() || rec.closed.load(); }));
  INFO(rec.close_reason());
  REQUIRE(rec.ready.load());
  return c;
}

std::unique_ptr<RtmpClient> player(TestLoop& cl, RtmpRecorder& rec, const std::string& url,
                                   RtmpClientOptions o = {}) {
  std::unique_ptr<RtmpClient> c;
  cl.run([&] {
    c = std::make_unique<RtmpClient>(cl.loop(), rec, o);
    REQUIRE(c->start(url).is_ok());
  });
  return c;
}

// Plays back `pkts` published through `pub_url` on an RTMP player and an
// HTTP-FLV pull, and checks both got exactly them.
void publish_and_play(TestLoop& cl, const std::string& pub_url, const std::string& play_url,
                      const std::string& flv_url, RtmpClientOptions o,
                      std::shared_ptr<const core::TlsContext> tls) {
  const auto pkts = clip_packets();
  RtmpRecorder pub_rec, play_rec;
  HttpRecorder flv_rec;
  RtmpClientOptions po = o;
  po.mode = RtmpMode::kPublish;
  auto pub = publisher(cl, pub_rec, pub_url, po);
  auto play = player(cl, play_rec, play_url, o);
  std::unique_ptr<client::HttpClient> http;
  cl.run([&] {
    client::HttpClientOptions ho;
    ho.tls = tls;
    http = std::make_unique<client::HttpClient>(cl.loop(), ho);
    REQUIRE(http->send({"GET", flv_url, {}, {}}, flv_rec).is_ok());
  });
  REQUIRE(wait_until([&] { return play_rec.ready.load() && flv_rec.heads.load() == 1; }));
  {
    std::lock_guard<std::mutex> lk(flv_rec.mu);
    CHECK(flv_rec.head.status == 200);
    CHECK(flv_rec.head.content_type == "video/x-flv");
  }
  CHECK(play_rec.first_bytes.load() > 0);  // the first-byte hook ran (S0+S1+S2)
  cl.run([&] {
    for (const auto& p : pkts) REQUIRE(pub->send(p).is_ok());
    CHECK(pub->stats().packets == pkts.size());
  });
  REQUIRE(wait_until([&] { return play_rec.count.load() >= pkts.size(); }));
  // The whole clip has reached the FLV pull when its last tag parses.
  REQUIRE(wait_until([&] {
    std::lock_guard<std::mutex> lk(flv_rec.mu);
    return flv_packets(flv_rec.body).size() >= pkts.size();
  }));
  check_same_stream(play_rec.received(), pkts);
  {
    std::lock_guard<std::mutex> lk(flv_rec.mu);
    check_same_stream(flv_packets(flv_rec.body), pkts);
  }
  CHECK(play_rec.bytes.load() == play->stats().bytes_received);
  // The publisher leaves: the stream ends for both.
  cl.run([&] { pub.reset(); });
  REQUIRE(wait_until([&] { return play_rec.closed.load() && flv_rec.done.load(); }));
  CHECK(play_rec.close_reason() == "stream ended (NetStream.Play.UnpublishNotify)");
  CHECK(flv_rec.ok);  // a close-delimited body ends with the connection
  cl.run([&] {
    play.reset();
    http.reset();
  });
}

// A port that accepts TCP connections (the kernel completes them) and never
// answers.
using SilentPort = RawListener;

}  // namespace

TEST_CASE("a published clip plays back identically over RTMP and HTTP-FLV") {
  TestOrigin srv;
  TestLoop cl;
  publish_and_play(cl, srv.rtmp_url("live/s"), srv.rtmp_url("live/s"), srv.http_url("/live/s.flv"), {}, nullptr);
}

TEST_CASE("RTMPS and HTTPS carry the same stream through the TLS layer") {
  TestCert cert;
  auto server_tls = core::TlsContext::server({cert.cert_file, cert.key_file});
  REQUIRE(server_tls.is_ok());
  core::TlsClientOptions co;
  co.ca_file = cert.cert_file;
  auto client_tls = core::TlsContext::client(co);
  REQUIRE(client_tls.is_ok());
  TestOrigin srv(*server_tls);
  TestLoop cl;
  RtmpClientOptions o;
  o.tls = *client_tls;
  publish_and_play(cl, srv.rtmps_url("live/t"), srv.rtmps_url("live/t"), srv.https_url("/live/t.flv"), o,
                   *client_tls);
  // rtmps:// without a context is refused before any I/O.
  RtmpRecorder rec;
  cl.run([&] {
    RtmpClient c(cl.loop(), rec);
    auto st = c.start(srv.rtmps_url("live/t"));
    CHECK(st.message() == "rtmp: rtmps:// needs a TLS context (RtmpClientOptions::tls)");
  });
}

TEST_CASE("RTMP refusals end the session with the server's code and description") {
  TestOrigin srv;
  TestLoop cl;
  SECTION("unknown app") {
    RtmpRecorder rec;
    auto c = player(cl, rec, srv.rtmp_url("nope/s"));
    REQUIRE(wait_until([&] { return rec.closed.load(); }));
    CHECK(rec.close_reason() ==
          "NetConnection.Connect.Rejected: app 'nope' is not configured (answer to connect)");
    cl.run([&] {
      CHECK(c->stats().status_code == "NetConnection.Connect.Rejected");
      c.reset();
    });
  }
  SECTION("stream not published") {
    RtmpRecorder rec;
    auto c = player(cl, rec, srv.rtmp_url("live/none"));
    REQUIRE(wait_until([&] { return rec.closed.load(); }));
    CHECK(rec.close_reason() == "NetStream.Play.StreamNotFound: stream live/none is not published");
    CHECK_FALSE(rec.ready.load());
    cl.run([&] { c.reset(); });
  }
  SECTION("second publisher") {
    RtmpRecorder first, second;
    auto a = publisher(cl, first, srv.rtmp_url("live/dup"));
    auto b = player(cl, second, srv.rtmp_url("live/dup"), publish_options());
    REQUIRE(wait_until([&] { return second.closed.load(); }));
    CHECK(second.close_reason() == "NetStream.Publish.BadName: stream live/dup is already being published");
    CHECK_FALSE(first.closed.load());
    cl.run([&] {
      a.reset();
      b.reset();
    });
  }
  SECTION("a bad url is refused before any I/O") {
    RtmpRecorder rec;
    cl.run([&] {
      RtmpClient c(cl.loop(), rec);
      CHECK(c.start("rtmp://127.0.0.1/onlyapp").message().find("want rtmp://host[:port]/app/stream") !=
            std::string::npos);
      CHECK(c.start("http://127.0.0.1/a/b").message().find("not rtmp://") != std::string::npos);
    });
    CHECK_FALSE(rec.closed.load());
  }
}

TEST_CASE("RTMP timeouts: no answer, and a stalled stream") {
  TestOrigin srv;
  TestLoop cl;
  SECTION("a server that never answers the handshake") {
    SilentPort silent(16);
    RtmpRecorder rec;
    RtmpClientOptions o;
    o.response_timeout_ms = 300;
    auto c = player(cl, rec, "rtmp://127.0.0.1:" + std::to_string(silent.port) + "/live/s", o);
    REQUIRE(wait_until([&] { return rec.closed.load(); }));
    CHECK(rec.close_reason() == "rtmp: no answer to the handshake within 300 ms");
    cl.run([&] { c.reset(); });
  }
  SECTION("a stream whose publisher stops sending") {
    const auto pkts = clip_packets();
    RtmpRecorder pub_rec, rec;
    auto pub = publisher(cl, pub_rec, srv.rtmp_url("live/st"));
    RtmpClientOptions o;
    o.stall_timeout_ms = 400;
    auto c = player(cl, rec, srv.rtmp_url("live/st"), o);
    REQUIRE(wait_until([&] { return rec.ready.load(); }));
    cl.run([&] {
      for (size_t i = 0; i < 20; ++i) REQUIRE(pub->send(pkts[i]).is_ok());
    });
    REQUIRE(wait_until([&] { return rec.closed.load(); }));
    CHECK(rec.count.load() == 20);
    CHECK(rec.close_reason() == "rtmp: stalled: nothing from the server for 400 ms");
    CHECK_FALSE(pub_rec.closed.load());  // the publisher is idle, not gone
    cl.run([&] {
      pub.reset();
      c.reset();
    });
  }
}

TEST_CASE("the publisher's send cap refuses packets while the server reads nothing, then drains") {
  TestOrigin srv;
  TestLoop cl;
  RtmpRecorder rec;
  RtmpClientOptions o = publish_options();
  o.max_queued_bytes = 512 * 1024;
  o.stall_timeout_ms = 0;
  auto pub = publisher(cl, rec, srv.rtmp_url("live/cap"), o);
  // 1 MiB key frames (AVCC: one NAL unit).
  std::string nal(1 << 20, '\0');
  nal[0] = 0x65;
  core::ByteWriter avcc;
  avcc.u32be(uint32_t(nal.size()));
  avcc.bytes(nal);
  core::Slice body = protocol::build_video_tag_avc(true, protocol::kAvcPacketNalu, 0, avcc.view());
  auto pkt = protocol::make_media_packet(protocol::kFlvTagVideo, 0, body);
  REQUIRE(pkt.is_ok());

  srv.stall(1500);  // the server's loop reads nothing for 1.5 s
  std::string refusal;
  size_t accepted = 0;
  size_t queued_at_refusal = 0;
  cl.run([&] {
    for (int i = 0; i < 256 && refusal.empty(); ++i) {
      pkt->dts = pkt->pts = i * 40;
      auto st = pub->send(*pkt);
      if (st) ++accepted;
      else {
        refusal = st.message();
        queued_at_refusal = pub->queued_bytes();
      }
    }
  });
  INFO(refusal);
  REQUIRE_FALSE(refusal.empty());
  CHECK(refusal.find("rtmp: send queue full (") == 0);
  CHECK(refusal.find("cap 524288): packet not sent") != std::string::npos);
  CHECK(queued_at_refusal >= o.max_queued_bytes);
  CHECK(accepted >= 1);
  cl.run([&] { CHECK(pub->stats().refused == 1); });
  // Once the server reads again, the queue drains and sending works again.
  REQUIRE(wait_until([&] { return rec.drained.load() >= 1; }, 15000));
  cl.run([&] {
    CHECK(pub->queued_bytes() == 0);
    pkt->dts = pkt->pts = 100000;
    CHECK(pub->send(*pkt).is_ok());
  });
  CHECK_FALSE(rec.closed.load());
  cl.run([&] { pub.reset(); });
}

TEST_CASE("destroying an RtmpClient closes it without a callback, in any state") {
  TestOrigin srv;
  TestLoop cl;
  SilentPort silent(16);
  RtmpRecorder a, b, c;
  cl.run([&] {
    // Connecting, waiting for the handshake, and ready.
    auto x = std::make_unique<RtmpClient>(cl.loop(), a);
    REQUIRE(x->start(srv.rtmp_url("live/x")).is_ok());
    x.reset();
  });
  auto y = player(cl, b, "rtmp://127.0.0.1:" + std::to_string(silent.port) + "/live/s");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  cl.run([&] { y.reset(); });
  auto z = publisher(cl, c, srv.rtmp_url("live/z"));
  cl.run([&] { z.reset(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(a.closed.load());
  CHECK_FALSE(b.closed.load());
  CHECK_FALSE(c.closed.load());
}
