// TsDemuxer on real FFmpeg output and on damaged streams. Fixtures in
// tests/unit/protocol/data, all from ffmpeg 5.1:
//   ts_h264_aac.ts  ffmpeg -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=44100
//                   -t 2 -c:v libx264 -preset veryfast -crf 45 -g 25 -bf 2 -c:a aac -b:a 32k -f mpegts
//   ts_hevc_aac.ts  the same with sample_rate=48000, -c:v libx265 -preset veryfast
//                   -x265-params keyint=25:bframes=2 -crf 45, -ac 2
//   ts_mp3.ts       -f lavfi -i sine=frequency=440:sample_rate=44100 -t 1 -c:a libmp3lame -b:a 32k
//   ts_opus.ts      -f lavfi -i sine=frequency=440:sample_rate=48000 -t 1 -c:a libopus -b:a 16k -ac 1
// The expected packets below are ffprobe -show_packets output for those files
// (sorted by DTS per stream; 90 kHz).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "protocol/codec_config.h"
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

// ts_h264_aac.ts video: dts, pts, keyframe (ffprobe -show_packets)
const int64_t kH264AacVideo[][3] = {
  {126000,133200,1},{129600,144000,0},{133200,136800,0},{136800,140400,0},{140400,154800,0},
  {144000,147600,0},{147600,151200,0},{151200,162000,0},{154800,158400,0},{158400,172800,0},
  {162000,165600,0},{165600,169200,0},{169200,183600,0},{172800,176400,0},{176400,180000,0},
  {180000,194400,0},{183600,187200,0},{187200,190800,0},{190800,205200,0},{194400,198000,0},
  {198000,201600,0},{201600,216000,0},{205200,208800,0},{208800,212400,0},{212400,219600,0},
  {216000,223200,1},{219600,234000,0},{223200,226800,0},{226800,230400,0},{230400,244800,0},
  {234000,237600,0},{237600,241200,0},{241200,255600,0},{244800,248400,0},{248400,252000,0},
  {252000,266400,0},{255600,259200,0},{259200,262800,0},{262800,273600,0},{266400,270000,0},
  {270000,284400,0},{273600,277200,0},{277200,280800,0},{280800,295200,0},{284400,288000,0},
  {288000,291600,0},{291600,298800,0},{295200,302400,0},{298800,309600,0},{302400,306000,0},
};
// ts_h264_aac.ts audio: pts, size
const int64_t kH264AacAudio[][2] = {
  {131110,160},{133200,168},{135290,68},{137380,77},{139469,84},{141559,76},{143649,85},
  {145739,114},{147829,85},{149918,96},{152008,100},{154098,122},{156188,92},{158277,99},
  {160367,119},{162457,86},{164547,87},{166637,115},{168726,96},{170816,96},{172906,92},
  {174996,100},{177086,125},{179175,94},{181265,99},{183355,93},{185445,86},{187535,106},
  {189624,105},{191714,110},{193804,97},{195894,98},{197984,131},{200073,84},{202163,92},
  {204253,96},{206343,87},{208433,120},{210522,107},{212612,94},{214702,96},{216792,95},{218882,92},
  {220971,121},{223061,111},{225151,82},{227241,119},{229331,84},{231420,91},{233510,96},
  {235600,94},{237690,96},{239780,124},{241869,104},{243959,107},{246049,109},{248139,88},
  {250229,97},{252318,112},{254408,90},{256498,97},{258588,93},{260677,123},{262767,114},
  {264857,97},{266947,89},{269037,105},{271126,99},{273216,120},{275306,94},{277396,96},
  {279486,103},{281575,95},{283665,111},{285755,114},{287845,88},{289935,116},{292024,99},
  {294114,86},{296204,102},{298294,86},{300384,108},{302473,96},{304563,95},{306653,94},{308743,86},
  {310833,141},{312922,12},
};
// ts_hevc_aac.ts video: dts, pts, keyframe (ffprobe -show_packets)
const int64_t kHevcAacVideo[][3] = {
  {126000,133200,1},{129600,144000,0},{133200,140400,0},{136800,136800,0},{140400,154800,0},
  {144000,151200,0},{147600,147600,0},{151200,165600,0},{154800,162000,0},{158400,158400,0},
  {162000,176400,0},{165600,172800,0},{169200,169200,0},{172800,187200,0},{176400,183600,0},
  {180000,180000,0},{183600,198000,0},{187200,194400,0},{190800,190800,0},{194400,208800,0},
  {198000,205200,0},{201600,201600,0},{205200,219600,0},{208800,216000,0},{212400,212400,0},
  {216000,223200,1},{219600,234000,0},{223200,230400,0},{226800,226800,0},{230400,244800,0},
  {234000,241200,0},{237600,237600,0},{241200,255600,0},{244800,252000,0},{248400,248400,0},
  {252000,266400,0},{255600,262800,0},{259200,259200,0},{262800,277200,0},{266400,273600,0},
  {270000,270000,0},{273600,288000,0},{277200,284400,0},{280800,280800,0},{284400,298800,0},
  {288000,295200,0},{291600,291600,0},{295200,309600,0},{298800,306000,0},{302400,302400,0},
};
// ts_hevc_aac.ts audio: pts, size
const int64_t kHevcAacAudio[][2] = {
  {131280,93},{133200,131},{135120,79},{137040,78},{138960,78},{140880,96},{142800,80},{144720,81},
  {146640,80},{148560,84},{150480,99},{152400,83},{154320,100},{156240,100},{158160,96},
  {160080,102},{162000,81},{163920,97},{165840,99},{167760,80},{169680,84},{171600,83},{173520,88},
  {175440,83},{177360,84},{179280,103},{181200,100},{183120,83},{185040,84},{186960,85},{188880,83},
  {190800,86},{192720,89},{194640,88},{196560,88},{198480,88},{200400,90},{202320,96},{204240,93},
  {206160,91},{208080,92},{210000,94},{211920,93},{213840,112},{215760,91},{217680,106},{219600,90},
  {221520,89},{223440,88},{225360,89},{227280,90},{229200,88},{231120,91},{233040,96},{234960,93},
  {236880,108},{238800,89},{240720,90},{242640,108},{244560,91},{246480,87},{248400,106},
  {250320,89},{252240,89},{254160,107},{256080,86},{258000,108},{259920,84},{261840,89},{263760,86},
  {265680,102},{267600,87},{269520,88},{271440,90},{273360,87},{275280,89},{277200,91},{279120,93},
  {281040,112},{282960,86},{284880,88},{286800,90},{288720,107},{290640,88},{292560,105},
  {294480,86},{296400,88},{298320,91},{300240,89},{302160,92},{304080,90},{306000,107},{307920,90},
  {309840,92},{311760,88},
};
// ts_mp3.ts audio: pts, size
const int64_t kMp3Audio[][2] = {
  {126000,104},{128351,105},{130702,104},{133053,105},{135404,104},{137755,105},{140106,104},
  {142457,105},{144808,104},{147159,105},{149510,104},{151861,105},{154212,104},{156563,105},
  {158914,104},{161265,105},{163616,104},{165967,105},{168318,104},{170669,105},{173020,104},
  {175371,105},{177722,104},{180073,105},{182424,104},{184775,105},{187126,104},{189477,105},
  {191828,104},{194179,105},{196530,104},{198881,105},{201232,104},{203583,105},{205934,104},
  {208285,105},{210636,104},{212987,105},{215338,104},{217689,105},
};
// ts_opus.ts audio: pts, size
const int64_t kOpusAudio[][2] = {
  {126000,69},{127800,55},{129600,54},{131400,62},{133200,54},{135000,54},{136800,52},{138600,53},
  {140400,57},{142200,53},{144000,48},{145800,42},{147600,45},{149400,45},{151200,40},{153000,46},
  {154800,37},{156600,41},{158400,46},{160200,67},{162000,35},{163800,34},{165600,33},{167400,34},
  {169200,35},{171000,34},{172800,35},{174600,36},{176400,36},{178200,38},{180000,38},{181800,39},
  {183600,39},{185400,40},{187200,40},{189000,39},{190800,39},{192600,39},{194400,40},{196200,40},
  {198000,39},{199800,39},{201600,40},{203400,39},{205200,40},{207000,39},{208800,40},{210600,40},
  {212400,39},{214200,40},{216000,73},
};

