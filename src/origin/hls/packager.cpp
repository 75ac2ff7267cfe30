#include "core/clock.h"
#include "origin/hls/packager.h"


#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>

#include "origin/hls/timeshift_disk.h"
#include "origin/loop_hub.h"
#include "origin/origin.h"
#include "origin/stream_hub.h"
#include "protocol/hls_aes.h"

namespace weir::origin::hls {

namespace {
constexpr uint64_t kMaintainMs = 1000;


protocol::TsMuxerOptions ts_options() {
  protocol::TsMuxerOptions o;
  o.audio_frames_per_pes = 4;  // fewer, larger audio PES: less overhead for HLS players
  return o;
}
}  // namespace

HlsPackager* HlsPackager::start(Origin& origin, const std::shared_ptr<StreamHub>& hub, std::shared_ptr<StreamHls> store,
                                std::function<void()> on_done) {
  auto* p = new HlsPackager(origin, std::move(store), std::move(on_done));
  p->loop_ = core::Loop::current() ? core::Loop::current() : &origin.loops().at(0);
  p->loop_->track(p);
  // Lossless from the oldest keyframe of the GOP cache: the first playlist is
  // answered at once with the cached seconds in it, and being behind (the
  // backfill of a 25 Mbit/s ring is ~30 MB) never closes the packager.
  if (!p->in_.attach(hub, ConsumerOptions{ConsumerPolicy::kLossless, StartAt::kOldestKeyframe, false})) {
    p->stop("stream ended");
    return nullptr;
  }
  const core::AppConfig& app = hub->app_config();
  if (app.timeshift.enabled) {
    std::string dir = app.timeshift.dir + "/" + hub->app() + "/" + hub->name() + "-" +
                      std::to_string(p->store_->msn_base());
    p->disk_ = std::make_shared<TimeshiftDisk>(core::Loop::current() ? *core::Loop::current() : origin.loops().at(0),
                                               p->store_, std::move(dir));
  }
  p->timer_.start(kMaintainMs, [p] { p->maintain(); }, kMaintainMs);
  spdlog::info("hls {}/{}: packaging started (first msn {})", hub->app(), hub->name(), p->next_msn_);
  p->on_packets();
  return p;
}

HlsPackager::HlsPackager(Origin& origin, std::shared_ptr<StreamHls> store, std::function<void()> on_done)
    : origin_(origin),
      store_(std::move(store)),
      on_done_(std::move(on_done)),
      timer_(core::Loop::current() ? *core::Loop::current() : origin.loops().at(0)),
      ts_(ts_options()),
      ts_buf_(256 * 1024),
      next_msn_(store_->msn_base()),
      init_id_(store_->msn_base()) {}

HlsPackager::~HlsPackager() = default;

void HlsPackager::stop(const std::string& why) {
  if (stopping_) return;
  stopping_ = true;
  if (loop_) loop_->untrack(this);
  timer_.stop();
  in_.release();
  store_->set_ended();
  if (disk_) {
    disk_->remove_all();  // in-flight I/O keeps it alive past this packager
    disk_.reset();
  }
  spdlog::info("hls {}/{}: packaging stopped: {}", store_->app(), store_->name(), why);
  auto done = std::move(on_done_);
  delete this;
  if (done) done();
}

void HlsPackager::on_packets() {
  while (in_.attached() && !stopping_) {
    batch_.clear();
    ReadResult r = in_.read(batch_, 1 << 20);
    if (r == ReadResult::kGap) {
      on_gap(in_.gap());
      continue;
    }
    if (r != ReadResult::kOk) break;
    for (const PacketRef& p : batch_) process(*p);
  }
  batch_.clear();
}

int64_t HlsPackager::media_end_dts() const {
  if (has_video_ && last_video_dts_ >= 0) return last_video_dts_ + int64_t(std::lround(frame_ms_));
  if (last_audio_dts_ >= 0) return last_audio_dts_ + int64_t(std::lround(audio_frame_ms_));
  return last_dts_;
}

void HlsPackager::on_gap(const ConsumerGap& gap) {
  // The packets after the cursor are gone: what was packaged so far ends the
  // open segment, the next one starts at the resume keyframe after a
  // discontinuity (RFC 8216 4.3.2.3), with the program date-time re-anchored.
  if (seg_open_) {
    if (fmp4_ok_) fmp4_.end_held_samples();
    cut_part();
    finish_segment(media_end_dts());
  }
  pending_discontinuity_ = true;
  anchored_ = false;
  spdlog::warn("hls {}/{}: lost {} packets ({}) between dts {} and {} ms; the next segment starts after a "
               "discontinuity",
               store_->app(), store_->name(), gap.lost_packets, gap.cause, gap.last_dts, gap.resume_dts);
}

void HlsPackager::on_stream_end(const std::string& why) {
  if (seg_open_) {
    if (fmp4_ok_) fmp4_.end_held_samples();
    cut_part();
    finish_segment(media_end_dts());
  }
  stop("stream ended: " + why);
}

void HlsPackager::process(const HubPacket& hp) {
  const core::MediaPacket& m = hp.media();
  // The mark may sit on any packet (ffmpeg and OBS send onMetaData first).
  if (m.flags & core::packet_flags::kDiscontinuity) {
    if (seg_open_) {
      // The old publisher's last frame is held by the fMP4 muxer until a
      // duration is known: it keeps the frame interval (the new publisher's
      // first timestamp says nothing about it), and the segment ends with it.
      if (fmp4_ok_) fmp4_.end_held_samples();
      cut_part();
      finish_segment(media_end_dts());
    }
    pending_discontinuity_ = true;
    anchored_ = false;
  }
  if (m.is_data()) return;
  if (m.is_config()) return on_config(m);
  if (m.payload().empty()) return;  // end-of-sequence and other tags without media
  if (!anchored_) {
    anchored_ = true;
    anchor_wall_ = hp.arrival_ms();
    anchor_dts_ = m.dts;
  }
  on_media(m);
}

void HlsPackager::on_config(const core::MediaPacket& m) {
  core::Slice& current = m.is_video() ? video_config_ : audio_config_;
  const core::ByteView payload = m.payload();
  const bool changed = !current.empty() && (current.size() != payload.size() ||
                                            !std::equal(current.view().begin(), current.view().end(), payload.begin()));
  if (m.is_video()) {
    has_video_ = true;
    video_codec_ = m.codec;
  } else {
    audio_codec_ = m.codec;
  }
  current = m.body.sub(m.payload_offset);
  // fMP4 first: on a change it completes the held sample at this dts and
  // keeps the old-config samples apart for one last fragment.
  bool new_config = changed;
  if (fmp4_ok_) {
    auto r = fmp4_.add_packet(m);
    if (!r) {
      spdlog::warn("hls {}/{}: no fMP4 output: {}", store_->app(), store_->name(), r.error());
      fmp4_ok_ = false;
    } else if (*r == protocol::Fmp4AddResult::kConfigChanged) {
      new_config = true;  // also a track appearing after output started
    }
  }
  // The open segment ends here; the next starts with a new init segment
  // (and new PAT/PMT) after a discontinuity.
  if (new_config) end_init(m.dts);
  if (ts_ok_) {
    core::Status st = m.is_video() ? ts_.set_video(m.codec, current.view()) : ts_.set_audio(m.codec, current.view());
    if (!st) {
      spdlog::warn("hls {}/{}: no MPEG-TS output: {}", store_->app(), store_->name(), st.message());
      ts_ok_ = false;
    }
  }
}

bool HlsPackager::mux_fmp4(const core::MediaPacket& m) {
  if (!fmp4_ok_) return false;
  auto r = fmp4_.add_packet(m);
  if (!r) {
    spdlog::warn("hls {}/{}: fMP4 output stopped: {}", store_->app(), store_->name(), r.error());
    fmp4_ok_ = false;
    return false;
  }
  return *r == protocol::Fmp4AddResult::kConfigChanged;
}

void HlsPackager::end_init(int64_t dts) {
  if (seg_open_) {
    cut_part();
    finish_segment(dts);
    pending_discontinuity_ = true;
  }
  // Named after the first segment that can use it, and above every earlier
  // id: an init URL never names two different inits, even across stores.
  init_id_ = std::max(next_msn_, init_id_ + 1);
  init_published_ = false;
}

void HlsPackager::mux_ts(const core::MediaPacket& m) {
  if (!ts_ok_) return;
  if (auto st = ts_.write_packet(ts_buf_, m); !st) {
    spdlog::warn("hls {}/{}: MPEG-TS output stopped: {}", store_->app(), store_->name(), st.message());
    ts_ok_ = false;
  }
}

void HlsPackager::on_media(const core::MediaPacket& m) {
  const bool video = m.is_video();
  if (video && last_video_dts_ >= 0 && m.dts > last_video_dts_) {
    // Mean frame interval, for cutting parts on the frame grid. FLV's ms
    // timestamps make 30 fps 33/34/33 ms: a mean (not the largest interval)
    // lets a 400 ms part hold its 12 frames.
    double d = double(m.dts - last_video_dts_);
    frame_ms_ = frame_ms_seen_ ? frame_ms_ + 0.1 * (d - frame_ms_) : d;
    frame_ms_ = std::clamp(frame_ms_, 10.0, double(store_->config().hls.part_ms) / 2);
    frame_ms_seen_ = true;
  }
  if (video) last_video_dts_ = m.dts;
  if (!video && last_audio_dts_ >= 0 && m.dts > last_audio_dts_) audio_frame_ms_ = double(m.dts - last_audio_dts_);
  if (!video) last_audio_dts_ = m.dts;
  const bool sync = video ? m.is_keyframe() : !has_video_;
  // Video segments end at the first keyframe past the target. Audio-only ones
  // end before the frame that would take them past it, so EXTINF stays within
  // EXT-X-TARGETDURATION however the frame length divides the target.
  const int64_t age = m.dts - seg_first_dts_;
  const bool due = video ? age >= store_->config().hls.segment_ms
                         : double(age) + audio_frame_ms_ > double(store_->config().hls.segment_ms) + 0.5;
  // A media packet can change the fMP4 configuration (a VP9 key frame with a
  // new size, MP3 frames with new parameters or a late first MP3 frame): the
  // muxer queued it after the change, and the segment in progress ends
  // before it.
  if (!seg_open_) {
    if (!sync) return;  // segments start at a keyframe
    if (mux_fmp4(m)) end_init(m.dts);
    begin_segment(m);
  } else if (sync && due) {
    // Cut. The fMP4 muxer takes the keyframe first so the previous sample gets
    // its duration; the fragment flushed now ends just before the keyframe,
    // which opens the next segment.
    const bool changed = mux_fmp4(m);
    cut_part();
    finish_segment(m.dts);
    if (changed) end_init(m.dts);
    begin_segment(m);
    mux_ts(m);
    last_dts_ = m.dts;
    return;
  } else if (mux_fmp4(m)) {
    end_init(m.dts);
    if (!sync) return;  // the next segment starts at the next keyframe
    begin_segment(m);
  }
  // A keyframe inside a segment starts a new, independent part, unless the
  // part so far is short: RFC 8216bis 4.4.4.9 wants parts of at least 85% of
  // the part target, except independent ones and a segment's last.
  if (video && m.is_keyframe() && fmp4_ok_ &&
      fmp4_.ready_duration_ms() >= 0.85 * double(store_->config().hls.part_ms))
    cut_part();
  mux_ts(m);
  last_dts_ = std::max(last_dts_, m.dts);
  // Cut a part once the next frame would take it past the part target (also
  // without LL-HLS: fragments then just make up the segment, and the fMP4
  // muxer's pending queue stays small whatever the GOP length). The 1 ms of
  // slack absorbs ms rounding at 30 and 60 fps, where whole parts of 400 ms
  // exist; at 29.97 fps a part can end up 1 ms over the target.
  if (fmp4_ok_ && fmp4_.ready_duration_ms() + frame_ms_ > double(store_->config().hls.part_ms) + 1.0)
    cut_part();
}

void HlsPackager::publish_init() {
  if (init_published_ || !fmp4_ok_) return;
  // Samples from before a change (it came before this init's first part) go
  // with the init taken before it.
  if (!fmp4_.has_old_config_samples()) {
    auto init = fmp4_.init_segment();
    if (!init) {
      spdlog::warn("hls {}/{}: no fMP4 init segment: {}", store_->app(), store_->name(), init.error());
      fmp4_ok_ = false;
      return;
    }
    last_init_ = *init;
    last_codecs_ = fmp4_.codecs();
  }
  if (last_init_.empty()) return;
  store_->set_init(init_id_, last_init_, last_codecs_);
  init_published_ = true;
}

void HlsPackager::begin_segment(const core::MediaPacket& m) {
  seg_open_ = true;
  seg_first_dts_ = m.dts;
  seg_parts_.clear();
  int64_t pdt = anchor_wall_ + (m.dts - anchor_dts_);
  store_->begin_segment(next_msn_, m.dts, pdt, pending_discontinuity_, init_id_);
  pending_discontinuity_ = false;
  ts_buf_.clear();
  if (ts_ok_) ts_.write_tables(ts_buf_);
}

void HlsPackager::cut_part() {
  if (!fmp4_ok_ || !seg_open_ || !fmp4_.has_ready_samples()) return;
  // The init is made when its first part is: a track whose config comes
  // in-band (MP3's first frame, just after the first video keyframe) joins it.
  publish_init();
  if (!fmp4_ok_ || !init_published_) return;
  protocol::Fmp4Fragment f = fmp4_.flush_fragment(fragment_seq_);
  if (f.empty()) return;
  ++fragment_seq_;
  last_part_ms_ = f.duration_ms;
  seg_parts_.push_back(f.data);
  store_->add_part(Part{std::move(f.data), f.duration_ms, f.independent});
}

void HlsPackager::finish_segment(int64_t end_dts) {
  if (!seg_open_) return;
  seg_open_ = false;
  const auto& hls = store_->config().hls;
  if (hls.ll && has_video_ && seg_parts_.size() > 1 && last_part_ms_ < 0.5 * double(hls.part_ms) && !short_part_logged_) {
    short_part_logged_ = true;
    spdlog::warn("hls {}/{}: segment {} ends with a {:.0f} ms part (part_ms {}, about {:.1f} ms per frame); players "
                 "such as hls.js can stall on such slivers: use a part_ms that is a whole number of frames and "
                 "divides the GOP (logged once per stream)",
                 store_->app(), store_->name(), next_msn_, last_part_ms_, hls.part_ms, frame_ms_);
  }
  core::Slice ts;
  uint64_t key_id = 0;
  if (ts_ok_) {
    ts_.flush(ts_buf_);
    ts = ts_buf_.finish();
    if (store_->config().hls.encryption == "aes-128") {
      auto sealed = encrypt(next_msn_, ts, key_id);
      if (!sealed) {
        // Never serve in the clear what the playlist says is encrypted.
        spdlog::error("hls {}/{}: MPEG-TS output stopped: {}", store_->app(), store_->name(), sealed.error());
        ts_ok_ = false;
        ts = core::Slice();
      } else {
        ts = std::move(*sealed);
      }
    }
    // Live-edge segments are fetched by every viewer: a memfd lets the HTTP
    // connections sendfile() them (StreamHls moves them to the heap later).
    if (!ts.empty()) ts = core::Slice(core::Buffer::memfd_copy_of(ts.view()));
  }
  // The fMP4 segment is its parts joined (one copy, once), in a memfd too.
  std::vector<core::ByteView> pieces;
  pieces.reserve(seg_parts_.size());
  for (const auto& part : seg_parts_) pieces.push_back(part.view());
  core::Slice fmp4 = pieces.empty() ? core::Slice() : core::Slice(core::Buffer::memfd_join(pieces));
  seg_parts_.clear();
  double duration = double(std::max<int64_t>(end_dts - seg_first_dts_, 1));
  store_->complete_segment(duration, std::move(ts), std::move(fmp4), key_id);
  ++next_msn_;
  if (disk_) disk_->pump();
}

core::Result<core::Slice> HlsPackager::encrypt(uint64_t msn, const core::Slice& clear, uint64_t& key_id) {
  const uint64_t rotation = uint64_t(store_->config().hls.key_rotation_segments);
  // Named after the first segment it encrypts (above every msn an earlier
  // store used), so a key URL never names two different keys.
  const uint64_t base = store_->msn_base();
  uint64_t id = base + (msn - base) / rotation * rotation;
  if (id != key_id_) {
    auto key = protocol::make_hls_aes_key();
    if (!key) return key.status();
    key_ = *key;
    key_id_ = id;
    store_->set_key(id, key_);
  }
  key_id = id;
  return protocol::hls_aes_encrypt(key_, msn, clear.view());
}

void HlsPackager::maintain() {
  if (disk_) disk_->pump();
  const core::AppConfig& cfg = store_->config();
  if (!cfg.timeshift.enabled && core::wall_clock_ms() - store_->last_request_ms() > cfg.hls.idle_timeout_ms)
    stop("no HLS request for " + std::to_string(cfg.hls.idle_timeout_ms) + " ms");
}

}  // namespace weir::origin::hls
