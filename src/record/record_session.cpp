#include "record/record_session.h"

#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "origin/stream_hub.h"
#include "record/record_service.h"

namespace weir::record {

using origin::ConsumerOptions;
using origin::ConsumerPolicy;
using origin::ReadResult;
using origin::StartAt;

RecordSession* RecordSession::start(RecordService& service, const std::shared_ptr<origin::StreamHub>& hub,
                                    std::shared_ptr<AssetRecording> asset) {
  core::Loop* loop = core::Loop::current();
  auto* s = new RecordSession(service, *loop, std::move(asset));
  // From the newest keyframe: the recording starts with a decodable frame at
  // (about) the moment recording was asked for.
  if (!s->in_.attach(hub, ConsumerOptions{ConsumerPolicy::kLossless, StartAt::kLatestKeyframe, false})) {
    s->end("stream already ended", /*resume=*/true);
    return nullptr;
  }
  spdlog::info("record {}/{}: recording into asset {} ({})", s->asset_->app, s->asset_->stream, s->asset_->id,
               s->asset_->dir);
  s->on_packets();
  return s;
}

RecordSession::RecordSession(RecordService& service, core::Loop& loop, std::shared_ptr<AssetRecording> asset)
    : service_(service), loop_(loop), asset_(std::move(asset)) {
  asset_->session = this;
  if (asset_->writer) asset_->writer->rebind(loop_);
}

RecordSession::~RecordSession() {
  if (asset_ && asset_->session == this) asset_->session = nullptr;
}

void RecordSession::on_packets() {
  while (in_.attached() && !ended_) {
    batch_.clear();
    ReadResult r = in_.read(batch_, 1 << 20);
    if (r == ReadResult::kGap) {
      const origin::ConsumerGap& g = in_.gap();
      service_.note_gap(*asset_);
      spdlog::warn("record {}/{}: fell behind, {} packets lost ({}) between dts {} and {} ms: the asset has a gap",
                   asset_->app, asset_->stream, g.lost_packets, g.cause, g.last_dts, g.resume_dts);
      continue;
    }
    if (r != ReadResult::kOk) break;
    for (const origin::PacketRef& p : batch_) {
      process(*p);
      if (ended_) break;
    }
  }
  batch_.clear();
}

void RecordSession::process(const origin::HubPacket& hp) {
  const core::MediaPacket& in = hp.media();
  if (in.is_data() || !mux_ok_) return;
  if (!offset_set_) {
    // A resumed asset continues after its pause, kept as time: from the
    // arrival of the last packet recorded to this one's (arrival times, not
    // the loop's clock now, which a loaded machine would make late).
    if (asset_->media_end_ms >= 0)
      asset_start_ms_ = asset_->media_end_ms + std::max<int64_t>(0, hp.arrival_ms() - asset_->last_wall_ms);
    // The first packet (a config at the start point) maps to the asset's start.
    offset_ms_ = asset_start_ms_ - in.dts;
    offset_set_ = true;
  }
  core::MediaPacket m = in;
  m.dts = std::max<int64_t>(0, in.dts + offset_ms_);
  m.pts = std::max<int64_t>(m.dts, in.pts + offset_ms_);
  if (m.is_video()) has_video_ = true;
  last_arrival_ms_ = std::max(last_arrival_ms_, hp.arrival_ms());

  const bool video_key = m.is_video() && m.is_keyframe() && !m.is_config();
  const int64_t max_ms = asset_->config.max_asset_s * 1000;
  if (video_key && max_ms > 0 && seg_open_ && m.dts - asset_start_ms_ >= max_ms) {
    // The asset is long enough: close it here and go on in a new one.
    mux_.end_held_samples(m.dts);
    switch_asset();
    if (ended_) return;
    offset_ms_ = asset_start_ms_ - in.dts;
    m.dts = std::max<int64_t>(0, in.dts + offset_ms_);
    m.pts = std::max<int64_t>(m.dts, in.pts + offset_ms_);
  }
  add(m);
}

void RecordSession::add(const core::MediaPacket& m) {
  auto r = mux_.add_packet(m);
  if (!r) {
    // A packet the muxer cannot take (an oversized sample, a broken config)
    // is left out; the recording goes on.
    spdlog::warn("record {}/{}: packet at {} ms left out: {}", asset_->app, asset_->stream, m.dts, r.error());
    return;
  }
  if (*r == protocol::Fmp4AddResult::kConfigChanged) {
    // The samples before the change end the old segment; a new one (new
    // init) starts with the next keyframe. A media packet that brought the
    // change (VP9 key frame, MP3 parameters) was queued after it.
    if (seg_open_) close_segment(nullptr);
    if (m.is_config()) return;
  } else if (*r != protocol::Fmp4AddResult::kQueued) {
    return;
  }
  if (!m.is_config()) last_ms_ = std::max(last_ms_, m.dts);
  const bool video_key = m.is_video() && m.is_keyframe();
  const bool segment_due = seg_open_ && (video_key || !has_video_) &&
                           m.dts - seg_start_ms_ >= asset_->config.segment_s * 1000;
  if (video_key || segment_due) {
    // Everything before this keyframe is complete: it ends the fragment.
    cut_fragment();
    if (segment_due) close_segment(nullptr);
  } else if (mux_.ready_duration_ms() >= double(asset_->config.fragment_ms)) {
    cut_fragment();
  }
  if (!seg_open_ && !asset_->writer->failed()) {
    seg_start_ms_ = m.dts;
    open_segment();
  }
}

void RecordSession::open_segment() {
  if (mux_.tracks().empty()) return;  // no track configured yet: wait for the configs
  seg_open_ = true;
  seg_file_open_ = false;
}

bool RecordSession::open_segment_file() {
  // Samples from before a change (it came before this segment's first
  // fragment) go with the init taken before it.
  if (!mux_.has_old_config_samples()) {
    auto init = mux_.init_segment();
    if (!init) return false;
    last_init_ = *init;
  }
  if (last_init_.empty()) return false;
  const uint32_t n = asset_->next_segment++;
  std::string name = asset_->segment_name(n);
  asset_->segments.push_back(name);
  asset_->writer->open_segment(asset_->dir + "/" + name, last_init_);
  seg_file_open_ = true;
  return true;
}

void RecordSession::cut_fragment() {
  if (!seg_open_) return;
  if (!mux_.has_ready_samples()) return;
  if (!seg_file_open_ && !open_segment_file()) return;
  protocol::Fmp4Fragment f = mux_.flush_fragment(fragment_seq_);
  if (f.empty()) return;
  ++fragment_seq_;
  asset_->writer->append(std::move(f.data));
  asset_->media_end_ms = std::max<int64_t>(asset_->media_end_ms, int64_t(double(f.first_dts_ms) + f.duration_ms));
  if (last_arrival_ms_ > 0) asset_->last_wall_ms = last_arrival_ms_;
}

void RecordSession::close_segment(std::function<void(bool)> then) {
  if (seg_open_) {
    cut_fragment();  // after a config change: only the old config's samples
    seg_open_ = false;
    seg_file_open_ = false;
  }
  asset_->media_end_ms = std::max(asset_->media_end_ms, last_ms_);
  if (last_arrival_ms_ > 0) asset_->last_wall_ms = last_arrival_ms_;
  asset_->writer->close_segment(std::move(then));
}

void RecordSession::switch_asset() {
  close_segment(nullptr);
  auto old = asset_;
  auto next = service_.continue_in_new_asset(old, loop_);
  asset_ = std::move(next);
  if (old->session == this) old->session = nullptr;
  if (!asset_) {
    ended_ = true;
    in_.release();
    loop_.post([this] { delete this; });
    return;
  }
  asset_->session = this;
  asset_start_ms_ = 0;
  mux_.reset();
  last_init_ = core::Slice();
  mux_ok_ = true;
  fragment_seq_ = 1;
  last_ms_ = -1;
  has_video_ = false;
}

void RecordSession::on_stream_end(const std::string& why) { end("stream ended: " + why, /*resume=*/true); }

void RecordSession::stop(const std::string& why) { end(why, /*resume=*/false); }

void RecordSession::on_write_failed(const std::string& why) {
  if (ended_) return;
  ended_ = true;
  in_.release();
  spdlog::error("record {}/{}: asset {} failed: {} (the live stream goes on)", asset_->app, asset_->stream,
                asset_->id, why);
  auto asset = asset_;
  if (asset->session == this) asset->session = nullptr;
  service_.asset_failed(asset, why);
  // The writer is in the middle of a call: free this session afterwards.
  loop_.post([this] { delete this; });
}

void RecordSession::end(const std::string& why, bool resume) {
  if (ended_) return;
  ended_ = true;
  in_.release();
  mux_.end_held_samples();
  if (const uint64_t bad = mux_.stats().samples_malformed; bad > 0)
    spdlog::warn("record {}/{}: {} packets left out: not whole frames of their codec", asset_->app, asset_->stream, bad);
  auto asset = asset_;
  RecordService* service = &service_;
  if (asset->session == this) asset->session = nullptr;
  if (asset->writer && !asset->writer->failed()) {
    core::Loop* loop = &loop_;
    close_segment([service, asset, resume, why, loop](bool ok) {
      service->session_ended(asset, resume && ok, why, *loop);
    });
  } else {
    service->session_ended(asset, false, why, loop_);
  }
  delete this;
}

}  // namespace weir::record
