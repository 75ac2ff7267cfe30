// Command line of the loadgen binary.
//
//   loadgen --kind rtmp|flv|wsflv|hls|llhls --url URL -n N [--ramp PER_SEC]
//           [--duration S] [--loops K] [--warmup S] [--json] [--allow-remote] [--quiet]
//   loadgen --publish rtmp|srt --url URL --file FILE [--probe] [--duration S]
//           [--json] [--allow-remote] [--quiet]
//
// Pure parsing; any thread.
#pragma once

#include <string>

#include "core/status.h"
#include "loadgen/url.h"

namespace weir::loadgen {

enum class PlayerKind { kRtmp, kFlv, kWsFlv, kHls, kLlHls };
enum class PublishKind { kNone, kRtmp, kSrt };

const char* kind_name(PlayerKind k);

struct Options {
  bool help = false;
  PublishKind publish = PublishKind::kNone;  // kNone: player mode
  PlayerKind kind = PlayerKind::kFlv;
  std::string url_text;
  Url url;
  int n = 1;                 // players
  double ramp = 100;         // new connections per second (all loops together)
  double duration = 10;      // s, whole run from the first connect; publisher: default 0 = until signalled
  int loops = 1;             // event loop threads
  double warmup = 1;         // s after a player's first frame before its media-time window starts
  double stall = 2;          // s without media that counts as a stall
  bool json = false;         // one JSON line on stdout instead of the text summary
  bool allow_remote = false;
  bool quiet = false;        // no progress events on stderr
  std::string file;          // publisher input (FLV for rtmp, TS for srt)
  bool probe = false;        // publisher: insert latency SEI
};

// Limits enforced on the command line.
inline constexpr int kMaxPlayers = 20000;
inline constexpr int kMaxLoops = 64;
inline constexpr double kMaxDuration = 86400;

core::Result<Options> parse_options(int argc, const char* const* argv);
std::string usage();

}  // namespace weir::loadgen
