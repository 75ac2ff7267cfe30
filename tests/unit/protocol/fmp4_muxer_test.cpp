// Fragmented MP4 muxer (and the mp4 reader used to check it) on real encoder
// output, verified with ffmpeg/ffprobe. Fixtures (tests/unit/protocol/data):
//   h264_aac.flv        see flv_tag_test.cpp (H.264 High 320x240 25 fps, 2 B-frames,
//                       GOP 25, AAC LC 44.1 kHz stereo; 50 video + 88 audio frames)
//   hevc_aac_frag.mp4   ffmpeg 5.1: -f lavfi testsrc2=size=320x240:rate=25 -f lavfi
//                       sine=f=440:sample_rate=48000 -t 2 -c:v libx265 -x265-params
//                       keyint=25:min-keyint=25:bframes=3:open-gop=0 -crf 40 -tag:v hvc1
//                       -c:a aac -ac 1 -b:a 24k -movflags frag_keyframe+empty_moov+default_base_moof
//                       (50 HEVC frames with B-frames, 95 AAC frames 48 kHz mono)
//   av1_opus_frag.mp4   same sources, 160x120, -t 1 -c:v libaom-av1 -cpu-used 8 -g 10 -crf 50
//                       -c:a libopus -b:a 24k -ac 2 into a plain MP4, then -c copy with the same
//                       movflags (straight to fMP4, ffmpeg 5.1 writes an empty av1C)
//                       (25 AV1 frames, 51 Opus packets)
// The fMP4 fixtures are read back with parse_mp4_fragments and turned into the
// MediaPackets an E-RTMP publisher would produce (ms timestamps, FLV bodies).
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
#include "protocol/mp4_reader.h"
#include "../test_data.h"

using namespace weir;
using namespace weir::protocol;
using core::ByteView;
using core::Codec;
using core::MediaPacket;

