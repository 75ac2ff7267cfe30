#include "protocol/m3u8.h"

#include <cstdint>
#include <cstdlib>

namespace weir::protocol {

using core::Result;
using core::Status;

std::vector<HlsPart> HlsPlaylist::all_parts() const {
  std::vector<HlsPart> out;
  for (const auto& s : segments) out.insert(out.end(), s.parts.begin(), s.parts.end());
  out.insert(out.end(), tail_parts.begin(), tail_parts.end());
  return out;
}

std::string m3u8_attribute(std::string_view list, std::string_view name) {
  size_t i = 0;
  while (i < list.size()) {
    while (i < list.size() && (list[i] == ' ' || list[i] == ',')) ++i;
    size_t eq = list.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string_view key = list.substr(i, eq - i);
    size_t v = eq + 1;
    std::string_view value;
    if (v < list.size() && list[v] == '"') {
      size_t close = list.find('"', v + 1);
      if (close == std::string_view::npos) close = list.size();
      value = list.substr(v + 1, close - v - 1);
      i = close + 1;
    } else {
      size_t comma = list.find(',', v);
      if (comma == std::string_view::npos) comma = list.size();
      value = list.substr(v, comma - v);
      i = comma;
    }
    if (key == name) return std::string(value);
  }
  return {};
}

namespace {
bool starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
double to_double(std::string_view s) { return std::strtod(std::string(s).c_str(), nullptr); }
int64_t to_int(std::string_view s) { return std::strtoll(std::string(s).c_str(), nullptr, 10); }
}  // namespace

Result<HlsPlaylist> parse_m3u8(std::string_view text) {
  if (text.size() > kMaxPlaylistBytes) return Status::errorf("playlist of {} bytes is over the cap", text.size());
  HlsPlaylist pl;
  size_t pos = 0;
  bool first = true;
  bool have_inf = false, pending_disc = false, pending_variant = false;
  double inf = 0;
  std::vector<HlsPart> parts;
  size_t entries = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (first) {
      if (line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
      if (line != "#EXTM3U") return Status::error("playlist does not start with #EXTM3U");
      first = false;
      continue;
    }
    if (line.empty()) continue;
    if (++entries > kMaxPlaylistEntries) return Status::error("playlist has too many lines");
    if (line.front() != '#') {
      if (pending_variant) {
        pl.variants.emplace_back(line);
        pending_variant = false;
      } else if (have_inf) {
        HlsSegment seg;
        seg.msn = pl.media_sequence + int64_t(pl.segments.size());
        seg.duration = inf;
        seg.discontinuity = pending_disc;
        seg.uri.assign(line);
        for (auto& p : parts) p.msn = seg.msn;
        seg.parts = std::move(parts);
        parts.clear();
        pl.segments.push_back(std::move(seg));
        have_inf = pending_disc = false;
      }
      continue;
    }
    if (starts(line, "#EXTINF:")) {
      std::string_view v = line.substr(8);
      inf = to_double(v.substr(0, v.find(',')));
      have_inf = true;
    } else if (starts(line, "#EXT-X-TARGETDURATION:")) {
      pl.target_duration = to_double(line.substr(22));
    } else if (starts(line, "#EXT-X-MEDIA-SEQUENCE:")) {
      if (!pl.segments.empty()) return Status::error("EXT-X-MEDIA-SEQUENCE after the first segment");
      pl.media_sequence = to_int(line.substr(22));
      // Segment numbers are media_sequence + index: keep the sum in range.
      if (pl.media_sequence < 0 || pl.media_sequence > INT64_MAX - int64_t(kMaxPlaylistEntries))
        return Status::error("EXT-X-MEDIA-SEQUENCE out of range");
    } else if (starts(line, "#EXT-X-PART:")) {
      std::string_view attrs = line.substr(12);
      HlsPart p;
      p.index = int(parts.size());
      p.duration = to_double(m3u8_attribute(attrs, "DURATION"));
      p.uri = m3u8_attribute(attrs, "URI");
      p.independent = m3u8_attribute(attrs, "INDEPENDENT") == "YES";
      p.gap = m3u8_attribute(attrs, "GAP") == "YES";
      if (p.uri.empty()) return Status::error("EXT-X-PART without URI");
      parts.push_back(std::move(p));
    } else if (starts(line, "#EXT-X-MAP:")) {
      pl.map_uri = m3u8_attribute(line.substr(11), "URI");
    } else if (starts(line, "#EXT-X-PART-INF:")) {
      pl.part_target = to_double(m3u8_attribute(line.substr(16), "PART-TARGET"));
    } else if (starts(line, "#EXT-X-SERVER-CONTROL:")) {
      std::string_view attrs = line.substr(22);
      pl.can_block_reload = m3u8_attribute(attrs, "CAN-BLOCK-RELOAD") == "YES";
      pl.part_hold_back = to_double(m3u8_attribute(attrs, "PART-HOLD-BACK"));
    } else if (starts(line, "#EXT-X-PRELOAD-HINT:")) {
      std::string_view attrs = line.substr(20);
      if (m3u8_attribute(attrs, "TYPE") == "PART") pl.preload_hint_uri = m3u8_attribute(attrs, "URI");
    } else if (starts(line, "#EXT-X-STREAM-INF:")) {
      pl.master = true;
      pending_variant = true;
    } else if (line == "#EXT-X-ENDLIST") {
      pl.endlist = true;
    } else if (line == "#EXT-X-DISCONTINUITY") {
      pending_disc = true;
    }
  }
  if (first) return Status::error("empty playlist");
  for (auto& p : parts) p.msn = pl.next_msn();
  pl.tail_parts = std::move(parts);
  if (pl.master && pl.variants.empty()) return Status::error("master playlist without variants");
  return pl;
}

}  // namespace weir::protocol
