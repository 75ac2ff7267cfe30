// run_players: the player mode of the loadgen binary (see options.h). Builds
// one Runner per loop, ramps the players, waits for the run to end (or
// SIGINT/SIGTERM), stops the loops and prints one report.
//
// Progress events go to stderr as JSON lines (unless --quiet):
//   {"event":"steady_start","t_s":...}  the steady window begins (ramp done + warm-up)
//   {"event":"steady_end","t_s":...}    it ends (just before the connections close)
// so a benchmark can sample the server's CPU over exactly that window.
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
