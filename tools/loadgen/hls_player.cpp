#include "loadgen/hls_player.h"

#include <algorithm>

#include "loadgen/runner.h"
#include "loadgen/parsers.h"
#include "protocol/codec_config.h"
#include "protocol/mp4_box.h"

namespace weir::loadgen {

using core::Status;

namespace {
constexpr size_t kMaxPartBytes = 16u << 20;
constexpr size_t kMaxInitBytes = 1u << 20;
constexpr uint64_t kRetryMs = 500;
constexpr size_t kInitialSegments = 3;
constexpr size_t kInitialParts = 3;
}  // namespace

HlsPlayer::HlsPlayer(Runner& runner, PlayerStats& stats, bool low_latency)
    : Player(runner, stats), low_latency_(low_latency), base_(runner.options().url) {
  playlist_target_ = base_.target();
}

HlsPlayer::~HlsPlayer() = default;

void HlsPlayer::open() {
  timer_ = std::make_unique<core::Timer>(runner_.loop());
  client::HttpClientOptions o;
  // A blocking playlist reload is held by the server; nothing here times out
  // (a player that gets nothing counts stalls).
  o.head_timeout_ms = 0;
  o.idle_timeout_ms = 0;
  o.user_agent = "weir-loadgen";
  http_ = std::make_unique<client::HttpClient>(runner_.loop(), o);
  request(Fetch::kPlaylist, playlist_target_);
}

void HlsPlayer::shutdown() {
  timer_.reset();
  Player::shutdown();
}

// Requests --------------------------------------------------------------------------

void HlsPlayer::request(Fetch what, std::string target) {
  fetch_ = what;
  fetch_target_ = std::move(target);
  retried_ = false;
  send_request();
}

void HlsPlayer::send_request() {
  if (ending_ || fetch_ == Fetch::kNone || !http_) return;
  status_ = 0;
  body_.clear();
  body_too_big_ = false;
  client::HttpRequest req;
  req.url = base_.scheme + "://" + base_.authority() + fetch_target_;
  req.headers = {{"Accept", "*/*"}};
  if (core::Status st = http_->send(std::move(req), *this); !st) fail(st.message());
}

void HlsPlayer::on_head(const HttpResponseHead& head) { status_ = head.status; }

void HlsPlayer::on_body(core::ByteView bytes) {
  if (fetch_ == Fetch::kSegment) {
    if (status_ != 200) return;
    Status st = ts_.feed(bytes, [this](const TsFrame& f) { on_ts_frame(f); });
    if (!st) fail(st.message());
    return;
  }
  size_t cap = fetch_ == Fetch::kPlaylist ? kMaxPlaylistBytes : fetch_ == Fetch::kInit ? kMaxInitBytes : kMaxPartBytes;
  if (body_.size() + bytes.size() > cap) {
    body_too_big_ = true;
    return;
  }
  body_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void HlsPlayer::on_complete(const core::Status& st) {
  st_.reconnects = uint32_t(http_->stats().connections > 0 ? http_->stats().connections - 1 : 0);
  if (ending_ || fetch_ == Fetch::kNone) return;
  if (!st) {
    if (retried_) return fail(st.message());
    retried_ = true;
    return send_request();
  }
  after_response();
}

void HlsPlayer::after_response() {
  Fetch what = fetch_;
  Item item = fetch_item_;
  fetch_ = Fetch::kNone;
  int status = status_;
  if (body_too_big_) return fail("response body over the cap");
  switch (what) {
    case Fetch::kPlaylist: {
      if (status != 200) {
        last_error_ = "playlist answered " + std::to_string(status);
        if (have_playlist_) ++st_.skips;
        return schedule(kRetryMs);
      }
      auto pl = parse_m3u8(body_);
      if (!pl) return fail("playlist: " + pl.error());
      return on_playlist(*pl);
    }
    case Fetch::kInit:
      if (status != 200) return fail("init segment answered " + std::to_string(status));
      return on_init(core::as_bytes(body_));
    case Fetch::kSegment:
      if (status == 200) {
        ts_.end_segment([this](const TsFrame& f) { on_ts_frame(f); });
        media_added(item.duration, now_us_);
      } else {
        ++st_.skips;
      }
      next_msn_ = item.msn + 1;
      return next_step();
    case Fetch::kPart:
      if (status == 200) {
        on_part(core::as_bytes(body_));
        if (ending_) return;
        media_added(item.duration, now_us_);
      } else {
        ++st_.skips;
      }
      last_msn_ = item.msn;
      last_part_ = item.part;
      if (item.closes_segment) {
        last_msn_ = item.msn + 1;
        last_part_ = -1;
      }
      return next_step();
    case Fetch::kNone:
      return;
  }
}

void HlsPlayer::schedule(uint64_t ms) {
  if (!timer_ || ending_) return;
  timer_->start(ms, [this] {
    if (fetch_ != Fetch::kNone) {
      poll_due_ = true;
      return;
    }
    poll_due_ = false;
    reload_playlist(low_latency_ && have_playlist_);
  });
}

void HlsPlayer::reload_playlist(bool blocking) {
  std::string target = playlist_target_;
  if (blocking && last_msn_ >= 0) {
    target += (target.find('?') == std::string::npos ? "?" : "&");
    target += "_HLS_msn=" + std::to_string(last_msn_) + "&_HLS_part=" + std::to_string(last_part_ + 1);
  }
  request(Fetch::kPlaylist, std::move(target));
}

void HlsPlayer::next_step() {
  if (ending_ || fetch_ != Fetch::kNone) return;
  if (!queue_.empty()) {
    fetch_item_ = queue_.front();
    queue_.pop_front();
    return request(fetch_item_.part < 0 ? Fetch::kSegment : Fetch::kPart, fetch_item_.target);
  }
  if (low_latency_) {
    if (have_playlist_) reload_playlist(true);
    return;
  }
  if (poll_due_) {
    poll_due_ = false;
    reload_playlist(false);
  }
}

// Playlists ----------------------------------------------------------------------

void HlsPlayer::on_playlist(const HlsPlaylist& pl) {
  if (pl.master) {
    auto t = resolve_target(base_, pl.variants.front());
    if (!t) return fail(t.error());
    auto u = parse_url(base_.scheme + "://" + base_.authority() + *t);
    if (!u) return fail(u.error());
    base_ = *u;
    playlist_target_ = *t;
    return reload_playlist(false);
  }
  if (pl.target_duration > 0) target_duration_ = pl.target_duration;
  if (low_latency_) on_llhls_playlist(pl);
  else on_hls_playlist(pl);
}

void HlsPlayer::on_hls_playlist(const HlsPlaylist& pl) {
  if (!have_playlist_) {
    if (pl.segments.empty()) return schedule(kRetryMs);
    have_playlist_ = true;
    mark_connected();
    next_msn_ = std::max(pl.media_sequence, pl.next_msn() - int64_t(kInitialSegments));
    initial_items_ = size_t(pl.next_msn() - next_msn_);
    uint64_t poll = uint64_t(std::max(100.0, target_duration_ * 500.0));
    timer_->start(poll, [this] {
      if (fetch_ != Fetch::kNone) {
        poll_due_ = true;
        return;
      }
      poll_due_ = false;
      reload_playlist(false);
    }, poll);
  }
  if (next_msn_ < pl.media_sequence) {
    st_.skips += uint32_t(pl.media_sequence - next_msn_);
    next_msn_ = pl.media_sequence;
  }
  queue_.clear();
  for (const auto& seg : pl.segments) {
    if (seg.msn < next_msn_) continue;
    auto t = resolve_target(base_, seg.uri);
    if (!t) return fail(t.error());
    queue_.push_back(Item{seg.msn, -1, seg.duration, *t});
  }
  next_step();
}

void HlsPlayer::on_llhls_playlist(const HlsPlaylist& pl) {
  if (pl.part_target > 0) part_target_ = pl.part_target;
  if (!init_) {
    if (pl.map_uri.empty()) return fail("LL-HLS playlist without EXT-X-MAP");
    auto t = resolve_target(base_, pl.map_uri);
    if (!t) return fail(t.error());
    return request(Fetch::kInit, *t);
  }
  std::vector<HlsPart> parts = pl.all_parts();
  // Which listed parts end a completed segment.
  auto closes_segment = [&pl](const HlsPart& p) {
    for (const auto& s : pl.segments)
      if (s.msn == p.msn) return !s.parts.empty() && s.parts.back().index == p.index;
    return false;
  };
  size_t from = 0;
  if (!have_playlist_) {
    if (parts.empty()) {
      last_error_ = "no EXT-X-PART in the playlist yet";
      return schedule(kRetryMs);
    }
    size_t idx = parts.size() > kInitialParts ? parts.size() - kInitialParts : 0;
    while (idx > 0 && !parts[idx].independent) --idx;
    have_playlist_ = true;
    mark_connected();
    from = idx;
    initial_items_ = parts.size() - idx;
  } else {
    while (from < parts.size() &&
           (parts[from].msn < last_msn_ || (parts[from].msn == last_msn_ && parts[from].index <= last_part_)))
      ++from;
    if (from < parts.size()) {
      const HlsPart& p = parts[from];
      bool contiguous = (p.msn == last_msn_ && p.index == last_part_ + 1) || (p.msn == last_msn_ + 1 && p.index == 0);
      if (!contiguous) ++st_.skips;
    }
  }
  queue_.clear();
  for (size_t i = from; i < parts.size(); ++i) {
    auto t = resolve_target(base_, parts[i].uri);
    if (!t) return fail(t.error());
    queue_.push_back(Item{parts[i].msn, parts[i].index, parts[i].duration, *t, closes_segment(parts[i])});
  }
  if (queue_.empty()) {
    // The server answered without a new part (no blocking support?): back off.
    uint64_t ms = uint64_t(std::max(20.0, part_target_ * 500.0));
    return schedule(ms);
  }
  next_step();
}

void HlsPlayer::on_init(core::ByteView bytes) {
  init_bytes_.assign(bytes.begin(), bytes.end());
  auto init = protocol::parse_mp4_init(core::ByteView(init_bytes_.data(), init_bytes_.size()));
  if (!init) return fail("init segment: " + init.error());
  init_ = std::make_unique<protocol::Mp4Init>(std::move(*init));
  for (const auto& t : init_->tracks) {
    if (t.handler != protocol::box_type("vide")) continue;
    video_track_ = t.track_id;
    video_timescale_ = t.timescale ? t.timescale : 90000;
    if (t.config_type == protocol::box_type("avcC")) {
      auto cfg = protocol::parse_avc_decoder_config(t.config);
      if (cfg) init_nal_length_size_ = cfg->nal_length_size;
    }
    break;
  }
  reload_playlist(false);
}

// Media ----------------------------------------------------------------------------

void HlsPlayer::on_part(core::ByteView bytes) {
  auto frags = protocol::parse_mp4_fragments(bytes, init_.get());
  if (!frags) return fail("part: " + frags.error());
  for (const auto& f : *frags) {
    for (const auto& run : f.tracks) {
      const protocol::Mp4InitTrack* t = init_->find(run.track_id);
      uint32_t ts = t && t->timescale ? t->timescale : 90000;
      bool video = run.track_id == video_track_;
      for (const auto& s : run.samples) {
        int64_t dts_ms = int64_t(s.decode_time * 1000 / ts);
        on_frame(video, dts_ms, video && s.is_sync(), now_us_);
        if (video) {
          if (auto p = find_probe_in_avcc(s.data, init_nal_length_size_)) on_probe(*p, now_us_);
        }
      }
    }
  }
}

void HlsPlayer::on_ts_frame(const TsFrame& f) {
  on_frame(f.video, f.dts_ms, f.keyframe, now_us_);
  if (f.probe_us) on_probe(*f.probe_us, now_us_);
}

void HlsPlayer::media_added(double seconds, int64_t now_us) {
  media_ms_ += seconds * 1000.0;
  // Media-time window: from the first segment/part completed at least
  // --warmup after the first frame (past the initial burst) to the last one.
  last_add_us_ = now_us;
  if (ratio_ref_us_ < 0 && ever_played_ && st_.first_media_us >= 0 &&
      now_us - st_.first_media_us >= runner_.warmup_us()) {
    ratio_ref_us_ = now_us;
    ratio_ref_ms_ = media_ms_;
  }
  if (!ever_played_) {
    if (initial_items_ > 1) {
      --initial_items_;
      return;
    }
    ever_played_ = playing_ = true;
    resume_us_ = now_us;
    return;
  }
  if (!playing_) {
    playing_ = true;
    resume_us_ = now_us;
    st_.in_stall = false;
  }
}

void HlsPlayer::finish(int64_t end_us) {
  if (st_.started && !st_.connected && !last_error_.empty()) st_.fail(last_error_);
  Player::finish(end_us);
  // Media arrives a segment (part) at a time: measure the ratio between
  // completions, from the media-time counter of the buffer model.
  st_.media_time_ratio = -1;
  if (ratio_ref_us_ >= 0 && last_add_us_ - ratio_ref_us_ >= 500000)
    st_.media_time_ratio = (media_ms_ - ratio_ref_ms_) * 1000.0 / double(last_add_us_ - ratio_ref_us_);
}

void HlsPlayer::tick(int64_t now_us) {
  if (st_.failed || !st_.started || !ever_played_ || !playing_) return;
  double played = played_base_ms_ + double(now_us - resume_us_) / 1000.0;
  if (played >= media_ms_) {
    ++st_.stalls;
    st_.in_stall = true;
    playing_ = false;
    played_base_ms_ = media_ms_;
  }
}

}  // namespace weir::loadgen