using weir::test::load;

ByteView bv(const std::vector<uint8_t>& v) { return ByteView(v.data(), v.size()); }
std::vector<uint8_t> vec(ByteView v) { return std::vector<uint8_t>(v.begin(), v.end()); }

int64_t ms_of(int64_t t90, int64_t base) { return (t90 - base + 45) / 90; }

enum class Split { kWhole, kBytes, kSrt, kRandom };

struct Result {
  std::vector<MediaPacket> pkts;
  TsDemuxStats stats;
};

Result demux(const std::vector<uint8_t>& ts, Split split = Split::kWhole, TsDemuxOptions opt = {}) {
  TsDemuxer d(opt);
  Result r;
  auto cb = [&](const MediaPacket& p) {
    // Every packet is a valid FLV tag body with its payload in range.
    if (p.is_video()) {
      auto v = parse_video_tag(p.body.view());
      REQUIRE(v.is_ok());
      CHECK(v->payload_offset == p.payload_offset);
    } else {
      auto a = parse_audio_tag(p.body.view());
      REQUIRE(a.is_ok());
      CHECK(a->payload_offset == p.payload_offset);
    }
    r.pkts.push_back(p);
    return core::Status::ok();
  };
  ByteView all = bv(ts);
  std::mt19937 rng(1234);
  size_t pos = 0;
  while (pos < all.size()) {
    size_t n = all.size() - pos;
    if (split == Split::kBytes) n = 1;
    if (split == Split::kSrt) n = std::min<size_t>(n, 1316);
    if (split == Split::kRandom) n = std::min<size_t>(n, 1 + rng() % 700);
    REQUIRE(d.feed(all.subspan(pos, n), cb).is_ok());
    pos += n;
  }
  REQUIRE(d.flush(cb).is_ok());
  r.stats = d.stats();
  return r;
}

