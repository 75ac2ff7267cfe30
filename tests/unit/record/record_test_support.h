// Helpers for the recording tests: segment files made by Fmp4Muxer from the
// real encoder output in tests/unit/protocol/data (through the fMP4 muxer
// test helpers), written to a temp dir, and ffprobe/ffmpeg checks.
#pragma once

#include "../protocol/fmp4_test_support.h"

#include <nlohmann/json.hpp>

namespace weir::record_test {

using namespace weir::fmp4_test;

struct Segment {
  std::vector<uint8_t> bytes;
  size_t video = 0;  // samples the muxer took
  size_t audio = 0;
  size_t fragments = 0;
};

// A recorder segment file: init + fragments cut at every video keyframe and
// every fragment_ms (audio-only: every fragment_ms), for `pkts` with every
// dts/pts moved by shift_ms (configs sit at shift_ms).
inline Segment make_segment(const std::vector<MediaPacket>& pkts, int64_t shift_ms,
                            double fragment_ms = 500) {
  std::vector<MediaPacket> shifted;
  for (MediaPacket p : pkts) {
    if (p.is_config()) {
      p.dts = p.pts = shift_ms;
    } else {
      p.dts += shift_ms;
      p.pts += shift_ms;
    }
    shifted.push_back(p);
  }
  MuxOutput out = run_muxer(shifted, fragment_ms, fragment_ms);
  Segment s;
  std::vector<ByteView> parts = {out.init.view()};
  for (size_t i = 0; i < out.segments.size(); ++i) {
    for (ByteView p : segment_bytes(out, i)) parts.push_back(p);
    s.fragments += out.segments[i].size();
  }
  s.bytes = join(parts);
  s.video = out.video_in.size();
  s.audio = out.audio_in.size();
  return s;
}

inline std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// FLV produced by the ffmpeg CLI (H.264 + AAC from lavfi test sources).
inline std::vector<MediaPacket> ffmpeg_flv_packets(const std::string& path, const std::string& size,
                                                   int sample_rate) {
  CmdResult r = run("ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=" + size +
                    ":rate=25 -f lavfi -i sine=f=330:sample_rate=" + std::to_string(sample_rate) +
                    " -t 2 -c:v libx264 -preset ultrafast -g 25 -bf 2 -c:a aac -b:a 32k -f flv '" +
                    path + "'");
  REQUIRE(r.status == 0);
  auto file = read_file(path);
  std::vector<MediaPacket> out;
  FlvReader reader(FlvReaderOptions{});
  auto st = reader.feed(bv(file), [&](const FlvTag& t) {
    if (t.type == kFlvTagScript) return core::Status::ok();
    auto p = make_media_packet(t.type, t.timestamp_ms, t.body);
    if (!p) return p.status();
    out.push_back(*p);
    return core::Status::ok();
  });
  REQUIRE(st.is_ok());
  return out;
}

// ffprobe -show_entries format=duration:stream=codec_name,nb_frames as JSON.
inline nlohmann::json ffprobe_json(const std::string& path) {
  CmdResult r = run("ffprobe -v error -show_entries format=duration:stream=codec_name,codec_type,nb_frames,width,height "
                    "-of json '" + path + "'");
  INFO(r.output);
  REQUIRE(r.status == 0);
  // run() folds stderr in; -v error prints nothing there on success.
  return nlohmann::json::parse(r.output);
}

inline const nlohmann::json* stream_json(const nlohmann::json& j, const std::string& type) {
  for (const auto& s : j["streams"]) {
    if (s.value("codec_type", "") == type) return &s;
  }
  return nullptr;
}

// Everything `ffmpeg -v error` says while decoding; "" when clean.
inline std::string ffmpeg_errors(const std::string& input, const std::string& extra = "") {
  CmdResult r = run("ffmpeg -nostdin -hide_banner -v error " + extra + " -i '" + input + "' -f null -");
  if (r.status != 0) return "exit " + std::to_string(r.status) + ": " + r.output;
  return r.output;
}

// Top-level box types of a file, in order.
inline std::vector<std::string> top_level_boxes(const std::string& path) {
  auto bytes = read_file(path);
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos + 8 <= bytes.size()) {
    uint64_t size = uint64_t(bytes[pos]) << 24 | uint64_t(bytes[pos + 1]) << 16 |
                    uint64_t(bytes[pos + 2]) << 8 | bytes[pos + 3];
    out.emplace_back(reinterpret_cast<const char*>(&bytes[pos + 4]), 4);
    if (size == 1 && pos + 16 <= bytes.size()) {
      size = 0;
      for (int i = 0; i < 8; ++i) size = size << 8 | bytes[pos + 8 + size_t(i)];
    }
    if (size < 8) break;
    pos += size;
  }
  return out;
}

}  // namespace weir::record_test
