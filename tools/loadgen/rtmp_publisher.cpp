#include "loadgen/rtmp_publisher.h"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "loadgen/parsers.h"
#include "loadgen/run_players.h"
#include "loadgen/runner.h"
#include "protocol/flv_tag.h"

namespace weir::loadgen {

using core::Status;

namespace {
constexpr uint32_t kMediaChunkSize = 60000;

// An FLV script tag that is the stream's metadata (AMF0 string "onMetaData").
bool is_metadata(core::ByteView body) {
  static constexpr std::string_view kName = "onMetaData";
  return body.size() >= 3 + kName.size() && body[0] == 0x02 && body[1] == 0 && body[2] == kName.size() &&
         core::as_chars(body.subspan(3, kName.size())) == kName;
}
}  // namespace

RtmpPublisher::RtmpPublisher(core::Loop& loop, const Options& options, const FlvClip& clip)
    : loop_(loop), options_(options), clip_(clip) {}

RtmpPublisher::~RtmpPublisher() = default;

void RtmpPublisher::start() {
  loop_.track(this);
  timer_ = std::make_unique<core::Timer>(loop_);
  client::RtmpClientOptions o;
  o.mode = client::RtmpMode::kPublish;
  o.chunk_size = kMediaChunkSize;
  o.stall_timeout_ms = 0;
  client_ = std::make_unique<client::RtmpClient>(loop_, static_cast<client::RtmpClient::Handler&>(*this), o);
  if (Status st = client_->start(options_.url_text); !st) fail(st.message());
}

void RtmpPublisher::stop() {
  closing_ = true;
  timer_.reset();
  client_.reset();  // closes without callbacks
  done_.store(true);
}

void RtmpPublisher::fail(std::string why) {
  if (stats_.error.empty() && !closing_) stats_.error = std::move(why);
  stop();
}

void RtmpPublisher::close_for_shutdown() {
  loop_.untrack(this);
  if (!closing_) stop();
}

void RtmpPublisher::on_ready() {
  if (publishing_) return;
  publishing_ = true;
  start_us_ = mono_us();
  stats_.publish_start_us = start_us_;
  pump();
}

void RtmpPublisher::on_drained() {
  if (!waiting_drain_ || closing_) return;
  waiting_drain_ = false;
  pump();
}

void RtmpPublisher::pump() {
  if (closing_ || !client_ || waiting_drain_) return;
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
    if (!(stats_.loops > 0 && (t.config || t.type == protocol::kFlvTagScript)) && !send_tag(t, ts)) {
      waiting_drain_ = true;  // on_drained() goes on from this tag
      return;
    }
    if (closing_) return;
    ++next_tag_;
  }
  if (!scheduled) timer_->start(0, [this] { pump(); });  // a long backlog: yield, then go on
}

bool RtmpPublisher::send_tag(const ClipTag& t, int64_t ts_ms) {
  core::MediaPacket pkt;
  pkt.track = t.type == protocol::kFlvTagVideo   ? core::TrackType::kVideo
              : t.type == protocol::kFlvTagAudio ? core::TrackType::kAudio
                                                 : core::TrackType::kData;
  pkt.dts = pkt.pts = ts_ms;  // the RTMP timestamp; the body carries any cts
  pkt.body = t.body;
  // The file's onMetaData goes out as @setDataFrame (the client's rule for
  // a data packet flagged as config).
  if (pkt.is_data() && is_metadata(t.body.view())) pkt.flags = core::packet_flags::kConfig;
  bool probed = false;
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
    pkt.body = body.finish();
    probed = true;
  }
  const uint64_t sent_before = client_->stats().bytes_sent;
  const uint64_t refused_before = client_->stats().refused;
  Status st = client_->send(pkt);
  if (!st) {
    if (client_->stats().refused == refused_before) fail(st.message());  // not a full queue: a real error
    return false;
  }
  if (probed) ++stats_.probes;
  if (t.video_frame) ++stats_.video_frames;
  ++stats_.tags;
  stats_.bytes += client_->stats().bytes_sent - sent_before;
  return true;
}

int run_rtmp_publisher(const Options& o) {
  auto clip = FlvClip::load(o.file);
  if (!clip) {
    fmt::print(stderr, "loadgen: {}\n", clip.error());
    return 2;
  }
  rusage ru0{};
  getrusage(RUSAGE_SELF, &ru0);
  int64_t t0 = mono_us();
  core::LoopGroup group(1);
  std::unique_ptr<RtmpPublisher> pub;
  group.start([&](core::Loop& l) {
    pub = std::make_unique<RtmpPublisher>(l, o, *clip);
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
