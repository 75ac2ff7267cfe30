// TsMuxer and the shared TS helpers (ts_packet.h). Inputs are real encoder
// output: h264_aac.flv (see flv_tag_test.cpp: 50 H.264 frames, 88 AAC frames)
// and the ffmpeg-made TS fixtures described in ts_demuxer_test.cpp, demuxed
// into MediaPackets. Output checks: byte-exact tables against FFmpeg's,
// PES/PCR/CC fields parsed back, a mux -> demux round trip, and ffmpeg/ffprobe
// reading the output with zero warnings and the exact frame counts.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "protocol/codec_config.h"
#include "protocol/flv_reader.h"
#include "protocol/flv_tag.h"
#include "protocol/ts_demuxer.h"
#include "protocol/ts_muxer.h"
#include "protocol/ts_packet.h"
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

std::vector<MediaPacket> flv_packets(const std::string& name) {
  auto file = load(name);
  std::vector<MediaPacket> out;
  FlvReader r(FlvReaderOptions{});
  auto st = r.feed(bv(file), [&](const FlvTag& t) {
    auto p = make_media_packet(t.type, t.timestamp_ms, t.body);
    REQUIRE(p.is_ok());
    // Media only: no script data, no end-of-sequence tag (it has no payload).
    if (!p->is_data() && !p->payload().empty()) out.push_back(p.value());
    return core::Status::ok();
  });
  REQUIRE(st.is_ok());
  return out;
}

std::vector<MediaPacket> demux_all(ByteView ts, TsDemuxStats* stats = nullptr) {
  TsDemuxer d;
  std::vector<MediaPacket> out;
  auto cb = [&](const MediaPacket& p) {
    out.push_back(p);
    return core::Status::ok();
  };
  REQUIRE(d.feed(ts, cb).is_ok());
  REQUIRE(d.flush(cb).is_ok());
  if (stats) *stats = d.stats();
  return out;
}

std::vector<uint8_t> mux_all(const std::vector<MediaPacket>& pkts, const TsMuxerOptions& opt = {},
                             size_t tables_every = 0) {
  TsMuxer m(opt);
  core::ByteWriter out;
  size_t n = 0;
  for (const MediaPacket& p : pkts) {
    if (tables_every && n && n % tables_every == 0) m.write_tables(out);
    auto st = m.write_packet(out, p);
    INFO(st.message());
    REQUIRE(st.is_ok());
    ++n;
  }
  m.flush(out);
  return vec(out.view());
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/weir-ts-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::system(("rm -rf " + path).c_str()); }
  std::string write(const std::string& name, const std::vector<uint8_t>& bytes) const {
    std::string p = path + "/" + name;
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    return p;
  }
};

