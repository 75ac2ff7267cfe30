// fMP4 muxer timing and codec-config handling: drift over long runs, held
// samples, the audio frame grid, dts repair, init changes. Fixtures and helpers:
// fmp4_muxer_test.cpp and fmp4_test_support.h.
#include "fmp4_test_support.h"

using namespace weir::fmp4_test;

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
    const std::string whole = write_whole(out, dir);
    CHECK(ffmpeg_warnings(whole) == "");
    auto st = ffprobe_streams(whole);
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

TEST_CASE("fmp4 config change after everything was flushed: the new samples are cut into parts at once", "[fmp4]") {
  // A change of publisher: the packager flushed the old publisher's samples,
  // then the new publisher's (different) config arrives. Nothing is queued,
  // so nothing must be held apart: parts of the new stream are cut as usual.
  // (A barrier at 0 once held every new sample back until the next keyframe:
  // one 2 s "part" and a segment without parts.)
  auto h264 = flv_packets("h264_aac.flv");
  auto hevc = only(mp4_packets("hevc_aac_frag.mp4"), core::TrackType::kVideo);
  Fmp4Muxer mux;
  uint32_t seq = 1;
  for (const auto& p : h264) {
    if (!p.is_video() || p.dts >= 1000) continue;
    REQUIRE(mux.add_packet(p).is_ok());
  }
  mux.end_held_samples();
  REQUIRE(!mux.flush_fragment(seq++).empty());
  REQUIRE(mux.init_segment().is_ok());
  CHECK_FALSE(mux.has_ready_samples());
  bool changed = false;
  double ready_after_change = 0;
  int frames_after = 0;
  for (auto p : hevc) {
    p.dts += 1000;
    p.pts += 1000;
    auto r = mux.add_packet(p);
    REQUIRE(r.is_ok());
    if (*r == Fmp4AddResult::kConfigChanged) changed = true;
    if (changed && !p.is_config() && ++frames_after == 6) ready_after_change = mux.ready_duration_ms();
  }
  CHECK(changed);
  CHECK(ready_after_change > 150);  // five frames ready (the sixth is held), not 0
  Fmp4Fragment f = mux.flush_fragment(seq++);
  REQUIRE(!f.empty());
  CHECK(f.independent);
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