std::vector<const MediaPacket*> frames(const std::vector<MediaPacket>& pkts, bool video) {
  std::vector<const MediaPacket*> out;
  for (const MediaPacket& p : pkts) {
    if (p.is_video() == video && !p.is_config()) out.push_back(&p);
  }
  return out;
}
std::vector<const MediaPacket*> configs(const std::vector<MediaPacket>& pkts, bool video) {
  std::vector<const MediaPacket*> out;
  for (const MediaPacket& p : pkts) {
    if (p.is_video() == video && p.is_config()) out.push_back(&p);
  }
  return out;
}

// Packets as comparable tuples.
struct Flat {
  int track;
  int64_t dts, pts;
  uint8_t flags;
  std::vector<uint8_t> body;
  bool operator==(const Flat&) const = default;
};
std::vector<Flat> flat(const std::vector<MediaPacket>& pkts) {
  std::vector<Flat> out;
  for (const MediaPacket& p : pkts) out.push_back({int(p.track), p.dts, p.pts, p.flags, vec(p.body.view())});
  return out;
}
std::vector<Flat> flat_track(const std::vector<MediaPacket>& pkts, bool video) {
  std::vector<Flat> out;
  for (const Flat& f : flat(pkts)) {
    if ((f.track == int(core::TrackType::kVideo)) == video) out.push_back(f);
  }
  return out;
}

template <size_t N>
void check_video(const std::vector<MediaPacket>& pkts, const int64_t (&expect)[N][3], int64_t base) {
  auto v = frames(pkts, true);
  REQUIRE(v.size() == N);
  for (size_t i = 0; i < N; ++i) {
    INFO("video frame " << i);
    CHECK(v[i]->dts == ms_of(expect[i][0], base));
    CHECK(v[i]->pts == ms_of(expect[i][1], base));
    CHECK(v[i]->is_keyframe() == (expect[i][2] != 0));
  }
  // Config first, before the first frame.
  REQUIRE(!pkts.empty());
  auto first_video = std::find_if(pkts.begin(), pkts.end(), [](const MediaPacket& p) { return p.is_video(); });
  REQUIRE(first_video != pkts.end());
  CHECK(first_video->is_config());
}

template <size_t N>
void check_audio(const std::vector<MediaPacket>& pkts, const int64_t (&expect)[N][2], int64_t base,
                 size_t header_bytes) {
  auto a = frames(pkts, false);
  REQUIRE(a.size() == N);
  for (size_t i = 0; i < N; ++i) {
    INFO("audio frame " << i);
    // FFmpeg's parser accumulates its own rounding; ours is exact per PES: within 1 ms.
    CHECK(std::abs(a[i]->dts - ms_of(expect[i][0], base)) <= 1);
    CHECK(a[i]->pts == a[i]->dts);
    CHECK(a[i]->payload().size() + header_bytes == size_t(expect[i][1]));
  }
}

void check_decode_order(const std::vector<MediaPacket>& pkts) {
  int64_t lv = INT64_MIN, la = INT64_MIN;
  for (const MediaPacket& p : pkts) {
    int64_t& l = p.is_video() ? lv : la;
    CHECK(p.dts >= l);
    CHECK(p.pts >= p.dts);
    CHECK(p.dts >= 0);
    l = p.dts;
  }
}

// ---- packet surgery on fixtures ----

size_t npackets(const std::vector<uint8_t>& ts) { return ts.size() / kTsPacketSize; }
uint8_t* pkt(std::vector<uint8_t>& ts, size_t i) { return ts.data() + i * kTsPacketSize; }
uint16_t pid_of(const uint8_t* p) { return uint16_t((p[1] & 0x1F) << 8 | p[2]); }
bool pusi(const uint8_t* p) { return p[1] & 0x40; }
size_t payload_pos(const uint8_t* p) { return (p[3] & 0x20) ? 5 + p[4] : 4; }
bool has_pcr(const uint8_t* p) { return (p[3] & 0x20) && p[4] > 0 && (p[5] & 0x10); }

std::vector<size_t> find_packets(std::vector<uint8_t>& ts, uint16_t pid, bool start) {
  std::vector<size_t> out;
  for (size_t i = 0; i < npackets(ts); ++i) {
    if (pid_of(pkt(ts, i)) == pid && pusi(pkt(ts, i)) == start) out.push_back(i);
  }
  return out;
}

void erase_packet(std::vector<uint8_t>& ts, size_t i) {
  ts.erase(ts.begin() + ptrdiff_t(i * kTsPacketSize), ts.begin() + ptrdiff_t((i + 1) * kTsPacketSize));
}

int64_t get_ts(const uint8_t* p) {
  return int64_t((p[0] >> 1) & 7) << 30 | int64_t(p[1]) << 22 | int64_t(p[2] >> 1) << 15 | int64_t(p[3]) << 7 |
         int64_t(p[4] >> 1);
}

