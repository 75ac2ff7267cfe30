#include "loadgen/rtmp_publisher.h"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "loadgen/run_players.h"
#include "loadgen/runner.h"
#include "loadgen/parsers.h"
#include "protocol/amf0.h"
#include "protocol/flv_tag.h"
#include "protocol/rtmp_messages.h"

namespace weir::loadgen {

using core::Status;
using protocol::AmfValue;
namespace rtmp_type = protocol::rtmp_type;

namespace {
constexpr uint32_t kInitialChunkSize = 128;
constexpr uint32_t kMediaChunkSize = 60000;
constexpr uint32_t kCommandCsid = 3;
constexpr uint32_t kAudioCsid = 4;
constexpr uint32_t kDataCsid = 5;
constexpr uint32_t kVideoCsid = 6;
constexpr double kTxConnect = 1, kTxRelease = 2, kTxFcPublish = 3, kTxCreateStream = 4;
}  // namespace

RtmpPublisher::RtmpPublisher(core::Loop& loop, const Options& options, const FlvClip& clip,
                             core::SocketAddress address)
    : loop_(loop), options_(options), clip_(clip), address_(address) {
  auto p = split_rtmp_path(options.url);
  if (p) path_ = *p;
  writer_.set_chunk_size(kInitialChunkSize);
}

RtmpPublisher::~RtmpPublisher() = default;

void RtmpPublisher::start() {
  loop_.track(this);
  timer_ = std::make_unique<core::Timer>(loop_);
  core::TcpConn* c = core::TcpConn::connect_to(loop_, address_, [this](core::TcpConn* conn, int status) {
    if (status != 0) {
      fail(std::string("connect: ") + uv_strerror(status));
      return;
    }
    if (closing_) return conn->close();
    conn->start_reading();
    core::ByteWriter out(1 + protocol::kHandshakeSize);
    handshake_.start(out, true);
    conn->send(out.finish());
  });
  c->set_handler(this);
}

void RtmpPublisher::fail(std::string why) {
  if (stats_.error.empty() && !closing_) stats_.error = std::move(why);
  closing_ = true;
  timer_.reset();
  if (conn_) conn_->close();
  else done_.store(true);
}

void RtmpPublisher::close_for_shutdown() {
  loop_.untrack(this);
  if (closing_) return;
  closing_ = true;
  timer_.reset();
  if (conn_) conn_->close();
  else done_.store(true);
}

void RtmpPublisher::on_read(core::ByteView data) {
  if (closing_) return;
  if (!handshake_.done()) {
    core::ByteWriter out(protocol::kHandshakeSize + 512);
    auto used = handshake_.feed(data, out);
    if (!used) return fail("rtmp handshake: " + used.error());
    data = data.subspan(*used);
    if (handshake_.done()) {
      reader_ = std::make_unique<protocol::ChunkReader>();
      std::string tc_url = "rtmp://" + options_.url.authority() + "/" + path_.app;
      AmfValue obj = AmfValue::object({{"app", AmfValue::string(path_.app)},
                                       {"type", AmfValue::string("nonprivate")},
                                       {"flashVer", AmfValue::string("FMLE/3.0 (compatible; weir-loadgen)")},
                                       {"tcUrl", AmfValue::string(tc_url)}});
      out.bytes(protocol::make_command(kInitialChunkSize, kCommandCsid, 0, "connect", kTxConnect, {obj}).view());
    }
    if (out.size()) conn_->send(out.finish());
    if (!handshake_.done() || data.empty()) return;
  }
  Status st = reader_->feed(data, [this](protocol::RtmpMessage&& m) { return on_message(std::move(m)); });
  if (closing_) return;
  if (!st) return fail("rtmp: " + st.message());
  if (ack_window_ && reader_->bytes_received() - last_ack_ >= ack_window_) {
    last_ack_ = reader_->bytes_received();
    conn_->send(protocol::make_acknowledgement(kInitialChunkSize, uint32_t(last_ack_)));
  }
}

Status RtmpPublisher::on_message(protocol::RtmpMessage&& m) {
  if (m.type_id == rtmp_type::kWindowAckSize) {
    if (auto w = protocol::parse_u32_control(m)) ack_window_ = *w;
    return Status::ok();
  }
  if (m.type_id == rtmp_type::kUserControl) {
    auto uc = protocol::parse_user_control(m);
    if (uc && uc->event == protocol::UserControlEvent::kPingRequest)
      conn_->send(protocol::make_user_control(kInitialChunkSize, protocol::UserControlEvent::kPingResponse, uc->value));
    return Status::ok();
  }
  if (m.type_id != rtmp_type::kCommandAmf0 && m.type_id != rtmp_type::kCommandAmf3) return Status::ok();
  auto c = protocol::parse_command(m);
  if (!c) return Status::ok();
  if (c->name == "_result" && c->transaction_id == kTxConnect) {
    core::ByteWriter out(512);
    const AmfValue name = AmfValue::string(path_.stream);
    out.bytes(protocol::make_command(kInitialChunkSize, kCommandCsid, 0, "releaseStream", kTxRelease,
                                     {AmfValue::null(), name}).view());
    out.bytes(protocol::make_command(kInitialChunkSize, kCommandCsid, 0, "FCPublish", kTxFcPublish,
                                     {AmfValue::null(), name}).view());
    out.bytes(protocol::make_command(kInitialChunkSize, kCommandCsid, 0, "createStream", kTxCreateStream,
                                     {AmfValue::null()}).view());
    conn_->send(out.finish());
  } else if (c->name == "_result" && c->transaction_id == kTxCreateStream) {
    stream_id_ = c->args.empty() ? 1 : uint32_t(c->args[0].number());
    conn_->send(protocol::make_command(kInitialChunkSize, kCommandCsid, stream_id_, "publish", 0,
                                       {AmfValue::null(), AmfValue::string(path_.stream), AmfValue::string("live")}));
  } else if (c->name == "_error" && (c->transaction_id == kTxConnect || c->transaction_id == kTxCreateStream)) {
    return Status::errorf("server answered _error to transaction {}", c->transaction_id);
  } else if (c->name == "onStatus") {
    std::string code = c->args.empty() ? "" : std::string(c->args[0].get_string("code"));
    if (code == "NetStream.Publish.Start") {
      if (!publishing_) begin_media();
    } else if (code.find("Publish.BadName") != std::string::npos || code.find("Failed") != std::string::npos ||
               code.find("Rejected") != std::string::npos) {
      return Status::errorf("publish refused: {}", code);
    }
  }
  return Status::ok();
}

void RtmpPublisher::begin_media() {
  publishing_ = true;
  conn_->send(protocol::make_set_chunk_size(kInitialChunkSize, kMediaChunkSize));
  writer_.set_chunk_size(kMediaChunkSize);
  start_us_ = mono_us();
  stats_.publish_start_us = start_us_;
  pump();
}

void RtmpPublisher::pump() {
  if (closing_ || !conn_) return;
  int64_t now = mono_us();
  bool scheduled = false;
  for (size_t guard = 0; guard < 10000 && !scheduled; ++guard) {
    if (next_tag_ >= clip_.tags.size()) {
      next_tag_ = 0;
      loop_offset_ms_ += clip_.loop_span_ms;
      ++stats_.loops;
    }
    const ClipTag& t = clip_.tags[next_tag_];
    int64_t ts = t.ts_ms + loop_offset_ms_;
    int64_t due = start_us_ + ts * 1000;
    if (due > now) {
      uint64_t wait_ms = uint64_t((due - now + 999) / 1000);
      timer_->start(wait_ms, [this] { pump(); });
      scheduled = true;
      break;
    }
    ++next_tag_;
    if (stats_.loops > 0 && (t.config || t.type == protocol::kFlvTagScript)) continue;
    send_tag(t, ts);
  }
  if (!scheduled) timer_->start(0, [this] { pump(); });  // a long backlog: yield, then go on
  conn_->flush();
}

void RtmpPublisher::send_tag(const ClipTag& t, int64_t ts_ms) {
  core::ByteWriter out(t.body.size() + t.body.size() / kMediaChunkSize * 4 + 64);
  if (t.type == protocol::kFlvTagScript) {
    // File script data ("onMetaData", {...}) goes out as @setDataFrame.
    auto values = protocol::amf0_decode_all(t.body.view());
    if (values) {
      std::vector<AmfValue> v;
      v.push_back(AmfValue::string("@setDataFrame"));
      for (auto& x : *values) v.push_back(std::move(x));
      core::Slice data = protocol::make_data(kMediaChunkSize, kDataCsid, stream_id_, ts_ms, v);
      stats_.bytes += data.size();
      conn_->append(data);
      ++stats_.tags;
    }
    return;
  }
  uint32_t csid = t.type == protocol::kFlvTagVideo ? kVideoCsid : kAudioCsid;
  if (options_.probe && t.video_frame && t.h264) {
    uint8_t sei[kProbeNalMaxSize];
    size_t sei_len = write_probe_sei_nal(sei, wall_clock_us());
    core::ByteWriter body(t.body.size() + sei_len + 4);
    core::ByteView src = t.body.view();
    body.bytes(src.subspan(0, t.payload_offset));
    uint8_t n = clip_.nal_length_size;
    for (int i = n - 1; i >= 0; --i) body.u8(uint8_t(sei_len >> (8 * i)));
    body.bytes(core::ByteView(sei, sei_len));
    body.bytes(src.subspan(t.payload_offset));
    writer_.write(out, csid, t.type, stream_id_, ts_ms, body.view());
    ++stats_.probes;
  } else {
    writer_.write(out, csid, t.type, stream_id_, ts_ms, t.body.view());
  }
  if (t.video_frame) ++stats_.video_frames;
  ++stats_.tags;
  stats_.bytes += out.size();
  conn_->append(out.finish());
}

void RtmpPublisher::on_read_end(int uv_status) {
  fail(uv_status == UV_EOF ? "server closed the connection" : std::string("socket: ") + uv_strerror(uv_status));
}

void RtmpPublisher::on_timeout(const char* what) { fail(what); }

void RtmpPublisher::on_closed() {
  timer_.reset();
  done_.store(true);
}

int run_rtmp_publisher(const Options& o) {
  auto clip = FlvClip::load(o.file);
  if (!clip) {
    fmt::print(stderr, "loadgen: {}\n", clip.error());
    return 2;
  }
  auto addr = o.url.address();
  if (!addr) {
    fmt::print(stderr, "loadgen: {}\n", addr.error());
    return 2;
  }
  rusage ru0{};
  getrusage(RUSAGE_SELF, &ru0);
  int64_t t0 = mono_us();
  core::LoopGroup group(1);
  std::unique_ptr<RtmpPublisher> pub;
  group.start([&](core::Loop& l) {
    pub = std::make_unique<RtmpPublisher>(l, o, *clip, *addr);
    pub->start();
  });
  const int64_t end_at = o.duration > 0 ? t0 + int64_t(o.duration * 1e6) : INT64_MAX;
  while (!g_stop_requested.load() && !pub->done() && mono_us() < end_at)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  group.stop();
  rusage ru1{};
  getrusage(RUSAGE_SELF, &ru1);
  auto secs = [](const timeval& a, const timeval& b) {
    return double(b.tv_sec - a.tv_sec) + double(b.tv_usec - a.tv_usec) / 1e6;
  };
  const PublisherStats& s = pub->stats();
  double dur = double(mono_us() - t0) / 1e6;
  nlohmann::json j = {{"publish", "rtmp"},
                      {"url", o.url_text},
                      {"file", o.file},
                      {"probe", o.probe},
                      {"published", s.publish_start_us >= 0},
                      {"tags", s.tags},
                      {"video_frames", s.video_frames},
                      {"probes", s.probes},
                      {"bytes", s.bytes},
                      {"loops", s.loops},
                      {"duration_s", std::round(dur * 1000) / 1000},
                      {"cpu_user_s", std::round(secs(ru0.ru_utime, ru1.ru_utime) * 1000) / 1000},
                      {"cpu_sys_s", std::round(secs(ru0.ru_stime, ru1.ru_stime) * 1000) / 1000},
                      {"error", s.error}};
  if (o.json) fmt::print("{}\n", j.dump());
  else fmt::print("publish {}: {} tags, {} probes, {} bytes, {} loops in {:.1f} s{}\n", o.url_text, s.tags, s.probes,
                  s.bytes, s.loops, dur, s.error.empty() ? "" : ", error: " + s.error);
  std::fflush(stdout);
  pub.reset();
  return s.publish_start_us >= 0 && (s.error.empty() || g_stop_requested.load()) ? 0 : 1;
}

}  // namespace weir::loadgen
