// What the client tests share: the packets of a real encoded clip
// (tests/unit/protocol/data/h264_aac.flv), handlers that record what the
// clients report, and comparisons of packet lists.
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "client/http_client.h"
#include "client/rtmp_client.h"
#include "core/media_packet.h"
#include "protocol/flv_reader.h"
#include "protocol/flv_tag.h"
#include "../test_data.h"
#include "../test_loop.h"

namespace weir::test {

// FLV bytes (a file, an HTTP-FLV body) as packets; onMetaData flagged
// kConfig, as a publisher means it and the RTMP client delivers it.
inline std::vector<core::MediaPacket> flv_packets(core::ByteView flv) {
  protocol::FlvReader reader(protocol::FlvReaderOptions{});
  std::vector<core::MediaPacket> out;
  REQUIRE(reader
              .feed(flv,
                    [&](const protocol::FlvTag& t) {
                      auto p = protocol::make_media_packet(t.type, t.timestamp_ms, t.body);
                      REQUIRE(p.is_ok());
                      if (p->is_data()) p->flags |= core::packet_flags::kConfig;
                      out.push_back(*p);
                      return core::Status::ok();
                    })
              .is_ok());
  return out;
}
inline std::vector<core::MediaPacket> flv_packets(const std::string& body) { return flv_packets(core::as_bytes(body)); }

// The test clip (real encoder output) as packets, in file order.
inline std::vector<core::MediaPacket> clip_packets() {
  auto bytes = load("h264_aac.flv");
  auto out = flv_packets(core::ByteView(bytes.data(), bytes.size()));
  REQUIRE(out.size() > 100);
  return out;
}

// The packets of one track, for comparisons that do not depend on how the
// server interleaves tracks.
inline std::vector<core::MediaPacket> track(const std::vector<core::MediaPacket>& all, core::TrackType t) {
  std::vector<core::MediaPacket> out;
  for (const auto& p : all)
    if (p.track == t) out.push_back(p);
  return out;
}

inline std::string bytes_of(const core::MediaPacket& p) { return std::string(core::as_chars(p.body.view())); }

// Same bodies and timestamps, in order.
inline void check_same_packets(const std::vector<core::MediaPacket>& got, const std::vector<core::MediaPacket>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("packet " << i);
    CHECK(got[i].dts == want[i].dts);
    CHECK(got[i].pts == want[i].pts);
    CHECK(got[i].flags == want[i].flags);
    CHECK(bytes_of(got[i]) == bytes_of(want[i]));
  }
}

// Records an RtmpClient's callbacks (written on the client loop, read by the
// test thread under the mutex or through the atomics).
class RtmpRecorder : public client::RtmpClient::Handler {
 public:
  void on_ready() override { ready = true; }
  void on_packet(const core::MediaPacket& p) override {
    std::lock_guard<std::mutex> lk(mu);
    packets.push_back(p);
    count = packets.size();
  }
  void on_bytes(size_t n) override {
    if (first_bytes == 0) first_bytes = n;
    bytes += n;
  }
  void on_drained() override { drained++; }
  void on_closed(const core::Status& why) override {
    std::lock_guard<std::mutex> lk(mu);
    reason = why.message();
    closed_ok = why.is_ok();
    closed = true;
  }
  std::string close_reason() {
    std::lock_guard<std::mutex> lk(mu);
    return reason;
  }
  std::vector<core::MediaPacket> received() {
    std::lock_guard<std::mutex> lk(mu);
    return packets;
  }

  std::atomic<bool> ready{false};
  std::atomic<bool> closed{false};
  std::atomic<size_t> count{0};
  std::atomic<size_t> bytes{0};
  std::atomic<size_t> first_bytes{0};
  std::atomic<int> drained{0};
  bool closed_ok = false;

 private:
  std::mutex mu;
  std::vector<core::MediaPacket> packets;
  std::string reason;
};

// Records an HttpClient exchange.
class HttpRecorder : public client::HttpClient::Handler {
 public:
  void on_bytes(size_t n) override { bytes += n; }
  void on_head(const protocol::HttpResponseHead& h) override {
    std::lock_guard<std::mutex> lk(mu);
    head = h;
    heads++;
  }
  void on_body(core::ByteView b) override {
    std::lock_guard<std::mutex> lk(mu);
    body.append(core::as_chars(b));
    body_size = body.size();
  }
  void on_complete(const core::Status& st) override {
    std::lock_guard<std::mutex> lk(mu);
    ok = st.is_ok();
    reason = st.message();
    done = true;
  }

  std::mutex mu;
  protocol::HttpResponseHead head;
  std::string body;
  std::string reason;
  bool ok = false;
  std::atomic<int> heads{0};
  std::atomic<size_t> body_size{0};
  std::atomic<size_t> bytes{0};
  std::atomic<bool> done{false};
};

}  // namespace weir::test