// Adds delta (90 kHz, modulo 2^33) to every PCR, PTS and DTS in packets
// [from, end).
void shift_timestamps(std::vector<uint8_t>& ts, size_t from, int64_t delta) {
  for (size_t i = from; i < npackets(ts); ++i) {
    uint8_t* p = pkt(ts, i);
    if (has_pcr(p)) {
      int64_t base = int64_t(p[6]) << 25 | int64_t(p[7]) << 17 | int64_t(p[8]) << 9 | int64_t(p[9]) << 1 |
                     int64_t(p[10] >> 7);
      uint64_t nb = uint64_t(base + delta) & ((uint64_t(1) << 33) - 1);
      p[6] = uint8_t(nb >> 25);
      p[7] = uint8_t(nb >> 17);
      p[8] = uint8_t(nb >> 9);
      p[9] = uint8_t(nb >> 1);
      p[10] = uint8_t((p[10] & 0x7F) | (nb & 1) << 7);
    }
    uint16_t pid = pid_of(p);
    if (!pusi(p) || (pid != kTsPidVideo && pid != kTsPidAudio)) continue;
    uint8_t* h = p + payload_pos(p);
    uint8_t flags = h[7] >> 6;
    if (flags & 2) write_pes_timestamp(h + 9, flags == 3 ? 3 : 2, get_ts(h + 9) + delta);
    if (flags == 3) write_pes_timestamp(h + 14, 1, get_ts(h + 14) + delta);
  }
}

}  // namespace

TEST_CASE("TsDemuxer: FFmpeg H.264 + AAC, fed in any pieces", "[ts]") {
  auto ts = load("ts_h264_aac.ts");
  auto whole = demux(ts);
  const int64_t base = 126000;  // first DTS in the file (the first PES is video)
  check_video(whole.pkts, kH264AacVideo, base);
  check_audio(whole.pkts, kH264AacAudio, base, 7);  // ffprobe counts the ADTS header
  check_decode_order(whole.pkts);

  auto vc = configs(whole.pkts, true);
  REQUIRE(vc.size() == 1);
  CHECK(vc[0]->codec == Codec::kH264);
  CHECK(vc[0]->body.view()[0] == 0x17);  // legacy FLV: keyframe, AVC
  auto avcc = parse_avc_decoder_config(vc[0]->payload());
  REQUIRE(avcc.is_ok());
  CHECK(avcc->nal_length_size == 4);
  auto dim = parse_h264_sps_dimensions(avcc->sps[0].view());
  REQUIRE(dim.is_ok());
  CHECK(dim->width == 320);
  CHECK(dim->height == 240);
  auto ac = configs(whole.pkts, false);
  REQUIRE(ac.size() == 1);
  auto asc = parse_aac_audio_specific_config(ac[0]->payload());
  REQUIRE(asc.is_ok());
  CHECK(asc->sampling_frequency == 44100);
  CHECK(asc->channel_configuration == 1);
  // Frames are AVCC without AUDs; keyframes keep their in-band SPS/PPS.
  for (const MediaPacket* f : frames(whole.pkts, true)) {
    auto nals = split_length_prefixed(f->payload(), 4);
    REQUIRE(nals.is_ok());
    bool idr = false;
    for (ByteView n : nals.value()) {
      CHECK(h264_nal_type(n[0]) != 9);
      idr |= h264_nal_type(n[0]) == 5;
    }
    CHECK(idr == f->is_keyframe());
  }
  const TsDemuxStats& st = whole.stats;
  CHECK(st.packets == ts.size() / 188);
  CHECK(st.cc_errors == 0);
  CHECK(st.resyncs == 0);
  CHECK(st.pes_dropped == 0);
  CHECK(st.discontinuities == 0);
  CHECK(st.missing_tables == 0);
  CHECK(st.es.es_errors == 0);
  CHECK(st.es.ts_clamped == 0);
  CHECK(st.es.video_frames == 50);
  CHECK(st.es.audio_frames == 88);

  Split split = GENERATE(Split::kBytes, Split::kSrt, Split::kRandom);
  auto other = demux(ts, split);
  CHECK(flat(other.pkts) == flat(whole.pkts));
}

TEST_CASE("TsDemuxer: FFmpeg HEVC + AAC as Enhanced RTMP", "[ts]") {
  auto ts = load("ts_hevc_aac.ts");
  auto whole = demux(ts);
  check_video(whole.pkts, kHevcAacVideo, 126000);
  check_audio(whole.pkts, kHevcAacAudio, 126000, 7);
  check_decode_order(whole.pkts);
  auto vc = configs(whole.pkts, true);
  REQUIRE(vc.size() == 1);
  auto info = parse_video_tag(vc[0]->body.view());
  REQUIRE(info.is_ok());
  CHECK(info->enhanced);
  CHECK(info->fourcc == kFourccHvc1);
  CHECK(info->is_config);
  auto hvcc = parse_hevc_decoder_config(vc[0]->payload());
  REQUIRE(hvcc.is_ok());
  auto sps = hvcc->nalus_of_type(kHevcNalSps);
  REQUIRE(sps.size() == 1);
  auto dim = parse_hevc_sps_dimensions(sps[0].view());
  REQUIRE(dim.is_ok());
  CHECK(dim->width == 320);
  CHECK(dim->height == 240);
  CHECK(hvcc->nalus_of_type(kHevcNalVps).size() == 1);
  CHECK(hvcc->nalus_of_type(kHevcNalPps).size() == 1);
  for (const MediaPacket* f : frames(whole.pkts, true)) {
    auto v = parse_video_tag(f->body.view());
    REQUIRE(v.is_ok());
    CHECK(v->fourcc == kFourccHvc1);
    CHECK(v->cts == f->pts - f->dts);
  }
  auto asc = parse_aac_audio_specific_config(configs(whole.pkts, false)[0]->payload());
  REQUIRE(asc.is_ok());
  CHECK(asc->sampling_frequency == 48000);
  CHECK(asc->channel_configuration == 2);
  auto bytes = demux(ts, Split::kBytes);
  CHECK(flat(bytes.pkts) == flat(whole.pkts));
}

