// RenditionSpec: one rendition as a running job uses it: its name, its
// output stream's name and its settings, fixed when the job starts (a reload
// applies to jobs started after it).
#pragma once

#include <string>
#include <utility>

#include "core/config.h"

namespace weir::transcode {

struct RenditionSpec {
  std::string name;    // the key under apps.<app>.renditions
  std::string stream;  // the output stream's name (rendition_name template)
  core::RenditionConfig cfg;
};

// A rendition's picture size for a source of src_w x src_h: the configured
// sides, the missing one from the source's aspect, or the source's size when
// neither is set (the watermarked output); both even, at least 2.
std::pair<int, int> rendition_size(const core::RenditionConfig& c, int src_w, int src_h);

}  // namespace weir::transcode