std::string run(const std::string& cmd) {
  std::string out;
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(f != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

// ffmpeg decodes the file with -v warning: returns whatever it printed.
std::string ffmpeg_warnings(const std::string& file) {
  return run("ffmpeg -nostdin -hide_banner -v warning -i " + file + " -f null -");
}

// "codec,frames" per stream as ffprobe counts decoded frames.
std::string ffprobe_frames(const std::string& file) {
  std::string all =
      run("ffprobe -v error -count_frames -show_entries stream=codec_name,nb_read_frames -of csv " + file);
  // The csv writer prints the program's streams, a blank line, then the
  // streams again: keep the last block, without the "stream," prefixes.
  while (!all.empty() && all.back() == '\n') all.pop_back();
  size_t blank = all.rfind("\n\n");
  if (blank != std::string::npos) all = all.substr(blank + 2);
  std::string out;
  size_t pos = 0;
  while (pos < all.size()) {
    size_t nl = all.find('\n', pos);
    if (nl == std::string::npos) nl = all.size();
    std::string line = all.substr(pos, nl - pos);
    out += (line.rfind("stream,", 0) == 0 ? line.substr(7) : line) + "\n";
    pos = nl + 1;
  }
  return out;
}

struct TsPkt {
  TsPacketInfo info;
  size_t index = 0;
  std::vector<uint8_t> raw;
};

std::vector<TsPkt> split_ts(const std::vector<uint8_t>& ts) {
  REQUIRE(ts.size() % kTsPacketSize == 0);
  std::vector<TsPkt> out;
  for (size_t i = 0; i < ts.size(); i += kTsPacketSize) {
    TsPkt p;
    p.raw.assign(ts.begin() + ptrdiff_t(i), ts.begin() + ptrdiff_t(i + kTsPacketSize));
    auto r = parse_ts_packet(bv(p.raw));
    REQUIRE(r.is_ok());
    p.info = r.value();
    p.info.payload = {};  // points into p.raw; re-derive when needed
    p.index = i / kTsPacketSize;
    out.push_back(std::move(p));
  }
  return out;
}

ByteView payload_of(const TsPkt& p) {
  auto r = parse_ts_packet(bv(p.raw));
  return r->payload;
}

// PES packets per PID: header + the concatenated payload.
struct Pes {
  uint16_t pid = 0;
  size_t first_packet = 0;
  TsPacketInfo first;
  std::vector<uint8_t> bytes;
};

std::vector<Pes> collect_pes(const std::vector<TsPkt>& pkts) {
  std::vector<Pes> out;
  std::map<uint16_t, size_t> open;
  for (const TsPkt& p : pkts) {
    uint16_t pid = p.info.pid;
    if (pid != kTsPidVideo && pid != kTsPidAudio) continue;
    if (!p.info.has_payload) continue;
    if (p.info.payload_unit_start) {
      Pes pes;
      pes.pid = pid;
      pes.first_packet = p.index;
      pes.first = p.info;
      out.push_back(pes);
      open[pid] = out.size() - 1;
    }
    REQUIRE(open.count(pid));
    ByteView pl = payload_of(p);
    auto& b = out[open[pid]].bytes;
    b.insert(b.end(), pl.begin(), pl.end());
  }
  return out;
}

ByteView avcc_of(const std::vector<MediaPacket>& pkts) {
  for (const MediaPacket& p : pkts) {
    if (p.is_video() && p.is_config()) return p.payload();
  }
  FAIL("no video config");
  return {};
}
ByteView asc_of(const std::vector<MediaPacket>& pkts) {
  for (const MediaPacket& p : pkts) {
    if (p.is_audio() && p.is_config()) return p.payload();
  }
  FAIL("no audio config");
  return {};
}

std::vector<ByteView> nals_without_params(ByteView avcc) {
  auto nals = split_length_prefixed(avcc, 4);
  REQUIRE(nals.is_ok());
  std::vector<ByteView> out;
  for (ByteView n : nals.value()) {
    uint8_t t = h264_nal_type(n[0]);
    if (t != 7 && t != 8 && t != 9) out.push_back(n);
  }
  return out;
}

size_t count_frames(const std::vector<MediaPacket>& pkts, bool video) {
  size_t n = 0;
  for (const MediaPacket& p : pkts) n += !p.is_config() && p.is_video() == video;
  return n;
}

}  // namespace

TEST_CASE("crc32_mpeg matches the CRC-32/MPEG-2 check value", "[ts]") {
  CHECK(crc32_mpeg(core::as_bytes("123456789")) == 0x0376E6E7u);
  CHECK(crc32_mpeg({}) == 0xFFFFFFFFu);
  auto pat = build_pat_section(1, 1, 0x1000);
  CHECK(crc32_mpeg(bv(pat)) == 0);  // a section with its CRC checks to 0
}

TEST_CASE("PAT and PMT are byte-identical to FFmpeg's", "[ts]") {
  auto flv = flv_packets("h264_aac.flv");
  auto ref = load("ts_h264_aac.ts");  // packet 1 = PAT, packet 2 = PMT (both CC 0)
  TsMuxer m;
  REQUIRE(m.set_video(Codec::kH264, avcc_of(flv)).is_ok());
  REQUIRE(m.set_audio(Codec::kAAC, asc_of(flv)).is_ok());
  core::ByteWriter out;
  m.write_tables(out);
  auto got = vec(out.view());
  REQUIRE(got.size() == 2 * kTsPacketSize);
  CHECK(std::vector<uint8_t>(got.begin(), got.begin() + 188) ==
        std::vector<uint8_t>(ref.begin() + 188, ref.begin() + 376));
  CHECK(std::vector<uint8_t>(got.begin() + 188, got.end()) ==
        std::vector<uint8_t>(ref.begin() + 376, ref.begin() + 564));

  SECTION("HEVC carries the HEVC registration descriptor, as FFmpeg writes it") {
    auto hevc_ts = load("ts_hevc_aac.ts");
    auto pkts = demux_all(bv(hevc_ts));
    TsMuxer h;
    REQUIRE(h.set_video(Codec::kHEVC, avcc_of(pkts)).is_ok());
    REQUIRE(h.set_audio(Codec::kAAC, asc_of(pkts)).is_ok());
    core::ByteWriter o;
    h.write_tables(o);
    auto t = vec(o.view());
    CHECK(std::vector<uint8_t>(t.begin() + 188, t.end()) ==
          std::vector<uint8_t>(hevc_ts.begin() + 376, hevc_ts.begin() + 564));
  }
}

TEST_CASE("PSI parsing rejects bad CRC and lengths", "[ts]") {
  auto pat = build_pat_section(7, 3, 0x1234, 5);
  auto sec = parse_psi_section(bv(pat));
  REQUIRE(sec.is_ok());
  CHECK(sec->table_id_extension == 7);
  CHECK(sec->version == 5);
  auto progs = parse_pat(sec.value());
  REQUIRE(progs.is_ok());
  REQUIRE(progs->size() == 1);
  CHECK((*progs)[0].program_number == 3);
  CHECK((*progs)[0].pid == 0x1234);

  auto bad = pat;
  bad[9] ^= 1;
  CHECK(parse_psi_section(bv(bad)).error().find("CRC") != std::string::npos);
  bad = pat;
  bad[1] = 0xBF;  // section_length 0xF0D > 1021
  bad[2] = 0xFF;
  CHECK(parse_psi_section(bv(bad)).error().find("exceeds 1021") != std::string::npos);
  CHECK(!parse_psi_section(ByteView(pat.data(), pat.size() - 1)).is_ok());

  std::vector<PmtStreamSpec> streams = {{kStreamTypeH264, 0x100, {}},
                                        {kStreamTypePrivatePes, 0x101, {0x05, 4, 'O', 'p', 'u', 's'}}};
  auto pmt_bytes = build_pmt_section(3, 0x100, streams);
  auto psec = parse_psi_section(bv(pmt_bytes));
  REQUIRE(psec.is_ok());
  auto pmt = parse_pmt(psec.value());
  REQUIRE(pmt.is_ok());
  CHECK(pmt->pcr_pid == 0x100);
  REQUIRE(pmt->streams.size() == 2);
  CHECK(pmt->streams[1].registration == make_fourcc('O', 'p', 'u', 's'));
  // ES_info_length running past the section.
  auto broken = pmt_bytes;
  broken[8 + 4 + 3] = 0xF0;
  broken[8 + 4 + 4] = 0x40;
  broken.resize(broken.size() - 4);
  uint32_t crc = crc32_mpeg(ByteView(broken.data(), broken.size()));
  for (int i = 3; i >= 0; --i) broken.push_back(uint8_t(crc >> (8 * i)));
  auto bsec = parse_psi_section(bv(broken));
  REQUIRE(bsec.is_ok());
  CHECK(parse_pmt(bsec.value()).error().find("ES_info_length") != std::string::npos);
}

TEST_CASE("PES header write/parse round trip", "[ts]") {
  core::ByteWriter w;
  write_pes_header(w, 0xE0, 133200, 126000, 1000, false);
  auto h = parse_pes_header(w.view());
  REQUIRE(h.is_ok());
  CHECK(h->stream_id == 0xE0);
  CHECK(h->packet_length == 0);
  CHECK(h->has_pts);
  CHECK(h->has_dts);
  CHECK(h->pts == 133200);
  CHECK(h->dts == 126000);
  CHECK(h->header_size == 19);
  CHECK(h->data_alignment);

  core::ByteWriter a;
  write_pes_header(a, 0xC0, (int64_t(1) << 33) + 5, (int64_t(1) << 33) + 5, 300, true);
  auto ha = parse_pes_header(a.view());
  REQUIRE(ha.is_ok());
  CHECK(!ha->has_dts);
  CHECK(ha->pts == 5);  // modulo 2^33
  CHECK(ha->packet_length == 3 + 5 + 300);
  CHECK(ha->header_size == 14);
  CHECK(pes_header_needed(ByteView(a.view().data(), 4)) == 9);
  CHECK(!parse_pes_header(ByteView(a.view().data(), 10)).is_ok());

  std::vector<uint8_t> bad = vec(a.view());
  bad[6] = 0x40;  // marker bits '01'
  CHECK(parse_pes_header(bv(bad)).error().find("marker") != std::string::npos);
  bad = vec(a.view());
  bad[8] = 2;  // header data length too short for the PTS
  CHECK(!parse_pes_header(bv(bad)).is_ok());
}

TEST_CASE("TsMuxer writes PES, PCR and RAI as specified", "[ts]") {
  auto flv = flv_packets("h264_aac.flv");
  TsMuxerOptions opt;
  auto ts = mux_all(flv, opt);
  auto pkts = split_ts(ts);
  auto pes = collect_pes(pkts);

  // Expected frames from the input.
  std::vector<const MediaPacket*> video, audio;
  for (const MediaPacket& p : flv) {
    if (p.is_config()) continue;
    (p.is_video() ? video : audio).push_back(&p);
  }
  REQUIRE(video.size() == 50);
  REQUIRE(audio.size() == 88);

  size_t vi = 0, ai = 0;
  for (const Pes& p : pes) {
    auto h = parse_pes_header(bv(p.bytes));
    REQUIRE(h.is_ok());
    if (p.pid == kTsPidVideo) {
      REQUIRE(vi < video.size());
      const MediaPacket& m = *video[vi++];
      CHECK(h->stream_id == 0xE0);
      CHECK(h->packet_length == 0);
      CHECK(h->dts == m.dts * 90 + opt.timestamp_offset);
      CHECK(h->pts == m.pts * 90 + opt.timestamp_offset);
      CHECK(h->has_dts == (m.pts != m.dts));
      // PCR in the first packet, 0.7 s behind DTS; RAI exactly on keyframes.
      CHECK(p.first.has_pcr);
      CHECK(p.first.pcr == (h->dts - opt.pcr_delay) * 300);
      CHECK(p.first.random_access == m.is_keyframe());
      // Annex B: AUD first; SPS + PPS right after it on keyframes only.
      ByteView es = bv(p.bytes).subspan(h->header_size);
      auto nals = split_annexb(es);
      REQUIRE(nals.size() >= 2);
      CHECK(vec(nals[0]) == std::vector<uint8_t>{0x09, 0xF0});
      CHECK((h264_nal_type(nals[1][0]) == 7) == m.is_keyframe());
      // The original NAL units follow unchanged.
      auto orig = nals_without_params(m.payload());
      std::vector<ByteView> got;
      for (ByteView n : nals) {
        uint8_t t = h264_nal_type(n[0]);
        if (t != 7 && t != 8 && t != 9) got.push_back(n);
      }
      REQUIRE(got.size() == orig.size());
      for (size_t i = 0; i < got.size(); ++i) CHECK(vec(got[i]) == vec(orig[i]));
    } else {
      REQUIRE(ai < audio.size());
      const MediaPacket& m = *audio[ai++];
      CHECK(h->stream_id == 0xC0);
      CHECK(!h->has_dts);
      CHECK(h->pts == m.pts * 90 + opt.timestamp_offset);
      CHECK(size_t(h->packet_length) + 6 == p.bytes.size());  // bounded, exact
      CHECK(!p.first.has_pcr);  // the PCR is on the video PID
      CHECK(p.first.random_access);
      ByteView es = bv(p.bytes).subspan(h->header_size);
      auto adts = parse_adts_header(es);
      REQUIRE(adts.is_ok());
      CHECK(adts->frame_length == es.size());
      CHECK(vec(es.subspan(7)) == vec(m.payload()));
    }
  }
  CHECK(vi == 50);
  CHECK(ai == 88);
  // Tables come first, then the first PES is the keyframe.
  CHECK(pkts[0].info.pid == kTsPidPat);
  CHECK(pkts[1].info.pid == kTsPidPmt);
}

TEST_CASE("TsMuxer continuity counters continue across write_tables", "[ts]") {
  auto flv = flv_packets("h264_aac.flv");
  auto ts = mux_all(flv, {}, 10);  // "segments" of 10 packets, tables at each
  auto pkts = split_ts(ts);
  std::map<uint16_t, int> last;
  std::map<uint16_t, int> counts;
  for (const TsPkt& p : pkts) {
    uint16_t pid = p.info.pid;
    int cc = p.info.continuity_counter;
    if (!p.info.has_payload) {
      // Adaptation-only packets repeat the last counter.
      if (last.count(pid)) CHECK(cc == last[pid]);
      continue;
    }
    if (last.count(pid)) CHECK(cc == ((last[pid] + 1) & 15));
    last[pid] = cc;
    ++counts[pid];
  }
  CHECK(counts[kTsPidPat] == int(flv.size() + 9) / 10);  // at start + every 10 packets
  CHECK(counts[kTsPidPat] == counts[kTsPidPmt]);
  // Concatenating the "segments" is the stream itself: the demuxer sees no gaps.
  TsDemuxStats st;
  auto back = demux_all(bv(ts), &st);
  CHECK(st.cc_errors == 0);
  CHECK(count_frames(back, true) == 50);
  CHECK(count_frames(back, false) == 88);
}

TEST_CASE("TsMuxer output round-trips through TsDemuxer", "[ts]") {
  auto flv = flv_packets("h264_aac.flv");
  size_t per_pes = GENERATE(1, 5);
  TsMuxerOptions opt;
  opt.audio_frames_per_pes = per_pes;
  auto ts = mux_all(flv, opt);
  TsDemuxStats st;
  auto back = demux_all(bv(ts), &st);
  CHECK(st.cc_errors == 0);
  CHECK(st.pes_dropped == 0);
  CHECK(st.es.es_errors == 0);
  if (per_pes == 5) CHECK(st.pes < 50 + 88);

  std::vector<const MediaPacket*> in_v, in_a, out_v, out_a;
  for (const MediaPacket& p : flv) {
    if (!p.is_config()) (p.is_video() ? in_v : in_a).push_back(&p);
  }
  for (const MediaPacket& p : back) {
    if (!p.is_config()) (p.is_video() ? out_v : out_a).push_back(&p);
  }
  REQUIRE(out_v.size() == in_v.size());
  REQUIRE(out_a.size() == in_a.size());
  int64_t base = in_v[0]->dts;  // the first timestamp in the TS is the first video DTS
  for (size_t i = 0; i < in_v.size(); ++i) {
    CHECK(out_v[i]->dts == in_v[i]->dts - base);
    CHECK(out_v[i]->pts == in_v[i]->pts - base);
    CHECK(out_v[i]->is_keyframe() == in_v[i]->is_keyframe());
    auto a = nals_without_params(in_v[i]->payload());
    auto b = nals_without_params(out_v[i]->payload());
    REQUIRE(a.size() == b.size());
    for (size_t k = 0; k < a.size(); ++k) CHECK(vec(a[k]) == vec(b[k]));
  }
  for (size_t i = 0; i < in_a.size(); ++i) {
    // Batched frames are re-timed from 1024-sample steps: within 1 ms.
    CHECK(std::abs(out_a[i]->dts - (in_a[i]->dts - base)) <= 1);
    CHECK(vec(out_a[i]->payload()) == vec(in_a[i]->payload()));
  }
  // Configs come back equivalent.
  auto c_in = parse_avc_decoder_config(avcc_of(flv));
  auto c_out = parse_avc_decoder_config(avcc_of(back));
  REQUIRE(c_in.is_ok());
  REQUIRE(c_out.is_ok());
  CHECK(vec(c_in->sps[0].view()) == vec(c_out->sps[0].view()));
  CHECK(vec(c_in->pps[0].view()) == vec(c_out->pps[0].view()));
  // FFmpeg's ASC carries an SBR sync extension ADTS cannot express; the
  // audio config itself must match.
  auto a_in = parse_aac_audio_specific_config(asc_of(flv));
  auto a_out = parse_aac_audio_specific_config(asc_of(back));
  REQUIRE(a_in.is_ok());
  REQUIRE(a_out.is_ok());
  CHECK(a_in->object_type == a_out->object_type);
  CHECK(a_in->sampling_frequency == a_out->sampling_frequency);
  CHECK(a_in->channel_configuration == a_out->channel_configuration);
}

TEST_CASE("ffmpeg reads TsMuxer output without warnings", "[ts][ffmpeg]") {
  TempDir tmp;
  SECTION("H.264 + AAC, several option sets") {
    auto flv = flv_packets("h264_aac.flv");
    struct Case {
      const char* name;
      TsMuxerOptions opt;
      size_t tables_every;
    };
    std::vector<Case> cases;
    cases.push_back({"default", {}, 0});
    TsMuxerOptions batched;
    batched.audio_frames_per_pes = 8;
    cases.push_back({"batched", batched, 0});
    TsMuxerOptions live;
    live.tables_before_keyframes = true;
    live.pcr_delay = 9000;
    live.timestamp_offset = 0 + 9000;
    cases.push_back({"live", live, 0});
    TsMuxerOptions wrap;
    wrap.timestamp_offset = (int64_t(1) << 33) - 90000;  // PTS wraps 1 s in
    cases.push_back({"wrap", wrap, 0});
    cases.push_back({"segments", {}, 25});
    TsMuxerOptions zero;
    zero.timestamp_offset = 0;  // PTS from 0; the PCR stays at 0 until DTS passes pcr_delay
    cases.push_back({"zero", zero, 0});
    for (const Case& c : cases) {
      INFO(c.name);
      auto ts = mux_all(flv, c.opt, c.tables_every);
      auto file = tmp.write(std::string(c.name) + ".ts", ts);
      CHECK(ffmpeg_warnings(file) == "");
      CHECK(ffprobe_frames(file) == "h264,50\naac,88\n");
    }
  }
  SECTION("demuxed FFmpeg TS muxed again: H.264, HEVC, MP3, Opus") {
    struct Case {
      const char* file;
      const char* expect;
    };
    for (Case c : {Case{"ts_h264_aac.ts", "h264,50\naac,88\n"}, Case{"ts_hevc_aac.ts", "hevc,50\naac,95\n"},
                   Case{"ts_mp3.ts", "mp3,40\n"}, Case{"ts_opus.ts", "opus,51\n"}}) {
      INFO(c.file);
      auto src = load(c.file);
      auto pkts = demux_all(bv(src));
      auto ts = mux_all(pkts);
      auto file = tmp.write(std::string("re_") + c.file, ts);
      CHECK(ffmpeg_warnings(file) == "");
      CHECK(ffprobe_frames(file) == c.expect);
    }
  }
}

TEST_CASE("TsMuxer handles 33-bit wrap and audio-only PCR", "[ts]") {
  auto flv = flv_packets("h264_aac.flv");
  TsMuxerOptions opt;
  opt.timestamp_offset = (int64_t(1) << 33) - 45000;  // wraps 0.5 s in
  auto ts = mux_all(flv, opt);
  TsDemuxStats st;
  auto back = demux_all(bv(ts), &st);
  CHECK(st.discontinuities == 0);
  std::vector<int64_t> in_dts, out_dts;
  for (const MediaPacket& p : flv) {
    if (p.is_video() && !p.is_config()) in_dts.push_back(p.dts - flv[0].dts);
  }
  for (const MediaPacket& p : back) {
    if (p.is_video() && !p.is_config()) out_dts.push_back(p.dts);
  }
  CHECK(out_dts == in_dts);

  SECTION("audio only: PCR on the audio PID, every PES") {
    std::vector<MediaPacket> audio;
    for (const MediaPacket& p : flv) {
      if (p.is_audio()) audio.push_back(p);
    }
    auto ats = mux_all(audio);
    auto pkts = split_ts(ats);
    auto pes = collect_pes(pkts);
    REQUIRE(pes.size() == 88);
    for (const Pes& p : pes) {
      CHECK(p.pid == kTsPidAudio);
      CHECK(p.first.has_pcr);
    }
    auto sec = parse_psi_section(payload_of(pkts[1]).subspan(1, psi_section_size(payload_of(pkts[1]).subspan(1))));
    REQUIRE(sec.is_ok());
    auto pmt = parse_pmt(sec.value());
    REQUIRE(pmt.is_ok());
    CHECK(pmt->pcr_pid == kTsPidAudio);
    REQUIRE(pmt->streams.size() == 1);
    CHECK(pmt->streams[0].stream_type == kStreamTypeAacAdts);
  }
}

TEST_CASE("TsMuxer rejects what it cannot carry", "[ts]") {
  auto flv = flv_packets("h264_aac.flv");
  TsMuxer m;
  core::ByteWriter out;
  const MediaPacket* frame = nullptr;
  for (const MediaPacket& p : flv) {
    if (p.is_video() && !p.is_config()) {
      frame = &p;
      break;
    }
  }
  REQUIRE(frame);
  CHECK(m.write_packet(out, *frame).message() == "ts mux: video packet but no video track");
  CHECK(m.set_video(Codec::kAV1, {}).message() == "ts mux: video codec av1 is not supported");
  CHECK(!m.set_video(Codec::kH264, core::as_bytes("junk")).is_ok());
  CHECK(!m.set_audio(Codec::kAAC, {}).is_ok());
  CHECK(!m.set_audio(Codec::kOpus, core::as_bytes("OpusHead")).is_ok());
  REQUIRE(m.set_video(Codec::kH264, avcc_of(flv)).is_ok());
  // A NAL length running past the payload.
  MediaPacket bad = *frame;
  std::vector<uint8_t> body = vec(frame->body.view());
  body[5] = 0x7F;
  bad.body = core::Slice::copy_of(bv(body));
  CHECK(m.write_packet(out, bad).message().find("exceeds") != std::string::npos);
  CHECK(out.size() == 0);  // nothing written for a failed packet
  MediaPacket hevc = *frame;
  hevc.codec = Codec::kHEVC;
  CHECK(m.write_packet(out, hevc).message() == "ts mux: hevc video packet on a h264 track");
}

TEST_CASE("TsMuxer bumps the PMT version when a track changes", "[ts]") {
  auto flv = flv_packets("h264_aac.flv");
  TsMuxer m;
  REQUIRE(m.set_video(Codec::kH264, avcc_of(flv)).is_ok());
  core::ByteWriter out;
  m.write_tables(out);
  REQUIRE(m.set_audio(Codec::kAAC, asc_of(flv)).is_ok());
  m.write_tables(out);
  m.write_tables(out);
  auto pkts = split_ts(vec(out.view()));
  std::vector<int> versions;
  for (const TsPkt& p : pkts) {
    if (p.info.pid != kTsPidPmt) continue;
    ByteView pl = payload_of(p).subspan(1);
    auto sec = parse_psi_section(pl.subspan(0, psi_section_size(pl)));
    REQUIRE(sec.is_ok());
    versions.push_back(sec->version);
  }
  CHECK(versions == std::vector<int>{0, 1, 1});
}

TEST_CASE("TsMuxer keeps PCRs within 100 ms when video is sparse", "[ts][ffmpeg]") {
  // Keyframes only (1 s apart) plus all audio: the PCR has to come from
  // adaptation-only packets on the video PID between the video PES.
  auto flv = flv_packets("h264_aac.flv");
  std::vector<MediaPacket> sparse;
  for (const MediaPacket& p : flv) {
    if (p.is_audio() || p.is_config() || p.is_keyframe()) sparse.push_back(p);
  }
  auto ts = mux_all(sparse);
  auto pkts = split_ts(ts);
  std::vector<int64_t> pcrs;
  size_t pcr_only = 0;
  for (const TsPkt& p : pkts) {
    if (!p.info.has_pcr) continue;
    CHECK(p.info.pid == kTsPidVideo);
    pcrs.push_back(p.info.pcr / 300);
    pcr_only += !p.info.has_payload;
  }
  CHECK(pcr_only > 10);
  for (size_t i = 1; i < pcrs.size(); ++i) {
    CHECK(pcrs[i] >= pcrs[i - 1]);
    CHECK(pcrs[i] - pcrs[i - 1] <= 9000);
  }
  TempDir tmp;
  auto file = tmp.write("sparse.ts", ts);
  CHECK(ffmpeg_warnings(file) == "");
  CHECK(ffprobe_frames(file) == "h264,2\naac,88\n");
}

TEST_CASE("TsMuxer bounded_video_pes: a reader completes each frame at its last byte", "[ts]") {
  // A live TS reader (the SRT edge) only knows an unbounded video PES is
  // complete when the next one starts: the last frame of a stream never came
  // out. With bounded_video_pes every frame that fits carries its length.
  auto flv = flv_packets("h264_aac.flv");
  // One more frame, too large for a 16-bit PES length: it stays unbounded.
  std::vector<uint8_t> big(4 + 70000, 0xAA);
  big[0] = 0, big[1] = 0x01, big[2] = 0x11, big[3] = 0x70;  // 70000 = 0x011170
  big[4] = 0x41;                                            // non-IDR slice
  int64_t last = 0;
  for (const MediaPacket& p : flv) last = std::max(last, p.dts);
  auto large = make_media_packet(kFlvTagVideo, last + 40, build_video_tag_avc(false, kAvcPacketNalu, 0, bv(big)));
  REQUIRE(large.is_ok());

  size_t in_v = count_frames(flv, true);
  for (bool bounded : {false, true}) {
    INFO("bounded_video_pes " << bounded);
    TsMuxerOptions opt;
    opt.bounded_video_pes = bounded;
    auto ts = mux_all(flv, opt);
    size_t video_pes = 0;
    for (const Pes& pes : collect_pes(split_ts(ts))) {
      if (pes.pid != kTsPidVideo) continue;
      ++video_pes;
      size_t len = size_t(pes.bytes[4]) << 8 | pes.bytes[5];
      // The last TS packet's stuffing is in its adaptation field: the bytes are the PES exactly.
      CHECK(len == (bounded ? pes.bytes.size() - 6 : 0));
    }
    CHECK(video_pes == in_v);
    // Fed without flush(): every frame is out only if bounded.
    TsDemuxer d;
    std::vector<MediaPacket> out;
    auto cb = [&](const MediaPacket& p) {
      out.push_back(p);
      return core::Status::ok();
    };
    REQUIRE(d.feed(bv(ts), cb).is_ok());
    CHECK(count_frames(out, true) == (bounded ? in_v : in_v - 1));
    CHECK(d.stats().pes_dropped == 0);

    // The large frame: PES_packet_length 0, complete only at flush().
    TsMuxer m(opt);
    core::ByteWriter w;
    for (const MediaPacket& p : flv) REQUIRE(m.write_packet(w, p).is_ok());
    REQUIRE(m.write_packet(w, large.value()).is_ok());
    m.flush(w);
    auto ts2 = vec(w.view());
    auto pes2 = collect_pes(split_ts(ts2));
    const Pes* lastv = nullptr;
    for (const Pes& pes : pes2)
      if (pes.pid == kTsPidVideo) lastv = &pes;
    REQUIRE(lastv);
    CHECK(lastv->bytes.size() > 0xFFFF);
    CHECK((size_t(lastv->bytes[4]) << 8 | lastv->bytes[5]) == 0);
    TsDemuxer d2;
    out.clear();
    REQUIRE(d2.feed(bv(ts2), cb).is_ok());
    CHECK(count_frames(out, true) == in_v);  // the large one waits for the end, bounded or not
    REQUIRE(d2.flush(cb).is_ok());
    CHECK(count_frames(out, true) == in_v + 1);
  }
}
