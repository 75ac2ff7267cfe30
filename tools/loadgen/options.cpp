#include "loadgen/options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string_view>

namespace weir::loadgen {

using core::Result;
using core::Status;

const char* kind_name(PlayerKind k) {
  switch (k) {
    case PlayerKind::kRtmp: return "rtmp";
    case PlayerKind::kFlv: return "flv";
    case PlayerKind::kWsFlv: return "wsflv";
    case PlayerKind::kHls: return "hls";
    case PlayerKind::kLlHls: return "llhls";
  }
  return "?";
}

std::string usage() {
  return "usage:\n"
         "  loadgen --kind rtmp|flv|wsflv|hls|llhls --url URL -n N [--ramp PER_SEC] [--duration S]\n"
         "          [--loops K] [--warmup S] [--stall S] [--json] [--allow-remote] [--quiet]\n"
         "  loadgen --publish rtmp|srt --url URL --file FILE [--probe] [--duration S] [--json]\n"
         "          [--allow-remote] [--quiet]\n"
         "Players: N connections to URL, opened at PER_SEC (default 100) over K libuv loops\n"
         "(default 1), for S seconds in all (default 10), then one report (--json: one JSON line).\n"
         "Publisher: streams FILE (FLV for rtmp, MPEG-TS for srt) in a loop at real-time pace;\n"
         "--probe puts a latency SEI in every video access unit; --duration 0 (default) runs\n"
         "until SIGINT/SIGTERM. Only loopback hosts unless --allow-remote.\n";
}

namespace {
Result<double> number_arg(std::string_view name, const char* v, double lo, double hi) {
  if (!v) return Status::errorf("{} needs a value", name);
  errno = 0;
  char* end = nullptr;
  double d = std::strtod(v, &end);
  if (errno || end == v || *end || !std::isfinite(d)) return Status::errorf("{}: '{}' is not a number", name, v);
  if (d < lo || d > hi) return Status::errorf("{}: {} is outside {}..{}", name, v, lo, hi);
  return d;
}
}  // namespace

Result<Options> parse_options(int argc, const char* const* argv) {
  Options o;
  bool have_kind = false, have_n = false, have_duration = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    auto take = [&]() -> const char* {
      ++i;
      return v;
    };
    if (a == "-h" || a == "--help") {
      o.help = true;
      return o;
    } else if (a == "--kind") {
      std::string_view k = take() ? v : "";
      if (k == "rtmp") o.kind = PlayerKind::kRtmp;
      else if (k == "flv") o.kind = PlayerKind::kFlv;
      else if (k == "wsflv") o.kind = PlayerKind::kWsFlv;
      else if (k == "hls") o.kind = PlayerKind::kHls;
      else if (k == "llhls") o.kind = PlayerKind::kLlHls;
      else return Status::errorf("--kind: '{}' is not rtmp, flv, wsflv, hls or llhls", k);
      have_kind = true;
    } else if (a == "--publish") {
      std::string_view k = take() ? v : "";
      if (k == "rtmp") o.publish = PublishKind::kRtmp;
      else if (k == "srt") o.publish = PublishKind::kSrt;
      else return Status::errorf("--publish: '{}' is not rtmp or srt", k);
    } else if (a == "--url") {
      if (!take()) return Status::error("--url needs a value");
      o.url_text = v;
    } else if (a == "-n") {
      auto d = number_arg(a, take(), 1, kMaxPlayers);
      if (!d) return d.status();
      if (*d != std::floor(*d)) return Status::error("-n must be a whole number");
      o.n = int(*d);
      have_n = true;
    } else if (a == "--ramp") {
      auto d = number_arg(a, take(), 0.1, 100000);
      if (!d) return d.status();
      o.ramp = *d;
    } else if (a == "--duration") {
      auto d = number_arg(a, take(), 0, kMaxDuration);
      if (!d) return d.status();
      o.duration = *d;
      have_duration = true;
    } else if (a == "--loops") {
      auto d = number_arg(a, take(), 1, kMaxLoops);
      if (!d) return d.status();
      o.loops = int(*d);
    } else if (a == "--warmup") {
      auto d = number_arg(a, take(), 0, 600);
      if (!d) return d.status();
      o.warmup = *d;
    } else if (a == "--stall") {
      auto d = number_arg(a, take(), 0.1, 600);
      if (!d) return d.status();
      o.stall = *d;
    } else if (a == "--file") {
      if (!take()) return Status::error("--file needs a value");
      o.file = v;
    } else if (a == "--probe") {
      o.probe = true;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--allow-remote") {
      o.allow_remote = true;
    } else if (a == "--quiet") {
      o.quiet = true;
    } else {
      return Status::errorf("unknown argument '{}'", a);
    }
  }
  if (o.url_text.empty()) return Status::error("--url is required");
  auto u = parse_url(o.url_text);
  if (!u) return u.status();
  o.url = *u;
  if (!o.allow_remote && !o.url.is_loopback())
    return Status::errorf("host '{}' is not a loopback address (pass --allow-remote to load a remote server)",
                          o.url.host);
  if (o.publish != PublishKind::kNone) {
    if (have_kind || have_n) return Status::error("--publish does not take --kind or -n");
    if (o.file.empty()) return Status::error("--publish needs --file");
    if (!have_duration) o.duration = 0;  // publishers run until signalled
    const char* want = o.publish == PublishKind::kRtmp ? "rtmp" : "srt";
    if (o.url.scheme != want) return Status::errorf("--publish {} needs a {}:// url", want, want);
    if (o.publish == PublishKind::kRtmp) {
      auto p = rtmp_target(o.url);
      if (!p) return p.status();
    }
    return o;
  }
  if (!have_kind) return Status::error("--kind is required (or --publish)");
  if (!o.file.empty() || o.probe) return Status::error("--file and --probe are publisher options");
  if (o.duration <= 0) return Status::error("--duration must be > 0 for players");
  const std::string& s = o.url.scheme;
  switch (o.kind) {
    case PlayerKind::kRtmp:
      if (s != "rtmp") return Status::error("--kind rtmp needs an rtmp:// url");
      if (auto p = rtmp_target(o.url); !p) return p.status();
      break;
    case PlayerKind::kWsFlv:
      if (s != "ws" && s != "http") return Status::error("--kind wsflv needs a ws:// or http:// url");
      break;
    default:
      if (s != "http") return Status::errorf("--kind {} needs an http:// url", kind_name(o.kind));
  }
  return o;
}

}  // namespace weir::loadgen