TEST_CASE("TsDemuxer: MP3 and Opus", "[ts]") {
  auto mp3 = demux(load("ts_mp3.ts"));
  check_audio(mp3.pkts, kMp3Audio, 126000, 0);
  CHECK(configs(mp3.pkts, false).empty());
  for (const MediaPacket* f : frames(mp3.pkts, false)) {
    CHECK(f->codec == Codec::kMP3);
    CHECK(f->body.view()[0] == 0x2E);  // MP3, 44 kHz, 16 bit, mono
  }
  CHECK(mp3.stats.es.es_errors == 0);

  auto opus_ts = load("ts_opus.ts");
  auto opus = demux(opus_ts);
  check_audio(opus.pkts, kOpusAudio, 126000, 0);
  auto oc = configs(opus.pkts, false);
  REQUIRE(oc.size() == 1);
  auto info = parse_audio_tag(oc[0]->body.view());
  REQUIRE(info.is_ok());
  CHECK(info->fourcc == kFourccOpus);
  ByteView head = oc[0]->payload();
  REQUIRE(head.size() == 19);
  CHECK(core::as_chars(head.subspan(0, 8)) == "OpusHead");
  CHECK(head[9] == 1);  // mono, from the PMT's extension descriptor
  CHECK(opus.stats.es.es_errors == 0);
  CHECK(flat(demux(opus_ts, Split::kRandom).pkts) == flat(opus.pkts));
}

TEST_CASE("TsDemuxer resyncs after garbage between packets", "[ts]") {
  auto ts = load("ts_h264_aac.ts");
  auto clean = demux(ts);
  auto dirty = ts;
  std::vector<uint8_t> junk(100, 0x00);
  dirty.insert(dirty.begin() + 200 * 188, junk.begin(), junk.end());
  dirty.insert(dirty.begin() + 50 * 188, junk.begin(), junk.end());
  dirty.insert(dirty.begin(), junk.begin(), junk.begin() + 37);  // leading garbage
  for (Split s : {Split::kWhole, Split::kBytes, Split::kRandom}) {
    auto r = demux(dirty, s);
    CHECK(flat(r.pkts) == flat(clean.pkts));  // nothing lost: garbage sat between packets
    CHECK(r.stats.resyncs == 3);
    CHECK(r.stats.garbage_bytes == 237);
    CHECK(r.stats.cc_errors == 0);
  }

  SECTION("garbage inside a packet costs that PES only") {
    auto cut = ts;
    auto vids = find_packets(cut, kTsPidVideo, false);
    size_t victim = vids[vids.size() / 2];
    // Overwrite the second half of a packet with a run that has no sync byte
    // pattern, and drop 50 bytes so the next packet is misaligned.
    cut.erase(cut.begin() + ptrdiff_t(victim * 188 + 100), cut.begin() + ptrdiff_t(victim * 188 + 150));
    auto r = demux(cut);
    CHECK(r.stats.resyncs >= 1);
    CHECK(r.stats.pes_dropped == 1);
    CHECK(frames(r.pkts, true).size() == 49);
    CHECK(frames(r.pkts, false).size() == 88);
  }
}

