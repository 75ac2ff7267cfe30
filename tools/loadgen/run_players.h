// run_players: the player mode of the loadgen binary (see options.h). Builds
// one Runner per loop, ramps the players, waits for the run to end (or
// SIGINT/SIGTERM), stops the loops and prints one report.
//
// Progress events go to stderr as JSON lines (unless --quiet):
//   {"event":"steady_start","t_s":...}  the steady window begins (ramp done + warm-up)
//   {"event":"steady_end","t_s":...}    it ends (just before the connections close)
// so a benchmark can sample the server's CPU over exactly that window.
//
// The report (one JSON line with --json): kind, url, n, loops, started,
// connected (reached the playing state), failed (failed, or never reached the
// playing state; `errors` counts the reasons), bytes / frames / duration_s /
// mbit_s over the whole run, steady {duration_s, bytes, mbit_s, cpu_s} over
// the steady window, ttfb_ms / ttfk_ms {p50, p99, samples}, stalls,
// players_stalled, media_time_ratio {mean, min, samples}, latency_ms {p50,
// p99, max, samples}, cpu_user_s / cpu_sys_s / cpu_s_per_gbit (this
// process), and for HLS kinds reconnects and skips. Definitions: player.h,
// hls_player.h and docs/benchmarks.md.
//
// Thread: the main thread only.
#pragma once

#include <atomic>

#include "loadgen/options.h"

namespace weir::loadgen {

// Set by the signal handlers in main.cpp.
extern std::atomic<bool> g_stop_requested;

// Returns the process exit code: 0, or 1 if no player connected.
int run_players(const Options& options);

// Raises RLIMIT_NOFILE to at least `want` (up to the hard limit); returns the
// soft limit now in force.
long raise_fd_limit(long want);

}  // namespace weir::loadgen
