#include "origin/hls/playlist.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <optional>
#include <vector>

#include <fmt/format.h>

namespace weir::origin::hls {

std::string iso8601_ms(int64_t unix_ms) {
  time_t secs = time_t(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, int(unix_ms % 1000));
}

namespace {

using Out = std::back_insert_iterator<std::string>;

int64_t seg_end_ms(const Segment& s) { return s.pdt_ms + int64_t(std::llround(s.duration_ms)); }

// Complete segments whose TS bytes can be served, as indices into segments.
std::vector<size_t> servable_ts(const PlaylistInput& in) {
  std::vector<size_t> idx;
  for (size_t i = 0; i < in.segments.size(); ++i) {
    const Segment& s = in.segments[i];
    if (s.complete && s.ts_available()) idx.push_back(i);
  }
  return idx;
}

void header(std::string& out, int version, int target, uint64_t msn, uint64_t disc_seq) {
  fmt::format_to(Out(out),
                 "#EXTM3U\n#EXT-X-VERSION:{}\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:{}\n"
                 "#EXT-X-DISCONTINUITY-SEQUENCE:{}\n#EXT-X-INDEPENDENT-SEGMENTS\n",
                 version, target, msn, disc_seq);
}

std::string window_text(const PlaylistInput& in, const std::vector<size_t>& idx) {
  if (idx.empty()) return "the time-shift buffer is empty";
  const Segment& a = in.segments[idx.front()];
  const Segment& b = in.segments[idx.back()];
  return fmt::format("the time-shift window is {:.3f} .. {:.3f} (unix seconds; {} .. {})", a.pdt_ms / 1000.0,
                     seg_end_ms(b) / 1000.0, iso8601_ms(a.pdt_ms), iso8601_ms(seg_end_ms(b)));
}

// Index into idx of the segment containing wall time t (pdt <= t < end), or
// the first one starting after t if t falls in a gap.
std::optional<size_t> position_of(const PlaylistInput& in, const std::vector<size_t>& idx, int64_t t) {
  for (size_t k = 0; k < idx.size(); ++k) {
    const Segment& s = in.segments[idx[k]];
    if (t < seg_end_ms(s)) return k;
  }
  return std::nullopt;
}

void ts_segments(std::string& out, const PlaylistInput& in, const std::vector<size_t>& idx, size_t from, size_t to) {
  uint64_t key = 0;
  for (size_t k = from; k < to; ++k) {
    const Segment& s = in.segments[idx[k]];
    if (s.discontinuity && k != from) out += "#EXT-X-DISCONTINUITY\n";
    if (s.key_id != key) {
      if (s.key_id) fmt::format_to(Out(out), "#EXT-X-KEY:METHOD=AES-128,URI=\"{}/key{}.key\"\n", in.stream, s.key_id);
      else out += "#EXT-X-KEY:METHOD=NONE\n";
      key = s.key_id;
    }
    fmt::format_to(Out(out), "#EXT-X-PROGRAM-DATE-TIME:{}\n#EXTINF:{:.3f},\n{}/seg{}.ts\n", iso8601_ms(s.pdt_ms),
                   s.duration_ms / 1000.0, in.stream, s.msn);
  }
}

}  // namespace

Rendered render_ts_playlist(const PlaylistInput& in, const TsPlaylistRequest& req) {
  Rendered r;
  std::vector<size_t> idx = servable_ts(in);
  if (idx.empty()) {
    r.status = 404;
    r.body = "no segment is ready yet";
    return r;
  }
  const size_t window = size_t(in.hls.window_segments);
  size_t from = 0, to = idx.size();
  bool closed = false;
  const char* type = nullptr;
  using Mode = TsPlaylistRequest::Mode;
  switch (req.mode) {
    case Mode::kLive:
      from = to > window ? to - window : 0;
      closed = in.ended;
      break;
    case Mode::kDelay: {
      int64_t edge = req.now_ms - int64_t(std::llround(req.delay_s * 1000));
      // The delayed edge: segments that ended by then.
      while (to > 0 && seg_end_ms(in.segments[idx[to - 1]]) > edge) --to;
      if (to == 0) {
        r.status = 404;
        r.body = fmt::format("delay {}s reaches before the buffer: {}", req.delay_s, window_text(in, idx));
        return r;
      }
      from = to > window ? to - window : 0;
      break;
    }
    case Mode::kEvent:
    case Mode::kVod: {
      const Segment& first = in.segments[idx.front()];
      auto pos = position_of(in, idx, req.start_ms);
      if (req.start_ms < first.pdt_ms || !pos) {
        r.status = 404;
        r.body = fmt::format("start {:.3f} is outside the buffer: {}", req.start_ms / 1000.0, window_text(in, idx));
        return r;
      }
      from = *pos;
      type = "EVENT";
      if (req.mode == Mode::kVod) {
        auto end_pos = position_of(in, idx, req.end_ms - 1);
        if (end_pos) {
          to = *end_pos + 1;
          closed = true;
          type = "VOD";
        }
      }
      break;
    }
  }
  int target = in.target_duration_s;
  const Segment& f = in.segments[idx[from]];
  header(r.body, 3, target, f.msn, f.discontinuity_seq);
  if (type) fmt::format_to(Out(r.body), "#EXT-X-PLAYLIST-TYPE:{}\n", type);
  ts_segments(r.body, in, idx, from, to);
  if (closed) r.body += "#EXT-X-ENDLIST\n";
  return r;
}

Rendered render_ll_playlist(const PlaylistInput& in, bool skip) {
  Rendered r;
  // Segments with fMP4 bytes (complete) or parts (open).
  std::vector<size_t> idx;
  for (size_t i = 0; i < in.segments.size(); ++i) {
    const Segment& s = in.segments[i];
    if ((s.complete && !s.fmp4.empty()) || (!s.complete && !s.parts.empty())) idx.push_back(i);
  }
  size_t complete = 0;
  for (size_t i : idx)
    if (in.segments[i].complete) ++complete;
  if (complete == 0) {
    r.status = 404;
    r.body = "no segment is ready yet";
    return r;
  }
  const size_t window = size_t(in.hls.window_segments);
  // The window counts complete segments; the open one follows them.
  size_t skip_complete = complete > window ? complete - window : 0;
  size_t from = skip_complete;
  const bool ll = in.hls.ll;
  const double target = in.target_duration_s;
  const double part_target = in.hls.part_ms / 1000.0;
  const double skip_until = 6 * target;

  auto dur = [&](size_t k) { return in.segments[idx[k]].duration_ms; };
  // Delta update (6.2.5.1): skip the complete segments that end at least
  // CAN-SKIP-UNTIL before the end of the playlist.
  size_t skipped = 0;
  if (skip && ll) {
    size_t j = complete;
    double tail = 0;
    while (j > from && tail < skip_until * 1000) tail += dur(--j);
    skipped = j - from;
  }
  // Parts are listed for the open segment and the complete segments within
  // the last three target durations.
  size_t parts_from = complete;
  {
    double tail = 0;
    while (parts_from > from && tail + dur(parts_from - 1) <= 3 * target * 1000) tail += dur(--parts_from);
  }

  const Segment& f = in.segments[idx[from]];
  header(r.body, ll ? 9 : 7, in.target_duration_s, f.msn, f.discontinuity_seq);
  if (ll) {
    fmt::format_to(Out(r.body), "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={:.3f},CAN-SKIP-UNTIL={:.1f}\n",
                   3 * part_target, skip_until);
    fmt::format_to(Out(r.body), "#EXT-X-PART-INF:PART-TARGET={:.3f}\n", part_target);
  }
  if (skipped) fmt::format_to(Out(r.body), "#EXT-X-SKIP:SKIPPED-SEGMENTS={}\n", skipped);

  uint64_t init = UINT64_MAX;
  for (size_t k = from + skipped; k < idx.size(); ++k) {
    const Segment& s = in.segments[idx[k]];
    if (s.discontinuity && k != from) r.body += "#EXT-X-DISCONTINUITY\n";
    if (s.init_id != init) {
      fmt::format_to(Out(r.body), "#EXT-X-MAP:URI=\"init{}.mp4\"\n", s.init_id);
      init = s.init_id;
    }
    fmt::format_to(Out(r.body), "#EXT-X-PROGRAM-DATE-TIME:{}\n", iso8601_ms(s.pdt_ms));
    if (ll && k >= parts_from) {
      for (size_t p = 0; p < s.parts.size(); ++p) {
        const Part& part = s.parts[p];
        fmt::format_to(Out(r.body), "#EXT-X-PART:DURATION={:.3f},URI=\"part{}.{}.m4s\"{}\n", part.duration_ms / 1000.0,
                       s.msn, p, part.independent ? ",INDEPENDENT=YES" : "");
      }
    }
    if (s.complete) fmt::format_to(Out(r.body), "#EXTINF:{:.3f},\nseg{}.m4s\n", s.duration_ms / 1000.0, s.msn);
  }
  if (in.ended) {
    r.body += "#EXT-X-ENDLIST\n";
  } else if (ll) {
    // The part being built next: in the open segment, or the first of the next.
    const Segment& last = in.segments[idx.back()];
    if (!last.complete) fmt::format_to(Out(r.body), "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part{}.{}.m4s\"\n", last.msn, last.parts.size());
    else fmt::format_to(Out(r.body), "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part{}.0.m4s\"\n", last.msn + 1);
  }
  return r;
}

}  // namespace weir::origin::hls
