// Logging setup. Modules log through spdlog directly (spdlog::info(...)); this
// only chooses the level and the line format once at start.
#pragma once

#include <string>

#include "core/status.h"

namespace weir::core {

// level: trace|debug|info|warn|error|off. format: "text" or "json" (one JSON
// object per line: {"ts","level","thread","msg"}). Logs go to stderr.
Status init_logging(const std::string& level, const std::string& format);

// Escapes a string for inclusion inside JSON quotes.
std::string json_escape(std::string_view s);

}  // namespace weir::core
