// config_diff: which keys differ between two configs, for a reload's answer
// and log (what changed, what applies now, what needs a restart).
//
// Pure functions of their arguments; any thread.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"

namespace weir::core {

// Key paths whose values differ, sorted: "rtmp.listen",
// "apps.live.sign.play_keys". An app present in only one config shows as
// "apps.NAME" (not key by key). Secrets are compared like any value; only
// their names are reported.
std::vector<std::string> changed_keys(const Config& a, const Config& b);

// Does `key` (a path from changed_keys) fall under `prefix` ("storage" covers
// "storage.s3.bucket"; "rtmp.listen" covers only itself)?
bool key_under(const std::string& key, const std::string& prefix);

}  // namespace weir::core
