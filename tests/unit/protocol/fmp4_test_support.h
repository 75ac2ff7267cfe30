// Helpers shared by the fMP4 muxer tests: fixtures read back as MediaPackets,
// the muxer run into parts and segments, structure checks, and ffmpeg/ffprobe
// checks of the output (see fmp4_muxer_test.cpp for the fixtures).
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>

#include "protocol/codec_config.h"
#include "protocol/flv_reader.h"
#include "protocol/flv_tag.h"
#include "protocol/fmp4_muxer.h"
#include "protocol/mp4_box.h"
#include "protocol/mpeg_audio.h"
#include "protocol/mp4_reader.h"
#include "../test_data.h"

using namespace weir;
using namespace weir::protocol;
using core::ByteView;
using core::Codec;
using core::MediaPacket;

namespace weir::fmp4_test {


using weir::test::load;

inline ByteView bv(const std::vector<uint8_t>& v) { return ByteView(v.data(), v.size()); }
inline std::vector<uint8_t> vec(ByteView v) { return std::vector<uint8_t>(v.begin(), v.end()); }

struct CmdResult {
  int status = -1;
  std::string output;  // stdout + stderr
};

inline CmdResult run(const std::string& cmd) {
  CmdResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/weir-fmp4-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, const std::vector<ByteView>& parts) {
  std::ofstream f(path, std::ios::binary);
  REQUIRE(f.good());
  for (ByteView p : parts) f.write(reinterpret_cast<const char*>(p.data()), long(p.size()));
  REQUIRE(f.good());
}

// Everything ffmpeg says at -v warning while decoding the whole file.
inline std::string ffmpeg_warnings(const std::string& path) {
  CmdResult r = run("ffmpeg -nostdin -hide_banner -v warning -i '" + path + "' -f null -");
  if (r.status != 0) return "exit " + std::to_string(r.status) + ": " + r.output;
  return r.output;
}

using Fields = std::map<std::string, std::string>;

// ffprobe per-stream fields, decoded frame counts included.
inline std::vector<Fields> ffprobe_streams(const std::string& path) {
  CmdResult r = run(
      "ffprobe -v error -count_frames -show_entries "
      "stream=codec_type,codec_name,codec_tag_string,width,height,sample_rate,channels,nb_read_"
      "frames -of compact=p=0 '" + path + "'");
  REQUIRE(r.status == 0);
  std::vector<Fields> out;
  std::istringstream lines(r.output);
  std::string line;
  while (std::getline(lines, line)) {
    Fields f;
    std::istringstream items(line);
    std::string kv;
    while (std::getline(items, kv, '|')) {
      auto eq = kv.find('=');
      if (eq != std::string::npos) f[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    if (!f.empty()) out.push_back(f);
  }
  return out;
}

inline const Fields* stream_of(const std::vector<Fields>& s, const std::string& type) {
  for (const auto& f : s) {
    if (f.count("codec_type") && f.at("codec_type") == type) return &f;
  }
  return nullptr;
}

// ---- packet sources -----------------------------------------------------------

inline std::vector<MediaPacket> flv_packets(const std::string& name) {
  auto file = load(name);
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

inline MediaPacket packet(uint8_t tag_type, int64_t ts, core::Slice body) {
  auto p = make_media_packet(tag_type, ts, std::move(body));
  REQUIRE(p.is_ok());
  return *p;
}

// OpusHead (RFC 7845 5.1) from a dOps box payload (big-endian fields).
inline std::vector<uint8_t> opus_head_from_dops(ByteView d) {
  REQUIRE(d.size() >= 11);
  std::vector<uint8_t> h = {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, d[1]};
  h.push_back(d[3]);  // pre-skip, little-endian
  h.push_back(d[2]);
  for (int i = 7; i >= 4; --i) h.push_back(d[size_t(i)]);  // input sample rate
  h.push_back(d[9]);  // output gain
  h.push_back(d[8]);
  h.push_back(d[10]);  // mapping family
  for (size_t i = 11; i < d.size(); ++i) h.push_back(d[i]);
  return h;
}

// A classic FLV MP3 tag body (SoundFormat 2) for MPEG audio frame(s).
inline core::Slice mp3_tag(ByteView frames) {
  MpegAudioFrame f;
  REQUIRE(parse_mpeg_audio_header(frames, f));
  core::ByteWriter w(1 + frames.size());
  w.u8(flv_mp3_header(f));
  w.bytes(frames);
  return w.finish();
}

// The packets an E-RTMP publisher of this fMP4 file would send: configs at
// dts 0, then media in dts order with ms timestamps. With inject_td, every AV1
// sample gets a temporal delimiter OBU in front, as encoders emit them. VP9
// goes out as E-RTMP 'vp09' (SequenceStart = the vpcC record unless
// vp9_config is false), MP3 (esds 0x6B/0x69) as classic FLV SoundFormat 2.
inline std::vector<MediaPacket> mp4_packets(const std::string& name, bool inject_td = false,
                                            bool vp9_config = true) {
  auto file = load(name);
  auto init = parse_mp4_init(bv(file));
  REQUIRE(init.is_ok());
  auto frags = parse_mp4_fragments(bv(file), &*init);
  REQUIRE(frags.is_ok());
  std::vector<MediaPacket> configs, media;
  for (const auto& t : init->tracks) {
    std::vector<uint8_t> cfg = vec(t.config);
    switch (t.sample_entry) {
      case box_type("hvc1"):
        configs.push_back(packet(kFlvTagVideo, 0,
                                 build_video_tag_enhanced(kFourccHvc1, kVideoFrameKey,
                                                          kVideoPacketSequenceStart, 0, bv(cfg))));
        break;
      case box_type("av01"):
        configs.push_back(packet(kFlvTagVideo, 0,
                                 build_video_tag_enhanced(kFourccAv01, kVideoFrameKey,
                                                          kVideoPacketSequenceStart, 0, bv(cfg))));
        break;
      case box_type("vp09"):
        if (vp9_config) {
          configs.push_back(packet(kFlvTagVideo, 0,
                                   build_video_tag_enhanced(kFourccVp09, kVideoFrameKey,
                                                            kVideoPacketSequenceStart, 0, bv(cfg))));
        }
        break;
      case box_type("mp4a"):
        if (t.object_type == 0x6B || t.object_type == 0x69) break;  // MP3: no config in FLV
        configs.push_back(packet(kFlvTagAudio, 0, build_audio_tag_aac(kAacPacketSequenceHeader, bv(cfg))));
        break;
      case box_type("Opus"): {
        auto head = opus_head_from_dops(t.config);
        configs.push_back(packet(kFlvTagAudio, 0,
                                 build_audio_tag_enhanced(kFourccOpus, kAudioPacketSequenceStart, bv(head))));
        break;
      }
      default:
        FAIL("unexpected sample entry " << mp4_type_name(t.sample_entry));
    }
  }
  for (const auto& f : *frags) {
    for (const auto& run : f.tracks) {
      const Mp4InitTrack* t = init->find(run.track_id);
      REQUIRE(t != nullptr);
      for (const auto& s : run.samples) {
        int64_t dts = std::llround(double(s.decode_time) * 1000.0 / t->timescale);
        int64_t pts = std::llround(double(int64_t(s.decode_time) + s.composition_offset) * 1000.0 /
                                   t->timescale);
        uint8_t frame_type = s.is_sync() ? kVideoFrameKey : kVideoFrameInter;
        switch (t->sample_entry) {
          case box_type("hvc1"):
            media.push_back(packet(kFlvTagVideo, dts,
                                   build_video_tag_enhanced(kFourccHvc1, frame_type, kVideoPacketCodedFrames,
                                                            int32_t(pts - dts), s.data)));
            break;
          case box_type("av01"): {
            std::vector<uint8_t> data;
            if (inject_td) data = {0x12, 0x00};  // OBU_TEMPORAL_DELIMITER, has_size, size 0
            data.insert(data.end(), s.data.begin(), s.data.end());
            media.push_back(packet(kFlvTagVideo, dts,
                                   build_video_tag_enhanced(kFourccAv01, frame_type, kVideoPacketCodedFrames, 0,
                                                            bv(data))));
            break;
          }
          case box_type("vp09"):
            media.push_back(packet(kFlvTagVideo, dts,
                                   build_video_tag_enhanced(kFourccVp09, frame_type, kVideoPacketCodedFramesX, 0,
                                                            s.data)));
            break;
          case box_type("mp4a"):
            if (t->object_type == 0x6B || t->object_type == 0x69) {
              media.push_back(packet(kFlvTagAudio, dts, mp3_tag(s.data)));
              break;
            }
            media.push_back(packet(kFlvTagAudio, dts, build_audio_tag_aac(kAacPacketRaw, s.data)));
            break;
          case box_type("Opus"):
            media.push_back(packet(kFlvTagAudio, dts,
                                   build_audio_tag_enhanced(kFourccOpus, kAudioPacketCodedFrames, s.data)));
            break;
        }
      }
    }
  }
  std::stable_sort(media.begin(), media.end(),
                   [](const MediaPacket& a, const MediaPacket& b) { return a.dts < b.dts; });
  configs.insert(configs.end(), media.begin(), media.end());
  return configs;
}

inline std::vector<MediaPacket> only(const std::vector<MediaPacket>& in, core::TrackType type) {
  std::vector<MediaPacket> out;
  for (const auto& p : in) {
    if (p.track == type) out.push_back(p);
  }
  return out;
}

// ---- the packager's loop ---------------------------------------------------------

struct MuxOutput {
  core::Slice init;
  std::vector<std::vector<Fmp4Fragment>> segments;  // parts of each segment
  std::vector<MediaPacket> video_in, audio_in;      // media samples the muxer took
  Fmp4MuxerStats stats;
  std::vector<Fmp4TrackInfo> tracks;
};

// Feeds packets the way the HLS packager does: a new segment at every video
// keyframe (every segment_ms for audio-only), a part whenever the ready
// samples reach part_ms, and the held sample released at the end. The init
// segment is taken when the first part is (as the packager and recorder do),
// so an MP3 track configured by its first frame joins it.
inline MuxOutput run_muxer(const std::vector<MediaPacket>& pkts, double part_ms = 200,
                    double audio_segment_ms = 1000) {
  MuxOutput out;
  Fmp4Muxer mux;
  uint32_t seq = 1;
  out.segments.emplace_back();
  double seg_ms = 0;
  auto flush = [&] {
    if (out.init.empty() && mux.has_ready_samples()) {
      auto init = mux.init_segment();
      REQUIRE(init.is_ok());
      out.init = *init;
    }
    Fmp4Fragment f = mux.flush_fragment(seq);
    if (f.empty()) return;
    ++seq;
    seg_ms += f.duration_ms;
    out.segments.back().push_back(f);
  };
  auto new_segment = [&] {
    if (!out.segments.back().empty()) out.segments.emplace_back();
    seg_ms = 0;
  };
  for (const auto& p : pkts) {
    auto r = mux.add_packet(p);
    REQUIRE(r.is_ok());
    if (*r != Fmp4AddResult::kQueued) continue;
    (p.is_video() ? out.video_in : out.audio_in).push_back(p);
    bool has_video = !mux.tracks().empty() && mux.tracks()[0].type == core::TrackType::kVideo;
    if (p.is_video() && p.is_keyframe()) {
      flush();  // everything before the keyframe: the end of the segment
      new_segment();
    } else if (mux.ready_duration_ms() >= part_ms) {
      flush();
      if (!has_video && seg_ms >= audio_segment_ms) new_segment();
    }
  }
  mux.end_held_samples();
  flush();
  if (out.segments.back().empty()) out.segments.pop_back();
  out.stats = mux.stats();
  out.tracks = mux.tracks();
  return out;
}

inline std::vector<ByteView> segment_bytes(const MuxOutput& out, size_t seg) {
  std::vector<ByteView> parts;
  for (const auto& f : out.segments[seg]) parts.push_back(f.data.view());
  return parts;
}

inline std::vector<uint8_t> join(const std::vector<ByteView>& parts) {
  std::vector<uint8_t> v;
  for (ByteView p : parts) v.insert(v.end(), p.begin(), p.end());
  return v;
}

// Structural checks with the mp4 reader: sequence numbers, tfdt continuity,
// sample bytes and timing against the input packets.
inline void check_structure(const MuxOutput& out) {
  auto init = parse_mp4_init(out.init.view());
  REQUIRE(init.is_ok());
  std::map<uint32_t, uint64_t> next_decode;
  std::map<uint32_t, size_t> sample_index;
  uint32_t expect_seq = 1;
  for (size_t si = 0; si < out.segments.size(); ++si) {
    auto seg = join(segment_bytes(out, si));
    auto frags = parse_mp4_fragments(bv(seg), &*init);
    REQUIRE(frags.is_ok());
    REQUIRE(frags->size() == out.segments[si].size());
    for (size_t fi = 0; fi < frags->size(); ++fi) {
      const Mp4Fragment& f = (*frags)[fi];
      const Fmp4Fragment& mf = out.segments[si][fi];
      INFO("segment " << si << " part " << fi);
      CHECK(f.sequence_number == expect_seq++);
      CHECK(f.sequence_number == mf.sequence_number);
      CHECK(f.moof_size + f.mdat_size == mf.data.size());
      uint32_t video_samples = 0, audio_samples = 0;
      for (const auto& run : f.tracks) {
        const Mp4InitTrack* t = init->find(run.track_id);
        REQUIRE(t != nullptr);
        const bool video = t->handler == box_type("vide");
        CHECK(run.tfhd_flags == 0x020000);  // default-base-is-moof only
        CHECK(run.has_tfdt);
        CHECK(run.tfdt_version == 1);
        REQUIRE(run.trun_versions.size() == 1);
        CHECK(run.trun_versions[0] == 1);
        // tfdt continues exactly where the previous fragment of the track ended.
        if (next_decode.count(run.track_id)) CHECK(run.base_decode_time == next_decode[run.track_id]);
        uint64_t d = run.base_decode_time;
        for (const auto& s : run.samples) d += s.duration;
        next_decode[run.track_id] = d;
        const auto& in = video ? out.video_in : out.audio_in;
        for (const auto& s : run.samples) {
          size_t i = sample_index[run.track_id]++;
          REQUIRE(i < in.size());
          const MediaPacket& p = in[i];
          CHECK(s.duration > 0);
          if (video) {
            CHECK(s.decode_time == uint64_t(p.dts) * 90);
            CHECK(s.composition_offset == (p.pts - p.dts) * 90);
            CHECK(s.is_sync() == p.is_keyframe());
            CHECK(s.flags == (p.is_keyframe() ? 0x02000000u : 0x01010000u));
            if (p.codec != Codec::kAV1) CHECK(vec(s.data) == vec(p.payload()));
          } else {
            // Within a ms of the input clock (the decode time is on the frame grid).
            double dts_ticks = double(p.dts) * t->timescale / 1000.0;
            CHECK(std::abs(double(s.decode_time) - dts_ticks) <= t->timescale / 1000.0 + 1);
            CHECK(s.flags == 0x02000000u);
            CHECK(vec(s.data) == vec(p.payload()));
          }
        }
        (video ? video_samples : audio_samples) += uint32_t(run.samples.size());
      }
      CHECK(video_samples == mf.video_samples);
      CHECK(audio_samples == mf.audio_samples);
      bool starts_with_sync = false;
      for (const auto& run : f.tracks) {
        if (init->find(run.track_id)->handler == box_type("vide")) {
          starts_with_sync = !run.samples.empty() && run.samples[0].is_sync();
        }
      }
      bool has_video_track = init->tracks[0].handler == box_type("vide");
      CHECK(mf.independent == (has_video_track ? starts_with_sync : true));
      // Every segment after the first starts with a video keyframe.
      if (has_video_track && fi == 0) CHECK(mf.independent);
    }
  }
  for (const auto& [id, n] : sample_index) {
    const bool video = init->find(id)->handler == box_type("vide");
    CHECK(n == (video ? out.video_in.size() : out.audio_in.size()));
  }
}

// The init segment and every segment, joined, as DIR/all.mp4; returns the path.
inline std::string write_whole(const MuxOutput& out, TempDir& dir) {
  std::vector<ByteView> all = {out.init.view()};
  for (size_t s = 0; s < out.segments.size(); ++s) {
    for (ByteView p : segment_bytes(out, s)) all.push_back(p);
  }
  write_file(dir.file("all.mp4"), all);
  return dir.file("all.mp4");
}

// ffmpeg checks: the whole stream and every segment alone (with the init
// segment) decode without a warning, with exact frame counts.
inline void check_decodes(const MuxOutput& out, const std::string& video_codec, int width, int height,
                   const std::string& audio_codec, int sample_rate, int channels) {
  TempDir dir;
  const std::string whole = write_whole(out, dir);
  CHECK(ffmpeg_warnings(whole) == "");
  auto streams = ffprobe_streams(whole);
  const Fields* v = stream_of(streams, "video");
  const Fields* a = stream_of(streams, "audio");
  if (!video_codec.empty()) {
    REQUIRE(v != nullptr);
    CHECK(v->at("codec_name") == video_codec);
    CHECK(v->at("width") == std::to_string(width));
    CHECK(v->at("height") == std::to_string(height));
    CHECK(v->at("nb_read_frames") == std::to_string(out.video_in.size()));
  } else {
    CHECK(v == nullptr);
  }
  if (!audio_codec.empty()) {
    REQUIRE(a != nullptr);
    CHECK(a->at("codec_name") == audio_codec);
    CHECK(a->at("sample_rate") == std::to_string(sample_rate));
    CHECK(a->at("channels") == std::to_string(channels));
    CHECK(a->at("nb_read_frames") == std::to_string(out.audio_in.size()));
  } else {
    CHECK(a == nullptr);
  }

  for (size_t s = 0; s < out.segments.size(); ++s) {
    INFO("segment " << s);
    std::vector<ByteView> seg = {out.init.view()};
    for (ByteView p : segment_bytes(out, s)) seg.push_back(p);
    std::string path = dir.file("seg" + std::to_string(s) + ".mp4");
    write_file(path, seg);
    CHECK(ffmpeg_warnings(path) == "");
    uint32_t vs = 0, as = 0;
    for (const auto& f : out.segments[s]) {
      vs += f.video_samples;
      as += f.audio_samples;
    }
    auto st = ffprobe_streams(path);
    if (!video_codec.empty()) {
      REQUIRE(stream_of(st, "video"));
      CHECK(stream_of(st, "video")->at("nb_read_frames") == std::to_string(vs));
    }
    if (!audio_codec.empty()) {
      REQUIRE(stream_of(st, "audio"));
      CHECK(stream_of(st, "audio")->at("nb_read_frames") == std::to_string(as));
    }
  }
}


}  // namespace weir::fmp4_test
