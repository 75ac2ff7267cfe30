#include "loadgen/srt_publisher.h"

#include <srt/srt.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iterator>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "loadgen/run_players.h"
#include "loadgen/runner.h"
#include "loadgen/parsers.h"
#include "protocol/http_request_parser.h"
#include "protocol/ts_demuxer.h"
#include "protocol/ts_muxer.h"

namespace weir::loadgen {

namespace {

constexpr size_t kSrtChunk = 7 * protocol::kTsPacketSize;  // 1316

// Query parameter `name` of the SRT URL, percent-decoded; empty if absent.
std::string query_param(const std::string& query, std::string_view name) {
  size_t i = 0;
  while (i <= query.size()) {
    size_t amp = query.find('&', i);
    if (amp == std::string::npos) amp = query.size();
    std::string_view kv(query.data() + i, amp - i);
    size_t eq = kv.find('=');
    if (kv.substr(0, eq) == name) {
      auto v = protocol::percent_decode(eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1), false);
      return v ? *v : std::string(kv.substr(eq + 1));
    }
    i = amp + 1;
  }
  return {};
}

struct TsClip {
  std::vector<core::MediaPacket> packets;  // decode order as demuxed
  int64_t first_dts = 0;
  int64_t loop_span_ms = 0;
  int nal_length_size = 4;
};

core::Result<TsClip> load_ts(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return core::Status::errorf("cannot open {}", path);
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  TsClip clip;
  protocol::TsDemuxer demux;
  auto cb = [&](const core::MediaPacket& p) {
    clip.packets.push_back(p);
    return core::Status::ok();
  };
  auto st = demux.feed(core::ByteView(data.data(), data.size()), cb);
  if (st) st = demux.flush(cb);
  if (!st) return core::Status::errorf("{}: {}", path, st.message());
  if (clip.packets.empty()) return core::Status::errorf("{}: no media in the transport stream", path);
  int64_t lo = INT64_MAX, hi = INT64_MIN, vfirst = -1, vlast = -1, vcount = 0;
  for (const auto& p : clip.packets) {
    if (p.is_config()) continue;
    lo = std::min(lo, p.dts);
    hi = std::max(hi, p.dts);
    if (p.is_video()) {
      if (vfirst < 0) vfirst = p.dts;
      vlast = p.dts;
      ++vcount;
    }
  }
  if (lo == INT64_MAX) lo = hi = 0;
  int64_t frame = vcount > 1 && vlast > vfirst ? std::max<int64_t>(1, (vlast - vfirst) / (vcount - 1)) : 40;
  clip.first_dts = lo;
  clip.loop_span_ms = hi - lo + frame;
  return clip;
}

}  // namespace