namespace {

using weir::test::load;

ByteView bv(const std::vector<uint8_t>& v) { return ByteView(v.data(), v.size()); }
std::vector<uint8_t> vec(ByteView v) { return std::vector<uint8_t>(v.begin(), v.end()); }

struct CmdResult {
  int status = -1;
  std::string output;  // stdout + stderr
};

CmdResult run(const std::string& cmd) {
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

void write_file(const std::string& path, const std::vector<ByteView>& parts) {
  std::ofstream f(path, std::ios::binary);
  REQUIRE(f.good());
  for (ByteView p : parts) f.write(reinterpret_cast<const char*>(p.data()), long(p.size()));
  REQUIRE(f.good());
}

// Everything ffmpeg says at -v warning while decoding the whole file.
std::string ffmpeg_warnings(const std::string& path) {
  CmdResult r = run("ffmpeg -nostdin -hide_banner -v warning -i '" + path + "' -f null -");
  if (r.status != 0) return "exit " + std::to_string(r.status) + ": " + r.output;
  return r.output;
}

using Fields = std::map<std::string, std::string>;

// ffprobe per-stream fields, decoded frame counts included.
std::vector<Fields> ffprobe_streams(const std::string& path) {
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

const Fields* stream_of(const std::vector<Fields>& s, const std::string& type) {
  for (const auto& f : s) {
    if (f.count("codec_type") && f.at("codec_type") == type) return &f;
  }
  return nullptr;
}

// ---- packet sources -----------------------------------------------------------

std::vector<MediaPacket> flv_packets(const std::string& name) {
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

MediaPacket packet(uint8_t tag_type, int64_t ts, core::Slice body) {
  auto p = make_media_packet(tag_type, ts, std::move(body));
  REQUIRE(p.is_ok());
  return *p;
}

// OpusHead (RFC 7845 5.1) from a dOps box payload (big-endian fields).
std::vector<uint8_t> opus_head_from_dops(ByteView d) {
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

// The packets an E-RTMP publisher of this fMP4 file would send: configs at
// dts 0, then media in dts order with ms timestamps. With inject_td, every AV1
// sample gets a temporal delimiter OBU in front, as encoders emit them.
std::vector<MediaPacket> mp4_packets(const std::string& name, bool inject_td = false) {
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
      case box_type("mp4a"):
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
          case box_type("mp4a"):
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

std::vector<MediaPacket> only(const std::vector<MediaPacket>& in, core::TrackType type) {
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
// samples reach part_ms, and the held sample released at the end.
MuxOutput run_muxer(const std::vector<MediaPacket>& pkts, double part_ms = 200,
                    double audio_segment_ms = 1000) {
  MuxOutput out;
  Fmp4Muxer mux;
  uint32_t seq = 1;
  out.segments.emplace_back();
  double seg_ms = 0;
  auto flush = [&] {
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
    if (out.init.empty()) {
      auto init = mux.init_segment();
      REQUIRE(init.is_ok());
      out.init = *init;
    }
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

std::vector<ByteView> segment_bytes(const MuxOutput& out, size_t seg) {
  std::vector<ByteView> parts;
  for (const auto& f : out.segments[seg]) parts.push_back(f.data.view());
  return parts;
}

std::vector<uint8_t> join(const std::vector<ByteView>& parts) {
  std::vector<uint8_t> v;
  for (ByteView p : parts) v.insert(v.end(), p.begin(), p.end());
  return v;
}

// Structural checks with the mp4 reader: sequence numbers, tfdt continuity,
// sample bytes and timing against the input packets.
void check_structure(const MuxOutput& out) {
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

// ffmpeg checks: the whole stream and every segment alone (with the init
// segment) decode without a warning, with exact frame counts.
void check_decodes(const MuxOutput& out, const std::string& video_codec, int width, int height,
                   const std::string& audio_codec, int sample_rate, int channels) {
  TempDir dir;
  std::vector<ByteView> all = {out.init.view()};
  for (size_t s = 0; s < out.segments.size(); ++s) {
    for (ByteView p : segment_bytes(out, s)) all.push_back(p);
  }
  write_file(dir.file("all.mp4"), all);
  CHECK(ffmpeg_warnings(dir.file("all.mp4")) == "");
  auto streams = ffprobe_streams(dir.file("all.mp4"));
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

}  // namespace

// ---- box writer -----------------------------------------------------------------

TEST_CASE("mp4 box writer back-patches nested box sizes", "[fmp4]") {
  core::ByteWriter w;
  size_t outer = begin_box(w, box_type("moov"));
  size_t inner = begin_full_box(w, box_type("mfhd"), 1, 0x020001);
  w.u32be(7);
  end_box(w, inner);
  end_box(w, begin_box(w, box_type("free")));
  end_box(w, outer);
  std::vector<uint8_t> expect = {0, 0, 0, 32,  'm', 'o', 'o', 'v',  //
                                 0, 0, 0, 16,  'm', 'f', 'h', 'd', 1, 2, 0, 1, 0, 0, 0, 7,  //
                                 0, 0, 0, 8,   'f', 'r', 'e', 'e'};
  CHECK(vec(w.view()) == expect);
  auto boxes = read_mp4_boxes(w.view());
  REQUIRE(boxes.is_ok());
  REQUIRE(boxes->size() == 1);
  auto kids = read_mp4_boxes((*boxes)[0].payload, 8);
  REQUIRE(kids.is_ok());
  REQUIRE(kids->size() == 2);
  CHECK((*kids)[0].type == box_type("mfhd"));
  CHECK((*kids)[0].offset == 8);
  CHECK((*kids)[1].offset == 24);
}

// ---- H.264 + AAC ------------------------------------------------------------------

TEST_CASE("fmp4 init segment for H.264 + AAC describes both tracks", "[fmp4]") {
  auto pkts = flv_packets("h264_aac.flv");
  Fmp4Muxer mux;
  std::vector<uint8_t> avcc, asc;
  for (const auto& p : pkts) {
    if (!p.is_config()) continue;
    auto r = mux.add_packet(p);
    REQUIRE(r.is_ok());
    CHECK(*r == Fmp4AddResult::kConfigStored);
    (p.is_video() ? avcc : asc) = vec(p.payload());
  }
  REQUIRE(avcc.size() > 4);
  REQUIRE(!asc.empty());
  auto seg = mux.init_segment();
  REQUIRE(seg.is_ok());
  auto init = parse_mp4_init(seg->view());
  REQUIRE(init.is_ok());
  CHECK(init->major_brand == box_type("iso6"));
  CHECK(init->compatible_brands == std::vector<uint32_t>{box_type("iso6"), box_type("mp41")});
  CHECK(init->movie_timescale == 1000);
  CHECK(init->next_track_id == 3);
  CHECK(init->has_mvex);
  REQUIRE(init->tracks.size() == 2);
  const auto& v = init->tracks[0];
  CHECK(v.track_id == 1);
  CHECK(v.handler == box_type("vide"));
  CHECK(v.timescale == 90000);
  CHECK(v.sample_entry == box_type("avc1"));
  CHECK(v.width == 320);
  CHECK(v.height == 240);
  CHECK(v.tkhd_width == 320u << 16);
  CHECK(v.tkhd_height == 240u << 16);
  CHECK(v.config_type == box_type("avcC"));
  CHECK(vec(v.config) == avcc);
  CHECK(v.has_trex);
  CHECK(v.default_sample_description_index == 1);
  const auto& a = init->tracks[1];
  CHECK(a.track_id == 2);
  CHECK(a.handler == box_type("soun"));
  CHECK(a.timescale == 44100);
  CHECK(a.sample_entry == box_type("mp4a"));
  CHECK(a.channels == 2);
  CHECK(a.sample_rate == 44100);
  CHECK(a.config_type == box_type("esds"));
  CHECK(a.es_id == 2);
  CHECK(vec(a.config) == asc);
  CHECK(a.has_trex);

  auto tracks = mux.tracks();
  REQUIRE(tracks.size() == 2);
  CHECK(tracks[0].codecs == fmt::format("avc1.{:02x}{:02x}{:02x}", avcc[1], avcc[2], avcc[3]));
  CHECK(tracks[0].codecs.rfind("avc1.64", 0) == 0);  // High profile
  CHECK(tracks[1].codecs == "mp4a.40.2");
  CHECK(mux.codecs() == tracks[0].codecs + ",mp4a.40.2");

  // The tree walker sees the same boxes.
  auto tree = read_mp4_box_tree(seg->view());
  REQUIRE(tree.is_ok());
  REQUIRE(tree->size() == 2);
  CHECK((*tree)[1].box.type == box_type("moov"));
  CHECK((*tree)[1].children.size() == 4);  // mvhd, trak, trak, mvex

  // ffprobe reads the init segment alone.
  TempDir dir;
  write_file(dir.file("init.mp4"), {seg->view()});
  auto st = ffprobe_streams(dir.file("init.mp4"));
  REQUIRE(stream_of(st, "video"));
  CHECK(stream_of(st, "video")->at("codec_tag_string") == "avc1");
  CHECK(stream_of(st, "video")->at("width") == "320");
  REQUIRE(stream_of(st, "audio"));
  CHECK(stream_of(st, "audio")->at("sample_rate") == "44100");
}

TEST_CASE("fmp4 H.264 + AAC from a real FLV: parts, segments and ffmpeg decode", "[fmp4]") {
  auto out = run_muxer(flv_packets("h264_aac.flv"));
  CHECK(out.video_in.size() == 50);
  CHECK(out.audio_in.size() == 88);
  REQUIRE(out.segments.size() == 2);  // keyframes at 0 and 1000 ms
  CHECK(out.segments[0].size() >= 4);
  CHECK(out.segments[0][0].independent);
  CHECK(out.segments[1][0].independent);
  CHECK(out.segments[1][0].first_dts_ms <= 1000);
  CHECK(!out.segments[0][1].independent);
  // Segment 0 holds exactly the first GOP: 25 frames of 40 ms.
  uint32_t v0 = 0;
  double d0 = 0;
  for (const auto& f : out.segments[0]) {
    v0 += f.video_samples;
    d0 += f.duration_ms;
  }
  CHECK(v0 == 25);
  CHECK(d0 == Approx(1000.0));
  for (const auto& seg : out.segments) {
    for (const auto& f : seg) {
      CHECK(f.duration_ms >= 200.0);  // part target
      CHECK(f.duration_ms <= 240.0);
    }
  }
  CHECK(out.stats.dts_clamped == 0);
  CHECK(out.stats.audio_resyncs == 0);
  check_structure(out);
  check_decodes(out, "h264", 320, 240, "aac", 44100, 2);
}

// ---- HEVC + AAC 48 kHz mono ----------------------------------------------------------

TEST_CASE("fmp4 HEVC + AAC: hvc1 init, B-frames, segments decode alone", "[fmp4]") {
  auto pkts = mp4_packets("hevc_aac_frag.mp4");
  auto out = run_muxer(pkts, 300);
  CHECK(out.video_in.size() == 50);
  CHECK(out.audio_in.size() == 95);
  REQUIRE(out.segments.size() == 2);
  REQUIRE(out.tracks.size() == 2);
  CHECK(out.tracks[0].codec == Codec::kHEVC);
  CHECK(out.tracks[0].width == 320);
  CHECK(out.tracks[0].height == 240);
  // Main, compatible with profiles 1+2 (reversed bits: 6), level 2 (60),
  // progressive_source + frame_only constraint flags (0x90).
  CHECK(out.tracks[0].codecs == "hvc1.1.6.L60.90");
  CHECK(out.tracks[1].timescale == 48000);
  CHECK(out.tracks[1].channels == 1);
  bool negative_or_positive_cto = false;
  for (const auto& p : out.video_in) negative_or_positive_cto |= p.pts != p.dts;
  CHECK(negative_or_positive_cto);  // B-frames: composition offsets are exercised
  auto init = parse_mp4_init(out.init.view());
  REQUIRE(init.is_ok());
  CHECK(init->tracks[0].sample_entry == box_type("hvc1"));
  CHECK(init->tracks[0].config_type == box_type("hvcC"));
  check_structure(out);
  check_decodes(out, "hevc", 320, 240, "aac", 48000, 1);
}

// ---- AV1 + Opus -----------------------------------------------------------------------

TEST_CASE("fmp4 AV1 + Opus: av01/av1C, dOps, temporal delimiters stripped", "[fmp4]") {
  auto pkts = mp4_packets("av1_opus_frag.mp4", /*inject_td=*/true);
  auto out = run_muxer(pkts, 200);
  CHECK(out.video_in.size() == 25);
  CHECK(out.audio_in.size() == 51);
  REQUIRE(out.segments.size() == 3);  // keyframes every 10 frames
  REQUIRE(out.tracks.size() == 2);
  CHECK(out.tracks[0].codec == Codec::kAV1);
  CHECK(out.tracks[0].width == 160);  // from the sequence header OBU in av1C
  CHECK(out.tracks[0].height == 120);
  CHECK(out.tracks[0].codecs == "av01.0.00M.08");  // Main profile, level 2.0, Main tier, 8-bit
  CHECK(out.tracks[1].codec == Codec::kOpus);
  CHECK(out.tracks[1].codecs == "Opus");
  CHECK(out.tracks[1].timescale == 48000);
  CHECK(out.tracks[1].channels == 2);

  auto init = parse_mp4_init(out.init.view());
  REQUIRE(init.is_ok());
  CHECK(init->tracks[0].sample_entry == box_type("av01"));
  CHECK(init->tracks[0].config_type == box_type("av1C"));
  CHECK(init->tracks[1].sample_entry == box_type("Opus"));
  CHECK(init->tracks[1].config_type == box_type("dOps"));
  auto src_file = load("av1_opus_frag.mp4");
  auto src_init = parse_mp4_init(bv(src_file));
  REQUIRE(src_init.is_ok());
  CHECK(vec(init->tracks[1].config) == vec(src_init->tracks[1].config));  // dOps round trip

  // Every AV1 sample is the input minus the 2-byte temporal delimiter.
  std::vector<uint8_t> all;
  for (const auto& seg : out.segments) {
    for (const auto& f : seg) all.insert(all.end(), f.data.view().begin(), f.data.view().end());
  }
  auto frags = parse_mp4_fragments(bv(all), &*init);
  REQUIRE(frags.is_ok());
  size_t vi = 0;
  for (const auto& f : *frags) {
    for (const auto& run : f.tracks) {
      if (run.track_id != 1) continue;
      for (const auto& s : run.samples) {
        REQUIRE(vi < out.video_in.size());
        ByteView in = out.video_in[vi++].payload();
        REQUIRE(in.size() > 2);
        CHECK(vec(s.data) == vec(in.subspan(2)));
      }
    }
  }
  CHECK(vi == 25);
  check_structure(out);
  check_decodes(out, "av1", 160, 120, "opus", 48000, 2);
}

// ---- single-track output ----------------------------------------------------------------

TEST_CASE("fmp4 audio-only and video-only streams", "[fmp4]") {
  auto pkts = flv_packets("h264_aac.flv");
  SECTION("audio only") {
    auto out = run_muxer(only(pkts, core::TrackType::kAudio), 200, 1000);
    REQUIRE(out.tracks.size() == 1);
    CHECK(out.tracks[0].track_id == 1);
    CHECK(out.audio_in.size() == 88);
    CHECK(out.segments.size() == 2);
    for (const auto& seg : out.segments) {
      for (const auto& f : seg) CHECK(f.independent);
    }
    auto init = parse_mp4_init(out.init.view());
    REQUIRE(init.is_ok());
    CHECK(init->compatible_brands ==
          std::vector<uint32_t>{box_type("iso6"), box_type("cmfc"), box_type("mp41")});
    CHECK(init->tracks[0].es_id == 1);
    check_structure(out);
    check_decodes(out, "", 0, 0, "aac", 44100, 2);
  }
  SECTION("video only") {
    auto out = run_muxer(only(pkts, core::TrackType::kVideo), 200);
    REQUIRE(out.tracks.size() == 1);
    CHECK(out.tracks[0].track_id == 1);
    CHECK(out.video_in.size() == 50);
    CHECK(out.segments.size() == 2);
    check_structure(out);
    check_decodes(out, "h264", 320, 240, "", 0, 0);
  }
}

// ---- no drift over 60 s ---------------------------------------------------------------------

namespace {

// 60 s of 25 fps video (the FLV's 50 frames, looped; 2 closed GOPs) and AAC
// frames of 1024 samples with ms-rounded timestamps, interleaved by dts.
std::vector<MediaPacket> synthetic_60s(const std::vector<MediaPacket>& video_src,
                                       const std::vector<MediaPacket>& audio_src,
                                       uint32_t sample_rate, size_t& audio_frames) {
  std::vector<MediaPacket> out, vconf, aconf, v, a;
  // Media samples only (the FLV ends with an AVC end-of-sequence tag).
  for (const auto& p : video_src) {
    if (p.is_config()) vconf.push_back(p);
    else if (!p.payload().empty()) v.push_back(p);
  }
  for (const auto& p : audio_src) (p.is_config() ? aconf : a).push_back(p);
  REQUIRE(vconf.size() == 1);
  REQUIRE(aconf.size() == 1);
  out.push_back(vconf[0]);
  out.push_back(aconf[0]);
  std::vector<MediaPacket> media;
  for (int64_t n = 0; n < 1500; ++n) {
    MediaPacket p = v[size_t(n) % v.size()];
    int64_t cts = p.pts - p.dts;
    p.dts = n * 40;
    p.pts = p.dts + cts;
    media.push_back(p);
  }
  audio_frames = 0;
  for (int64_t m = 0;; ++m) {
    int64_t dts = std::llround(double(m) * 1024.0 * 1000.0 / sample_rate);
    if (dts >= 60000) break;
    MediaPacket p = a[size_t(m) % a.size()];
    p.dts = p.pts = dts;
    media.push_back(p);
    ++audio_frames;
  }
  std::stable_sort(media.begin(), media.end(),
                   [](const MediaPacket& x, const MediaPacket& y) { return x.dts < y.dts; });
  out.insert(out.end(), media.begin(), media.end());
  return out;
}

}  // namespace

TEST_CASE("fmp4 timeline does not drift over 60 s of ms-rounded timestamps", "[fmp4]") {
  auto flv = flv_packets("h264_aac.flv");
  auto video = only(flv, core::TrackType::kVideo);
  for (uint32_t rate : {44100u, 48000u}) {
    INFO("audio " << rate << " Hz");
    auto audio = rate == 44100 ? only(flv, core::TrackType::kAudio)
                               : only(mp4_packets("hevc_aac_frag.mp4"), core::TrackType::kAudio);
    size_t audio_frames = 0;
    auto pkts = synthetic_60s(video, audio, rate, audio_frames);
    auto out = run_muxer(pkts, 333);
    CHECK(out.video_in.size() == 1500);
    CHECK(out.audio_in.size() == audio_frames);
    CHECK(out.segments.size() == 60);
    CHECK(out.stats.audio_resyncs == 0);
    CHECK(out.stats.dts_clamped == 0);

    // tfdt of every part = the sum of all earlier durations of that track, and
    // audio decode times sit exactly on the 1024-sample grid.
    auto init = parse_mp4_init(out.init.view());
    REQUIRE(init.is_ok());
    uint64_t video_sum = 0, audio_sum = 0;
    size_t audio_seen = 0;
    double part_ms_sum = 0;
    for (const auto& seg : out.segments) {
      for (const auto& f : seg) {
        part_ms_sum += f.duration_ms;
        auto frags = parse_mp4_fragments(f.data.view(), &*init);
        REQUIRE(frags.is_ok());
        REQUIRE(frags->size() == 1);
        for (const auto& run : (*frags)[0].tracks) {
          uint64_t& sum = run.track_id == 1 ? video_sum : audio_sum;
          CHECK(run.base_decode_time == sum);
          for (const auto& s : run.samples) {
            if (run.track_id == 2) {
              CHECK(s.decode_time == 1024 * audio_seen);
              CHECK(s.duration == 1024);
              ++audio_seen;
            } else {
              CHECK(s.duration == 3600);
            }
            sum += s.duration;
          }
        }
      }
    }
    CHECK(video_sum == 1500u * 3600u);
    CHECK(audio_sum == 1024u * audio_frames);
    CHECK(part_ms_sum == Approx(60000.0));
    // The last audio frame still starts within a ms of its input dts.
    double last_dts_ticks = double(out.audio_in.back().dts) * rate / 1000.0;
    CHECK(std::abs(double(1024 * (audio_frames - 1)) - last_dts_ticks) <= rate / 1000.0);

    TempDir dir;
    std::vector<ByteView> all = {out.init.view()};
    for (size_t s = 0; s < out.segments.size(); ++s) {
      for (ByteView p : segment_bytes(out, s)) all.push_back(p);
    }
    write_file(dir.file("all.mp4"), all);
    CHECK(ffmpeg_warnings(dir.file("all.mp4")) == "");
    auto st = ffprobe_streams(dir.file("all.mp4"));
    REQUIRE(stream_of(st, "video"));
    REQUIRE(stream_of(st, "audio"));
    CHECK(stream_of(st, "video")->at("nb_read_frames") == "1500");
    CHECK(stream_of(st, "audio")->at("nb_read_frames") == std::to_string(audio_frames));
    CHECK(stream_of(st, "audio")->at("sample_rate") == std::to_string(rate));
  }
}

// ---- held-back sample, audio grid, clamping ------------------------------------------------

TEST_CASE("fmp4 holds the last video sample back until its duration is known", "[fmp4]") {
  auto pkts = flv_packets("h264_aac.flv");
  auto video = only(pkts, core::TrackType::kVideo);
  Fmp4Muxer mux;
  REQUIRE(video[0].is_config());
  REQUIRE(mux.add_packet(video[0]).is_ok());
  REQUIRE(mux.init_segment().is_ok());

  // A non-keyframe before the first keyframe is dropped.
  MediaPacket inter = video[2];
  REQUIRE(!inter.is_keyframe());
  CHECK(*mux.add_packet(inter) == Fmp4AddResult::kIgnored);

  REQUIRE(video[1].is_keyframe());
  CHECK(*mux.add_packet(video[1]) == Fmp4AddResult::kQueued);
  CHECK(!mux.has_ready_samples());
  CHECK(mux.flush_fragment(1).empty());
  CHECK(*mux.add_packet(video[2]) == Fmp4AddResult::kQueued);
  CHECK(mux.has_ready_samples());
  CHECK(mux.ready_duration_ms() == Approx(40.0));
  Fmp4Fragment f = mux.flush_fragment(1);
  CHECK(f.video_samples == 1);
  CHECK(f.independent);
  CHECK(f.duration_ms == Approx(40.0));
  CHECK(f.first_dts_ms == video[1].dts);

  // End of stream: the held sample ends at the given time...
  mux.end_held_samples(video[2].dts + 100);
  f = mux.flush_fragment(2);
  CHECK(f.video_samples == 1);
  CHECK(!f.independent);
  CHECK(f.duration_ms == Approx(100.0));
  // ...or takes the previous duration when none (or a useless one) is given.
  CHECK(*mux.add_packet(video[3]) == Fmp4AddResult::kQueued);
  mux.end_held_samples(video[3].dts);
  f = mux.flush_fragment(3);
  CHECK(f.duration_ms == Approx(100.0));
  CHECK(mux.stats().samples_ignored == 1);
}

TEST_CASE("fmp4 audio snaps to the frame grid and resyncs on gaps", "[fmp4]") {
  auto pkts = only(flv_packets("h264_aac.flv"), core::TrackType::kAudio);
  REQUIRE(pkts[0].is_config());
  Fmp4Muxer mux;
  REQUIRE(mux.add_packet(pkts[0]).is_ok());
  auto init_seg = mux.init_segment();
  REQUIRE(init_seg.is_ok());
  auto init = parse_mp4_init(init_seg->view());
  REQUIRE(init.is_ok());
  auto frame = [&](int64_t dts) {
    MediaPacket p = pkts[1];
    p.dts = p.pts = dts;
    auto r = mux.add_packet(p);
    REQUIRE(r.is_ok());
    CHECK(*r == Fmp4AddResult::kQueued);
  };
  auto samples = [&](const Fmp4Fragment& f) {
    auto fr = parse_mp4_fragments(f.data.view(), &*init);
    REQUIRE(fr.is_ok());
    REQUIRE(fr->size() == 1);
    REQUIRE((*fr)[0].tracks.size() == 1);
    return (*fr)[0].tracks[0].samples;
  };
  // 1000 ms = 44100 ticks; 23, 46, 70 ms are the rounded 1024-sample steps.
  frame(1000);
  frame(1023);
  frame(1046);
  frame(1070);
  CHECK(mux.ready_duration_ms() == Approx(4 * 1024 * 1000.0 / 44100));  // audio is not held back
  auto s = samples(mux.flush_fragment(1));
  REQUIRE(s.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(s[i].decode_time == 44100 + 1024 * i);
    CHECK(s[i].duration == 1024);
  }
  // A 100 ms gap: the frame before it is stretched while it is unflushed.
  frame(1093);
  frame(1216);
  s = samples(mux.flush_fragment(2));
  REQUIRE(s.size() == 2);
  CHECK(s[0].decode_time == 44100 + 4096);
  CHECK(s[1].decode_time == 53626);  // 1216 ms * 44.1, rounded
  CHECK(s[0].duration == 53626 - (44100 + 4096));
  // A gap across a flush: the next fragment's tfdt jumps to the input dts.
  frame(1500);
  s = samples(mux.flush_fragment(3));
  CHECK(s[0].decode_time == 66150);
  // Timestamps going backwards within half a frame stay on the grid; beyond
  // that an unflushed frame is shortened to meet the input clock.
  frame(1520);  // grid: 66150 + 1024 = 67174 (1523.2 ms)
  frame(1530);  // 67473: overlap of 725 ticks -> resync
  s = samples(mux.flush_fragment(4));
  REQUIRE(s.size() == 2);
  CHECK(s[0].decode_time == 67174);
  CHECK(s[0].duration == 67473 - 67174);
  CHECK(s[1].decode_time == 67473);
  CHECK(mux.stats().audio_resyncs == 3);
}

TEST_CASE("fmp4 moves non-increasing video dts forward", "[fmp4]") {
  auto video = only(flv_packets("h264_aac.flv"), core::TrackType::kVideo);
  Fmp4Muxer mux;
  REQUIRE(mux.add_packet(video[0]).is_ok());
  auto init = mux.init_segment();
  REQUIRE(init.is_ok());
  MediaPacket a = video[1], b = video[2], c = video[3];
  b.dts = a.dts;  // same dts twice
  b.pts = a.pts + 40;
  REQUIRE(mux.add_packet(a).is_ok());
  REQUIRE(mux.add_packet(b).is_ok());
  REQUIRE(mux.add_packet(c).is_ok());
  CHECK(mux.stats().dts_clamped == 1);
  auto f = mux.flush_fragment(1);
  auto pi = parse_mp4_init(init->view());
  auto fr = parse_mp4_fragments(f.data.view(), &*pi);
  REQUIRE(fr.is_ok());
  const auto& s = (*fr)[0].tracks[0].samples;
  REQUIRE(s.size() == 2);
  CHECK(s[0].duration == 1);
  CHECK(s[1].decode_time == uint64_t(a.dts) * 90 + 1);
  CHECK(s[1].duration == uint64_t(c.dts - a.dts) * 90 - 1);
}

// ---- config changes ----------------------------------------------------------------------------

TEST_CASE("fmp4 codec config change mid-stream needs a new init segment", "[fmp4]") {
  // H.264 for the first GOP, then the publisher switches to HEVC (new
  // sequence header at 1000 ms, timestamps continue).
  auto h264 = flv_packets("h264_aac.flv");
  auto hevc = only(mp4_packets("hevc_aac_frag.mp4"), core::TrackType::kVideo);
  std::vector<MediaPacket> pkts;
  for (const auto& p : h264) {
    if (p.is_video() && !p.is_config() && p.dts >= 1000) continue;
    if (p.is_audio() && p.dts >= 2000) continue;
    pkts.push_back(p);
  }
  for (auto p : hevc) {
    p.dts += 1000;
    p.pts += 1000;
    if (p.dts >= 2000) continue;
    pkts.push_back(p);
  }
  std::stable_sort(pkts.begin(), pkts.end(), [](const MediaPacket& a, const MediaPacket& b) {
    if (a.is_config() != b.is_config() && a.dts == b.dts) return a.is_config();
    return a.dts < b.dts;
  });

  Fmp4Muxer mux;
  uint32_t seq = 1;
  std::vector<core::Slice> inits;
  std::vector<std::vector<Fmp4Fragment>> per_init(1);
  size_t changes = 0;
  for (const auto& p : pkts) {
    auto r = mux.add_packet(p);
    REQUIRE(r.is_ok());
    if (*r == Fmp4AddResult::kConfigChanged) {
      ++changes;
      CHECK(mux.config_change_pending());
      CHECK(mux.init_generation() == 1);
      // The last fragment of the old init: only samples from before the change.
      Fmp4Fragment last = mux.flush_fragment(seq++);
      CHECK(!mux.config_change_pending());
      REQUIRE(!last.empty());
      per_init.back().push_back(last);
      auto init = mux.init_segment();
      REQUIRE(init.is_ok());
      inits.push_back(*init);
      per_init.emplace_back();
      continue;
    }
    if (*r != Fmp4AddResult::kQueued) continue;
    if (inits.empty()) {
      auto init = mux.init_segment();
      REQUIRE(init.is_ok());
      inits.push_back(*init);
    }
    if (mux.ready_duration_ms() >= 250) per_init.back().push_back(mux.flush_fragment(seq++));
  }
  mux.end_held_samples();
  per_init.back().push_back(mux.flush_fragment(seq++));
  CHECK(changes == 1);
  REQUIRE(inits.size() == 2);
  CHECK(mux.tracks()[0].codec == Codec::kHEVC);

  auto init0 = parse_mp4_init(inits[0].view());
  auto init1 = parse_mp4_init(inits[1].view());
  REQUIRE(init0.is_ok());
  REQUIRE(init1.is_ok());
  CHECK(init0->tracks[0].sample_entry == box_type("avc1"));
  CHECK(init1->tracks[0].sample_entry == box_type("hvc1"));

  // The video timeline continues across the change.
  std::vector<uint8_t> old_bytes, new_bytes;
  for (const auto& f : per_init[0]) old_bytes.insert(old_bytes.end(), f.data.view().begin(), f.data.view().end());
  for (const auto& f : per_init[1]) new_bytes.insert(new_bytes.end(), f.data.view().begin(), f.data.view().end());
  auto old_frags = parse_mp4_fragments(bv(old_bytes), &*init0);
  auto new_frags = parse_mp4_fragments(bv(new_bytes), &*init1);
  REQUIRE(old_frags.is_ok());
  REQUIRE(new_frags.is_ok());
  uint64_t old_end = 0;
  size_t old_video = 0, new_video = 0;
  for (const auto& f : *old_frags) {
    for (const auto& r : f.tracks) {
      if (r.track_id != 1) continue;
      old_video += r.samples.size();
      for (const auto& s : r.samples) old_end = s.decode_time + s.duration;
    }
  }
  bool first = true;
  for (const auto& f : *new_frags) {
    for (const auto& r : f.tracks) {
      if (r.track_id != 1) continue;
      if (first && !r.samples.empty()) {
        CHECK(r.base_decode_time == old_end);
        CHECK(r.samples[0].is_sync());
        first = false;
      }
      new_video += r.samples.size();
    }
  }
  CHECK(old_video == 25);
  CHECK(new_video == 25);
  CHECK(old_end == 90000);

  TempDir dir;
  std::vector<ByteView> a = {inits[0].view()}, b = {inits[1].view()};
  for (const auto& f : per_init[0]) a.push_back(f.data.view());
  for (const auto& f : per_init[1]) b.push_back(f.data.view());
  write_file(dir.file("a.mp4"), a);
  write_file(dir.file("b.mp4"), b);
  CHECK(ffmpeg_warnings(dir.file("a.mp4")) == "");
  CHECK(ffmpeg_warnings(dir.file("b.mp4")) == "");
  auto sa = ffprobe_streams(dir.file("a.mp4"));
  auto sb = ffprobe_streams(dir.file("b.mp4"));
  REQUIRE(stream_of(sa, "video"));
  REQUIRE(stream_of(sb, "video"));
  CHECK(stream_of(sa, "video")->at("codec_name") == "h264");
  CHECK(stream_of(sa, "video")->at("nb_read_frames") == "25");
  CHECK(stream_of(sb, "video")->at("codec_name") == "hevc");
  CHECK(stream_of(sb, "video")->at("nb_read_frames") == "25");
}

TEST_CASE("fmp4 config handling: repeats, late tracks and errors", "[fmp4]") {
  auto pkts = flv_packets("h264_aac.flv");
  MediaPacket vconf = pkts[0].is_video() ? pkts[0] : pkts[1];
  MediaPacket aconf = pkts[0].is_audio() ? pkts[0] : pkts[1];
  REQUIRE(vconf.is_config());
  REQUIRE(aconf.is_config());

  SECTION("an identical config is not a change") {
    Fmp4Muxer mux;
    CHECK(*mux.add_packet(vconf) == Fmp4AddResult::kConfigStored);
    REQUIRE(mux.init_segment().is_ok());
    CHECK(*mux.add_packet(vconf) == Fmp4AddResult::kConfigStored);
    CHECK(mux.init_generation() == 0);
  }
  SECTION("a track that appears after the init segment is a change") {
    Fmp4Muxer mux;
    CHECK(*mux.add_packet(vconf) == Fmp4AddResult::kConfigStored);
    REQUIRE(mux.init_segment().is_ok());
    CHECK(mux.tracks().size() == 1);
    auto video = only(pkts, core::TrackType::kVideo);
    auto audio = only(pkts, core::TrackType::kAudio);
    REQUIRE(video[1].is_keyframe());
    REQUIRE(video[26].is_keyframe());
    for (int i = 1; i <= 3; ++i) CHECK(*mux.add_packet(video[size_t(i)]) == Fmp4AddResult::kQueued);
    MediaPacket late = aconf;
    late.dts = late.pts = video[3].dts + 40;
    CHECK(*mux.add_packet(late) == Fmp4AddResult::kConfigChanged);
    CHECK(mux.has_ready_samples());
    // The last fragment of the video-only init: all three frames, the held
    // one ending at the config's dts.
    Fmp4Fragment old_frag = mux.flush_fragment(1);
    CHECK(old_frag.video_samples == 3);
    CHECK(old_frag.audio_samples == 0);
    CHECK(old_frag.duration_ms == Approx(120.0));  // dts 0, 40, 80; the config at 120
    auto init = mux.init_segment();
    REQUIRE(init.is_ok());
    auto pi = parse_mp4_init(init->view());
    REQUIRE(pi.is_ok());
    CHECK(pi->tracks.size() == 2);
    CHECK(pi->tracks[1].track_id == 2);
    // Video waits for the next keyframe; audio goes on.
    CHECK(*mux.add_packet(video[4]) == Fmp4AddResult::kIgnored);
    CHECK(*mux.add_packet(audio[5]) == Fmp4AddResult::kQueued);
    CHECK(*mux.add_packet(video[26]) == Fmp4AddResult::kQueued);
    CHECK(*mux.add_packet(video[27]) == Fmp4AddResult::kQueued);
    Fmp4Fragment f = mux.flush_fragment(2);
    CHECK(f.independent);
    CHECK(f.video_samples == 1);
    CHECK(f.audio_samples == 1);
    auto fr = parse_mp4_fragments(f.data.view(), &*pi);
    REQUIRE(fr.is_ok());
    REQUIRE((*fr)[0].tracks.size() == 2);
    CHECK((*fr)[0].tracks[0].track_id == 1);
    CHECK((*fr)[0].tracks[0].base_decode_time == uint64_t(video[26].dts) * 90);
    CHECK((*fr)[0].tracks[1].track_id == 2);
  }
  SECTION("no track configured") {
    Fmp4Muxer mux;
    auto r = mux.init_segment();
    REQUIRE(!r.is_ok());
    CHECK(r.error() == "fmp4: no track configured");
    // Media without a config is ignored, not an error.
    CHECK(*mux.add_packet(pkts[3]) == Fmp4AddResult::kIgnored);
  }
  SECTION("broken and unsupported configs fail with a reason") {
    Fmp4Muxer mux;
    std::vector<uint8_t> bad = {0x01, 0x64, 0x00};
    auto r = mux.add_packet(packet(kFlvTagVideo, 0, build_video_tag_avc(true, kAvcPacketSequenceHeader, 0, bv(bad))));
    REQUIRE(!r.is_ok());
    CHECK(r.error().rfind("avcC", 0) == 0);
    std::vector<uint8_t> not_head = {'O', 'p', 'u', 's', 'T', 'a', 'g', 's', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    r = mux.add_packet(packet(kFlvTagAudio, 0,
                              build_audio_tag_enhanced(kFourccOpus, kAudioPacketSequenceStart, bv(not_head))));
    REQUIRE(!r.is_ok());
    CHECK(r.error() == "Opus config: 19 bytes, not an OpusHead");
    // The failed configs left the muxer untouched.
    CHECK(mux.tracks().empty());
    CHECK(*mux.add_packet(vconf) == Fmp4AddResult::kConfigStored);
  }
  SECTION("pending caps") {
    Fmp4MuxerOptions o;
    o.max_pending_samples = 3;
    Fmp4Muxer mux(o);
    REQUIRE(mux.add_packet(aconf).is_ok());
    std::vector<MediaPacket> audio = only(pkts, core::TrackType::kAudio);
    CHECK(*mux.add_packet(audio[1]) == Fmp4AddResult::kQueued);
    CHECK(*mux.add_packet(audio[2]) == Fmp4AddResult::kQueued);
    CHECK(*mux.add_packet(audio[3]) == Fmp4AddResult::kQueued);
    auto r = mux.add_packet(audio[4]);
    REQUIRE(!r.is_ok());
    CHECK(r.error() == "fmp4: 3 samples pending, max_pending_samples reached (no fragment cut)");
    CHECK(mux.flush_fragment(1).audio_samples == 3);
    CHECK(*mux.add_packet(audio[4]) == Fmp4AddResult::kQueued);
  }
}

// ---- mp4 reader on malformed input -----------------------------------------------------------------

TEST_CASE("mp4 reader rejects malformed boxes with a reason", "[fmp4][mp4_reader]") {
  auto err = [](std::vector<uint8_t> b) {
    auto r = read_mp4_boxes(bv(b));
    REQUIRE(!r.is_ok());
    return r.error();
  };
  CHECK(err({0, 0, 0, 9, 'f', 'r', 'e', 'e'}) == "free: size 9 exceeds the 8 bytes left");
  CHECK(err({0, 0, 0, 4, 'f', 'r', 'e', 'e'}) == "free: size 4 smaller than its 8-byte header");
  CHECK(err({0, 0, 0, 1, 'm', 'd', 'a', 't', 0, 0, 0, 0}) == "mdat: largesize truncated");
  CHECK(err({0, 0, 0, 8, 'f', 'r', 'e', 'e', 0, 0}) == "mp4: 2 bytes left, a box header needs 8");
  // size 0: to the end.
  std::vector<uint8_t> open_ended = {0, 0, 0, 0, 'm', 'd', 'a', 't', 1, 2, 3};
  auto r = read_mp4_boxes(bv(open_ended));
  REQUIRE(r.is_ok());
  CHECK((*r)[0].payload.size() == 3);

  // Nesting deeper than the cap.
  core::ByteWriter w;
  std::vector<size_t> starts;
  for (int i = 0; i < 40; ++i) starts.push_back(begin_box(w, box_type("moov")));
  for (size_t i = starts.size(); i-- > 0;) end_box(w, starts[i]);
  auto tree = read_mp4_box_tree(w.view());
  REQUIRE(!tree.is_ok());
  CHECK(tree.error() == "mp4: boxes nested deeper than 16");

  // Fragments whose trun lies about its sample count or data offset.
  auto out = run_muxer(only(flv_packets("h264_aac.flv"), core::TrackType::kAudio), 100);
  std::vector<uint8_t> frag = vec(out.segments[0][0].data.view());
  auto good = parse_mp4_fragments(bv(frag));
  REQUIRE(good.is_ok());
  // moof(8) mfhd(16) traf(8) tfhd(16) tfdt(20) trun header(12) -> sample_count at 80.
  REQUIRE(frag[72] == 't');
  std::vector<uint8_t> many = frag;
  many[80] = 0x10;  // 0x10000000+ samples
  auto bad = parse_mp4_fragments(bv(many));
  REQUIRE(!bad.is_ok());
  CHECK(bad.error() == "trun: 268435461 samples need 3221225532 bytes, 60 left");
  std::vector<uint8_t> off = frag;
  off[86] ^= 0x40;  // data_offset far past the mdat
  bad = parse_mp4_fragments(bv(off));
  REQUIRE(!bad.is_ok());
  CHECK(bad.error().find("outside the mdat") != std::string::npos);
}
