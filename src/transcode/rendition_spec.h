// RenditionSpec: one rendition as a running job uses it: its name, its
// output stream's name and its settings, fixed when the job starts (a reload
// applies to jobs started after it).
#pragma once

#include <string>

#include "core/config.h"

namespace weir::transcode {

struct RenditionSpec {
  std::string name;    // the key under apps.<app>.renditions
  std::string stream;  // the output stream's name (rendition_name template)
  core::RenditionConfig cfg;
};

}  // namespace weir::transcode
