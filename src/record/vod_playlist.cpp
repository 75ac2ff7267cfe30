#include "record/vod_playlist.h"

#include <cmath>
#include <filesystem>

#include <fmt/format.h>

namespace weir::record {

using core::Status;
using protocol::Fmp4Scan;

namespace {

// Same tracks with the same sample descriptions: a player can keep decoding.
bool same_init(const Fmp4Scan& a, const Fmp4Scan& b) {
  if (a.tracks.size() != b.tracks.size()) return false;
  for (size_t i = 0; i < a.tracks.size(); ++i) {
    const auto& x = a.tracks[i];
    const auto& y = b.tracks[i];
    if (x.track_id != y.track_id || x.handler != y.handler || x.timescale != y.timescale ||
        x.stsd != y.stsd) {
      return false;
    }
  }
  return true;
}

// Primary-track ticks of one fragment.
uint64_t fragment_ticks(const Fmp4Scan& scan, const protocol::Fmp4ScanFragment& f) {
  const size_t primary = scan.primary_track();
  uint64_t d = 0;
  for (const auto& run : f.runs) {
    if (run.track_index != primary) continue;
    const auto& samples = scan.tracks[primary].samples;
    for (size_t i = 0; i < run.sample_count; ++i) d += samples[run.first_sample + i].duration;
  }
  return d;
}

// First primary-track decode time of a fragment, if it has primary samples.
bool fragment_start(const Fmp4Scan& scan, const protocol::Fmp4ScanFragment& f, uint64_t& out) {
  const size_t primary = scan.primary_track();
  for (const auto& run : f.runs) {
    if (run.track_index == primary && run.sample_count > 0) {
      out = scan.tracks[primary].samples[run.first_sample].decode_time;
      return true;
    }
  }
  return false;
}

struct Run {
  uint64_t offset = 0;
  uint64_t end = 0;
  uint64_t ticks = 0;
};

}  // namespace

core::Result<std::string> build_vod_playlist(const std::vector<SegmentFile>& segments,
                                             const VodPlaylistOptions& options) {
  std::string body;
  double max_extinf = 0;
  size_t runs_written = 0;
  const Fmp4Scan* prev = nullptr;
  double prev_end_s = 0;  // primary-track end of the previous file, seconds
  for (const SegmentFile& seg : segments) {
    const Fmp4Scan& scan = seg.scan;
    if (scan.fragments.empty() || scan.tracks.empty()) continue;
    const auto& primary = scan.tracks[scan.primary_track()];
    const double ts = double(primary.timescale);
    const std::string uri = std::filesystem::path(seg.path).filename().string();
    if (uri.find_first_of("\"\r\n") != std::string::npos) {
      return Status::errorf("playlist: file name {} cannot be a URI (quote or line break)", uri);
    }
    uint64_t first = 0;
    bool has_start = false;
    for (const auto& f : scan.fragments) {
      if ((has_start = fragment_start(scan, f, first))) break;
    }
    if (prev) {
      const bool gap = has_start && double(first) / ts - prev_end_s > options.discontinuity_gap_s;
      if (!same_init(*prev, scan) || gap) body += "#EXT-X-DISCONTINUITY\n";
    }
    body += fmt::format("#EXT-X-MAP:URI=\"{}\",BYTERANGE=\"{}@0\"\n", uri, scan.init_size);

    std::vector<Run> runs;
    const double target_ticks = options.target_duration_s * ts;
    for (const auto& f : scan.fragments) {
      const bool independent = f.independent || !scan.has_video();
      if (runs.empty() || (independent && double(runs.back().ticks) >= target_ticks) ||
          runs.back().end != f.offset) {
        runs.push_back(Run{f.offset, f.offset, 0});
      }
      runs.back().end = f.end();
      runs.back().ticks += fragment_ticks(scan, f);
    }
    for (const Run& r : runs) {
      const double extinf = double(r.ticks) / ts;
      max_extinf = std::max(max_extinf, std::round(extinf * 1000) / 1000);
      body += fmt::format("#EXTINF:{:.3f},\n#EXT-X-BYTERANGE:{}@{}\n{}\n", extinf, r.end - r.offset,
                          r.offset, uri);
      ++runs_written;
    }
    uint64_t end_ticks = 0;
    for (const auto& s : primary.samples) end_ticks = std::max(end_ticks, s.decode_time + s.duration);
    prev_end_s = double(end_ticks) / ts;
    prev = &scan;
  }
  if (runs_written == 0) return Status::error("playlist: no segment has a complete fragment");
  std::string out = "#EXTM3U\n#EXT-X-VERSION:7\n";
  out += fmt::format("#EXT-X-TARGETDURATION:{}\n", std::max<int64_t>(1, int64_t(std::ceil(max_extinf))));
  out += "#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MEDIA-SEQUENCE:0\n";
  out += body;
  out += "#EXT-X-ENDLIST\n";
  return out;
}

}  // namespace weir::record