TEST_CASE("TsDemuxer survives lost, flagged and out-of-order packets", "[ts]") {
  auto ts = load("ts_h264_aac.ts");
  auto clean = demux(ts);
  auto mid_video = [&](std::vector<uint8_t>& t) {
    auto v = find_packets(t, kTsPidVideo, false);
    return v[v.size() / 2];
  };

  SECTION("a lost video packet drops one frame, counted on its PID") {
    auto t = ts;
    erase_packet(t, mid_video(t));
    TsDemuxer d;
    std::vector<MediaPacket> out;
    auto cb = [&](const MediaPacket& p) {
      out.push_back(p);
      return core::Status::ok();
    };
    REQUIRE(d.feed(bv(t), cb).is_ok());
    REQUIRE(d.flush(cb).is_ok());
    CHECK(d.stats().cc_errors == 1);
    CHECK(d.cc_errors(kTsPidVideo) == 1);
    CHECK(d.cc_errors(kTsPidAudio) == 0);
    CHECK(d.stats().pes_dropped == 1);
    CHECK(frames(out, true).size() == 49);
    CHECK(flat_track(out, false) == flat_track(clean.pkts, false));
  }
  SECTION("input cut inside the last (unbounded) video PES: flush drops that frame, hands over the rest") {
    auto t = ts;
    auto tail = find_packets(t, kTsPidVideo, false);
    REQUIRE(parse_ts_packet(ByteView(pkt(t, tail.back()), kTsPacketSize))->stuffed);
    REQUIRE_FALSE(parse_ts_packet(ByteView(pkt(t, tail.back() - 1), kTsPacketSize))->stuffed);
    t.resize(tail.back() * kTsPacketSize);  // the connection lost its last packets
    auto r = demux(t);
    CHECK(r.stats.cc_errors == 0);
    CHECK(r.stats.pes_dropped == 1);
    CHECK(frames(r.pkts, true).size() == 49);
    // Whole, it ends stuffed: the last frame is handed over (50, nothing dropped).
    CHECK(frames(clean.pkts, true).size() == 50);
    CHECK(clean.stats.pes_dropped == 0);
  }
  SECTION("transport_error_indicator packets are dropped") {
    auto t = ts;
    pkt(t, mid_video(t))[1] |= 0x80;
    auto r = demux(t);
    CHECK(r.stats.transport_errors == 1);
    CHECK(r.stats.cc_errors == 1);
    CHECK(frames(r.pkts, true).size() == 49);
  }
  SECTION("a duplicate packet is discarded") {
    auto t = ts;
    size_t i = mid_video(t);
    std::vector<uint8_t> copy(pkt(t, i), pkt(t, i) + 188);
    t.insert(t.begin() + ptrdiff_t((i + 1) * 188), copy.begin(), copy.end());
    auto r = demux(t);
    CHECK(r.stats.duplicates == 1);
    CHECK(r.stats.cc_errors == 0);
    CHECK(flat(r.pkts) == flat(clean.pkts));
  }
  SECTION("a wrong continuity counter") {
    auto t = ts;
    uint8_t* p = pkt(t, mid_video(t));
    p[3] = uint8_t((p[3] & 0xF0) | ((p[3] + 5) & 0x0F));
    auto r = demux(t);
    CHECK(r.stats.cc_errors == 2);  // into the bad packet and out of it
    CHECK(r.stats.pes_dropped == 1);
    CHECK(frames(r.pkts, true).size() == 49);
  }
  SECTION("a lost audio packet drops its PES and the frames in it") {
    auto t = ts;
    auto a = find_packets(t, kTsPidAudio, true);
    erase_packet(t, a[a.size() / 2]);
    auto r = demux(t);
    CHECK(r.stats.cc_errors == 1);
    CHECK(r.stats.es.es_errors <= 1);
    // FFmpeg packs about 11 AAC frames per PES here; all of one PES are lost.
    CHECK(frames(r.pkts, false).size() < 88);
    CHECK(frames(r.pkts, false).size() >= 70);
    CHECK(flat_track(r.pkts, true) == flat_track(clean.pkts, true));
    check_decode_order(r.pkts);
  }
}

TEST_CASE("TsDemuxer checks every length field", "[ts]") {
  auto ts = load("ts_h264_aac.ts");
  SECTION("adaptation_field_length over 183") {
    auto t = ts;
    auto v = find_packets(t, kTsPidVideo, false);
    uint8_t* p = pkt(t, v[10]);
    p[3] |= 0x20;
    p[4] = 200;
    auto r = demux(t);
    CHECK(r.stats.malformed_packets == 1);
    CHECK(frames(r.pkts, true).size() == 49);
  }
  SECTION("PES_packet_length longer than the PES") {
    auto t = ts;
    auto a = find_packets(t, kTsPidAudio, true);
    uint8_t* p = pkt(t, a[5]);
    uint8_t* h = p + payload_pos(p);
    h[4] = 0xFF;
    h[5] = 0xFF;
    auto r = demux(t);
    CHECK(r.stats.pes_dropped == 1);
    CHECK(frames(r.pkts, false).size() < 88);
    CHECK(frames(r.pkts, true).size() == 50);
  }
  SECTION("PES_header_data_length past the PES") {
    auto t = ts;
    // A bounded PES whose PES_packet_length cannot hold its header.
    auto a = find_packets(t, kTsPidAudio, true);
    uint8_t* p = pkt(t, a[5]);
    uint8_t* h = p + payload_pos(p);
    h[4] = 0;
    h[5] = 20;
    h[8] = 0xFF;
    // An unbounded video PES (the smallest frame, 152 bytes) whose header
    // would run past it.
    auto v = find_packets(t, kTsPidVideo, true);
    size_t smallest = 0;
    for (size_t i = 1; i + 1 < v.size() && !smallest; ++i) {
      // A PES in one packet: the next packet on the video PID starts a new PES.
      for (size_t k = v[i] + 1; k < npackets(t); ++k) {
        if (pid_of(pkt(t, k)) != kTsPidVideo) continue;
        if (pusi(pkt(t, k))) smallest = v[i];
        break;
      }
    }
    REQUIRE(smallest);
    uint8_t* pv = pkt(t, smallest);
    pv[payload_pos(pv) + 8] = 0xFF;
    auto r = demux(t);
    CHECK(r.stats.pes_dropped == 2);
    CHECK(frames(r.pkts, true).size() == 49);
  }
  SECTION("section_length over 1021 and a bad CRC") {
    auto t = ts;
    auto pmts = find_packets(t, kTsPidPmt, true);
    uint8_t* p = pkt(t, pmts[0]);
    p[5 + 1] = 0xBF;  // section_length 0xFxx
    uint8_t* p2 = pkt(t, pmts[1]);
    p2[5 + 10] ^= 0xFF;  // CRC no longer matches
    auto r = demux(t);
    CHECK(r.stats.section_errors == 2);
    CHECK(r.stats.missing_tables > 0);  // the program is found at the third PMT
    CHECK(frames(r.pkts, true).size() > 0);
  }
  SECTION("a PES over max_pes_size is dropped, the rest goes on") {
    // Re-muxed with one AAC frame per PES, so audio PES are small.
    TsMuxer m;
    core::ByteWriter out;
    for (const MediaPacket& p : demux(ts).pkts) REQUIRE(m.write_packet(out, p).is_ok());
    m.flush(out);
    TsDemuxOptions opt;
    opt.max_pes_size = 1500;
    auto r = demux(vec(out.view()), Split::kWhole, opt);
    CHECK(r.stats.pes_oversize > 0);
    CHECK(r.stats.pes_oversize == r.stats.pes_dropped);
    CHECK(frames(r.pkts, false).size() == 88);
    CHECK(frames(r.pkts, true).size() < 50);
  }
  SECTION("no sync at all fails after max_unsynced_bytes") {
    TsDemuxOptions opt;
    opt.max_unsynced_bytes = 4096;
    TsDemuxer d(opt);
    std::vector<uint8_t> junk(3000, 0x11);
    auto cb = [](const MediaPacket&) { return core::Status::ok(); };
    CHECK(d.feed(bv(junk), cb).is_ok());
    auto st = d.feed(bv(junk), cb);
    CHECK(st.message().find("ts: no sync in") == 0);
  }
}

