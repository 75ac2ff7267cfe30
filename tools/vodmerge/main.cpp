// weir-vodmerge SEG... -o out.mp4 [--playlist index.m3u8] [--target S] [--no-fsync]
//
// Merges fMP4 segment files (in the order given) into one fast-start MP4 and
// prints a JSON summary on stdout. Exit status: 0 merged (possibly with
// skipped segments, listed), 1 failed, 2 usage.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "protocol/mp4_reader.h"
#include "record/mp4_merge.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: weir-vodmerge SEG... -o out.mp4 [--playlist index.m3u8] [--target S] "
               "[--no-fsync]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  weir::record::MergeRequest req;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-o" || a == "--playlist" || a == "--target") && i + 1 < argc) {
      std::string v = argv[++i];
      if (a == "-o") {
        req.output = v;
      } else if (a == "--playlist") {
        req.playlist = v;
      } else {
        char* end = nullptr;
        req.playlist_target_duration_s = std::strtod(v.c_str(), &end);
        if (*end || req.playlist_target_duration_s <= 0) return usage();
      }
    } else if (a == "--no-fsync") {
      req.fsync = false;
    } else if (!a.empty() && a[0] == '-') {
      return usage();
    } else {
      req.segments.push_back(a);
    }
  }
  if (req.output.empty() || req.segments.empty()) return usage();
  auto r = weir::record::merge_segments(req);
  if (!r) {
    std::fprintf(stderr, "weir-vodmerge: %s\n", r.error().c_str());
    return 1;
  }
  nlohmann::json j;
  j["duration_s"] = r->duration_s;
  j["bytes"] = r->bytes;
  j["media_bytes"] = r->media_bytes;
  j["segments_used"] = r->segments_used;
  j["gaps"] = r->gaps;
  j["overlaps_clamped"] = r->overlaps_clamped;
  j["copy_fallback"] = r->copy_fallback;
  for (const auto& t : r->tracks) {
    nlohmann::json jt;
    jt["track_id"] = t.track_id;
    jt["handler"] = weir::protocol::mp4_type_name(t.handler);
    jt["timescale"] = t.timescale;
    for (uint32_t e : t.sample_entries) jt["sample_entries"].push_back(weir::protocol::mp4_type_name(e));
    jt["samples"] = t.samples;
    jt["bytes"] = t.bytes;
    jt["start_s"] = t.start_s;
    jt["duration_s"] = t.duration_s;
    if (t.width) {
      jt["width"] = t.width;
      jt["height"] = t.height;
    }
    if (t.sample_rate) {
      jt["sample_rate"] = t.sample_rate;
      jt["channels"] = t.channels;
    }
    j["tracks"].push_back(jt);
  }
  for (const auto& s : r->skipped) j["skipped"].push_back({{"path", s.path}, {"reason", s.reason}});
  for (const auto& s : r->truncated) j["truncated"].push_back({{"path", s.path}, {"reason", s.reason}});
  std::printf("%s\n", j.dump(2).c_str());
  return 0;
}
