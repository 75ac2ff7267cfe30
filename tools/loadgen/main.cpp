// loadgen: load generator for Weir (and for peers, to compare). See
// options.h for the command line, run_players.h for the report.
#include <signal.h>

#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "loadgen/options.h"
#include "loadgen/rtmp_publisher.h"
#include "loadgen/run_players.h"
#include "loadgen/srt_publisher.h"

namespace {
void on_signal(int) { weir::loadgen::g_stop_requested.store(true); }
}  // namespace

int main(int argc, char** argv) {
  using namespace weir::loadgen;
  auto o = parse_options(argc, argv);
  if (!o) {
    fmt::print(stderr, "loadgen: {}\n{}", o.error(), usage());
    return 2;
  }
  if (o->help) {
    fmt::print("{}", usage());
    return 0;
  }
  spdlog::set_level(spdlog::level::warn);
  ::signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  switch (o->publish) {
    case PublishKind::kRtmp: return run_rtmp_publisher(*o);
    case PublishKind::kSrt: return run_srt_publisher(*o);
    case PublishKind::kNone: break;
  }
  return run_players(*o);
}