TEST_CASE("TsDemuxer waits for PAT and PMT", "[ts]") {
  auto ts = load("ts_h264_aac.ts");
  auto clean = demux(ts);
  SECTION("first tables missing: output starts at the next keyframe after them") {
    auto t = ts;
    erase_packet(t, find_packets(t, kTsPidPmt, true)[0]);
    erase_packet(t, find_packets(t, kTsPidPat, true)[0]);
    auto r = demux(t);
    CHECK(r.stats.missing_tables > 0);
    CHECK(r.stats.es.waiting_keyframe > 0);
    auto v = frames(r.pkts, true);
    REQUIRE(v.size() == 25);  // the first GOP is lost with its keyframe
    CHECK(v[0]->is_keyframe());
    // Zero is the first timestamp seen after the tables; A/V stay aligned:
    // every frame is shifted by the same amount against the clean demux.
    auto cv = frames(clean.pkts, true);
    int64_t shift = cv[25]->dts - v[0]->dts;
    CHECK(shift > 0);
    for (size_t i = 0; i < v.size(); ++i) CHECK(v[i]->dts == cv[25 + i]->dts - shift);
    auto a = frames(r.pkts, false);
    auto ca = frames(clean.pkts, false);
    REQUIRE(!a.empty());
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(std::abs(a[i]->dts - (ca[ca.size() - a.size() + i]->dts - shift)) <= 1);
    }
  }
  SECTION("no tables at all: nothing comes out") {
    auto t = ts;
    for (size_t i = npackets(t); i-- > 0;) {
      uint16_t pid = pid_of(pkt(t, i));
      if (pid == kTsPidPat || pid == kTsPidPmt) erase_packet(t, i);
    }
    auto r = demux(t);
    CHECK(r.pkts.empty());
    CHECK(r.stats.missing_tables == r.stats.packets - 4);  // the SDT PID 0x11 is counted too
  }
}