int run_srt_publisher(const Options& o) {
  auto clip = load_ts(o.file);
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
  std::string error;
  uint64_t bytes = 0, packets_sent = 0, probes = 0, loops = 0, messages = 0;
  bool connected = false;

  srt_startup();
  SRTSOCKET sock = srt_create_socket();
  std::string streamid = query_param(o.url.query, "streamid");
  if (!streamid.empty()) srt_setsockflag(sock, SRTO_STREAMID, streamid.data(), int(streamid.size()));
  int transtype = SRTT_LIVE;
  srt_setsockflag(sock, SRTO_TRANSTYPE, &transtype, sizeof transtype);
  if (std::string lat = query_param(o.url.query, "latency"); !lat.empty()) {
    int ms = std::atoi(lat.c_str());
    srt_setsockflag(sock, SRTO_LATENCY, &ms, sizeof ms);
  }
  if (srt_connect(sock, addr->sa(), int(addr->len)) == SRT_ERROR) {
    error = fmt::format("srt connect: {}", srt_getlasterror_str());
  } else {
    connected = true;
    protocol::TsMuxerOptions mo;
    mo.tables_before_keyframes = true;
    protocol::TsMuxer mux(mo);
    core::ByteWriter out(64 * 1024);
    std::vector<uint8_t> pending;  // muxed bytes not yet sent (< one SRT message)
    const int64_t start_us = mono_us();
    const int64_t end_at = o.duration > 0 ? t0 + int64_t(o.duration * 1e6) : INT64_MAX;
    size_t idx = 0;
    int64_t offset = 0;
    auto send_bytes = [&](bool all) {
      size_t pos = 0;
      while (pending.size() - pos >= kSrtChunk || (all && pos < pending.size())) {
        int len = int(std::min(kSrtChunk, pending.size() - pos));
        if (srt_sendmsg2(sock, reinterpret_cast<const char*>(pending.data() + pos), len, nullptr) == SRT_ERROR) {
          error = fmt::format("srt send: {}", srt_getlasterror_str());
          return false;
        }
        pos += size_t(len);
        bytes += size_t(len);
        ++messages;
      }
      pending.erase(pending.begin(), pending.begin() + long(pos));
      return true;
    };
    while (!g_stop_requested.load() && mono_us() < end_at && error.empty()) {
      if (idx >= clip->packets.size()) {
        idx = 0;
        offset += clip->loop_span_ms;
        ++loops;
      }
      const core::MediaPacket& src = clip->packets[idx++];
      if (loops > 0 && src.is_config()) continue;
      int64_t due = start_us + (src.dts - clip->first_dts + offset) * 1000;
      int64_t now = mono_us();
      if (due > now) {
        if (due - now > 5000 && !send_bytes(true)) break;
        std::this_thread::sleep_for(std::chrono::microseconds(std::min<int64_t>(due - now, end_at - now)));
        if (g_stop_requested.load() || mono_us() >= end_at) break;
      }
      core::MediaPacket p = src;
      p.dts += offset;
      p.pts += offset;
      if (o.probe && p.is_video() && !p.is_config() && p.codec == core::Codec::kH264) {
        uint8_t sei[kProbeNalMaxSize];
        size_t n = write_probe_sei_nal(sei, wall_clock_us());
        core::ByteWriter body(p.body.size() + n + 4);
        body.bytes(p.body.view().subspan(0, p.payload_offset));
        body.u32be(uint32_t(n));
        body.bytes(core::ByteView(sei, n));
        body.bytes(p.payload());
        p.body = body.finish();
        ++probes;
      }
      core::Status st = mux.write_packet(out, p);
      if (!st) {
        error = "ts mux: " + st.message();
        break;
      }
      if (!p.is_config()) ++packets_sent;
      core::ByteView v = out.view();
      pending.insert(pending.end(), v.begin(), v.end());
      out.clear();
      if (!send_bytes(false)) break;
    }
    if (error.empty()) send_bytes(true);
  }
  srt_close(sock);
  srt_cleanup();

  rusage ru1{};
  getrusage(RUSAGE_SELF, &ru1);
  auto secs = [](const timeval& a, const timeval& b) {
    return double(b.tv_sec - a.tv_sec) + double(b.tv_usec - a.tv_usec) / 1e6;
  };
  double dur = double(mono_us() - t0) / 1e6;
  nlohmann::json j = {{"publish", "srt"},
                      {"url", o.url_text},
                      {"file", o.file},
                      {"probe", o.probe},
                      {"published", connected},
                      {"packets", packets_sent},
                      {"messages", messages},
                      {"probes", probes},
                      {"bytes", bytes},
                      {"loops", loops},
                      {"duration_s", std::round(dur * 1000) / 1000},
                      {"cpu_user_s", std::round(secs(ru0.ru_utime, ru1.ru_utime) * 1000) / 1000},
                      {"cpu_sys_s", std::round(secs(ru0.ru_stime, ru1.ru_stime) * 1000) / 1000},
                      {"error", error}};
  if (o.json) fmt::print("{}\n", j.dump());
  else fmt::print("publish {}: {} packets, {} probes, {} bytes, {} loops in {:.1f} s{}\n", o.url_text, packets_sent,
                  probes, bytes, loops, dur, error.empty() ? "" : ", error: " + error);
  std::fflush(stdout);
  return connected && error.empty() ? 0 : 1;
}

}  // namespace weir::loadgen
