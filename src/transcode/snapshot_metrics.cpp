#include "transcode/snapshot_metrics.h"

#include <fmt/format.h>

namespace weir::transcode {

void write_snapshot_metrics(const SnapshotMetrics& m, uint64_t hits, uint64_t joined, std::string& out) {
  auto c = [&out](const char* name, const char* help, uint64_t v) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, v);
  };
  c("weir_snapshot_requests_total", "Snapshot requests admitted (GET /{app}/{stream}/snapshot.jpg|png).",
    m.requests.load());
  c("weir_snapshot_decodes_total", "GOPs decoded for a snapshot (on demand and periodic).", m.decodes.load());
  c("weir_snapshot_decode_failures_total", "Snapshot decodes that made no picture (logged).",
    m.decode_failures.load());
  c("weir_snapshot_encodes_total", "Snapshot pictures encoded (JPEG or PNG, per width).", m.encodes.load());
  c("weir_snapshot_cache_hits_total", "Snapshot lookups answered from the cache (apps.<app>.snapshot.cache_ms).",
    hits);
  c("weir_snapshot_joined_total", "Snapshot lookups that waited for a decode or encode already under way.", joined);
  out += "# HELP weir_snapshot_refused_total Snapshot requests answered 503, by bound.\n"
         "# TYPE weir_snapshot_refused_total counter\n";
  fmt::format_to(std::back_inserter(out), "weir_snapshot_refused_total{{reason=\"max_waiters\"}} {}\n",
                 m.refused_waiters.load());
  fmt::format_to(std::back_inserter(out), "weir_snapshot_refused_total{{reason=\"max_queued\"}} {}\n",
                 m.refused_queue.load());
  c("weir_snapshot_files_written_total", "Periodic snapshot files written.", m.periodic_written.load());
  c("weir_snapshot_files_failed_total", "Periodic snapshots that failed (decode, encode or write; logged).",
    m.periodic_failed.load());
  c("weir_snapshot_files_deleted_total", "Periodic snapshot files deleted by retention (snapshot.keep).",
    m.periodic_deleted.load());
  out += "# HELP weir_snapshot_ticks_skipped_total Periodic snapshots skipped, by reason.\n"
         "# TYPE weir_snapshot_ticks_skipped_total counter\n";
  fmt::format_to(std::back_inserter(out), "weir_snapshot_ticks_skipped_total{{reason=\"busy\"}} {}\n",
                 m.periodic_skipped_busy.load());
  fmt::format_to(std::back_inserter(out), "weir_snapshot_ticks_skipped_total{{reason=\"max_queued\"}} {}\n",
                 m.periodic_skipped_queue.load());
  fmt::format_to(std::back_inserter(out), "weir_snapshot_ticks_skipped_total{{reason=\"no_picture\"}} {}\n",
                 m.periodic_no_picture.load());
}

}  // namespace weir::transcode