TEST_CASE("TsDemuxer unwraps 33-bit timestamps and rebases discontinuities", "[ts]") {
  auto ts = load("ts_h264_aac.ts");
  auto clean = demux(ts);
  // The first video PES at or after the middle that carries a PCR.
  size_t mid = 0;
  for (size_t i = npackets(ts) / 2; i < npackets(ts); ++i) {
    uint8_t* p = pkt(ts, i);
    if (pid_of(p) == kTsPidVideo && pusi(p) && has_pcr(p)) {
      mid = i;
      break;
    }
  }
  REQUIRE(mid > 0);

  SECTION("all timestamps shifted to wrap 1 s in") {
    auto t = ts;
    shift_timestamps(t, 0, (int64_t(1) << 33) - 126000 - 90000);
    auto r = demux(t);
    CHECK(r.stats.discontinuities == 0);
    CHECK(flat(r.pkts) == flat(clean.pkts));
  }
  SECTION("a PCR discontinuity_indicator with a backward jump") {
    auto t = ts;
    shift_timestamps(t, mid, -5 * 90000);
    pkt(t, mid)[5] |= 0x80;
    auto r = demux(t);
    CHECK(r.stats.discontinuities == 1);
    CHECK(flat(r.pkts) == flat(clean.pkts));  // the output timeline is continuous
  }
  SECTION("a forward jump of 30 s without indicator") {
    auto t = ts;
    shift_timestamps(t, mid, 30 * 90000);
    auto r = demux(t);
    CHECK(r.stats.discontinuities == 1);
    CHECK(flat(r.pkts) == flat(clean.pkts));
  }
  SECTION("a jump that wraps the 33-bit clock") {
    auto t = ts;
    shift_timestamps(t, 0, (int64_t(1) << 33) - 200000);
    shift_timestamps(t, mid, 20 * 90000);  // lands past the wrap
    auto r = demux(t);
    CHECK(r.stats.discontinuities == 1);
    CHECK(flat(r.pkts) == flat(clean.pkts));
  }
  SECTION("a backward step without indicator below the threshold is clamped, not rebased") {
    auto t = ts;
    shift_timestamps(t, mid, -2 * 90000);
    auto r = demux(t);
    CHECK(r.stats.discontinuities == 0);
    CHECK(r.stats.es.ts_clamped > 0);
    check_decode_order(r.pkts);
  }
}

TEST_CASE("TsDemuxer: missing PTS is derived from the previous PES", "[ts]") {
  // Mux a clean stream, then clear the PTS flags of one video PES and one
  // audio PES (the header keeps its length, so the payload stays in place).
  auto ts = load("ts_h264_aac.ts");
  auto clean = demux(ts);
  auto t = ts;
  auto v = find_packets(t, kTsPidVideo, true);
  auto a = find_packets(t, kTsPidAudio, true);
  uint8_t* pv = pkt(t, v[30]);
  pv[payload_pos(pv) + 7] &= 0x3F;
  uint8_t* pa = pkt(t, a[a.size() / 2]);
  pa[payload_pos(pa) + 7] &= 0x3F;
  auto r = demux(t);
  CHECK(r.stats.pts_missing == 2);
  CHECK(frames(r.pkts, true).size() == 50);
  CHECK(frames(r.pkts, false).size() == 88);
  // The audio PES continues exactly where the one before ended.
  auto fa = flat_track(r.pkts, false);
  auto ca = flat_track(clean.pkts, false);
  REQUIRE(fa.size() == ca.size());
  for (size_t i = 0; i < fa.size(); ++i) CHECK(std::abs(fa[i].dts - ca[i].dts) <= 1);
  check_decode_order(r.pkts);
}

TEST_CASE("TsDemuxer survives random damage", "[ts]") {
  auto ts = load("ts_h264_aac.ts");
  std::mt19937 rng(99);
  for (int round = 0; round < 30; ++round) {
    auto t = ts;
    int flips = 1 + int(rng() % 40);
    for (int i = 0; i < flips; ++i) t[rng() % t.size()] ^= uint8_t(1 + rng() % 255);
    if (round % 3 == 0) t.resize(rng() % t.size());  // truncated
    auto r = demux(t, round % 2 ? Split::kRandom : Split::kWhole);
    check_decode_order(r.pkts);
    if (t.size() > ts.size() / 2) CHECK(!r.pkts.empty());
  }
}

TEST_CASE("TsDemuxer -> TsMuxer -> ffmpeg: clean and exact", "[ts][ffmpeg]") {
  // Demux FFmpeg's TS, mux it again, and demux that: the same packets.
  for (const char* name : {"ts_h264_aac.ts", "ts_hevc_aac.ts", "ts_mp3.ts", "ts_opus.ts"}) {
    INFO(name);
    auto first = demux(load(name));
    TsMuxer m;
    core::ByteWriter out;
    for (const MediaPacket& p : first.pkts) REQUIRE(m.write_packet(out, p).is_ok());
    m.flush(out);
    auto again = demux(vec(out.view()));
    CHECK(again.stats.cc_errors == 0);
    CHECK(again.stats.es.es_errors == 0);
    CHECK(frames(again.pkts, true).size() == frames(first.pkts, true).size());
    CHECK(frames(again.pkts, false).size() == frames(first.pkts, false).size());
    // Video AUs differ only in the parameter sets the muxer adds to keyframes;
    // timestamps survive exactly (video) or within 1 ms (audio batches).
    auto va = frames(first.pkts, true), vb = frames(again.pkts, true);
    for (size_t i = 0; i < std::min(va.size(), vb.size()); ++i) {
      CHECK(va[i]->dts == vb[i]->dts);
      CHECK(va[i]->pts == vb[i]->pts);
      if (!va[i]->is_keyframe()) CHECK(vec(va[i]->body.view()) == vec(vb[i]->body.view()));
    }
    auto aa = frames(first.pkts, false), ab = frames(again.pkts, false);
    for (size_t i = 0; i < std::min(aa.size(), ab.size()); ++i) {
      CHECK(std::abs(aa[i]->dts - ab[i]->dts) <= 1);
      CHECK(vec(aa[i]->payload()) == vec(ab[i]->payload()));
    }
  }
}
