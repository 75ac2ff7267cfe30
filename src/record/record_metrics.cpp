#include "record/record_metrics.h"

#include <iterator>

#include <fmt/format.h>

namespace weir::record {

namespace {
void family(std::string& out, const char* name, const char* type, const char* help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}
void one(std::string& out, const char* name, const char* type, const char* help, double v) {
  family(out, name, type, help);
  fmt::format_to(std::back_inserter(out), "{} {}\n", name, v);
}
double get(const std::atomic<uint64_t>& a) { return double(a.load(std::memory_order_relaxed)); }
}  // namespace

void write_metrics(const RecordMetrics& m, std::string& out) {
  one(out, "weir_record_active", "gauge", "Recordings in progress (or waiting for their publisher up to resume_s).",
      double(m.recordings_active.load(std::memory_order_relaxed)));
  one(out, "weir_record_started_total", "counter", "Recordings started (assets created).", get(m.recordings_started));
  one(out, "weir_record_bytes_total", "counter", "Bytes written to segment files.", get(m.bytes_written));
  one(out, "weir_record_fragments_total", "counter", "fMP4 fragments written.", get(m.fragments_written));
  one(out, "weir_record_segments_total", "counter", "Segment files completed.", get(m.segments_written));
  one(out, "weir_record_write_seconds_total", "counter", "Time spent in write and fsync calls.",
      get(m.write_us_total) / 1e6);
  one(out, "weir_record_write_seconds_max", "gauge", "Longest single write (or write + fsync) so far.",
      get(m.write_us_max) / 1e6);
  one(out, "weir_record_gaps_total", "counter", "Spans lost by recorders that fell behind the stream.", get(m.gaps));
  family(out, "weir_record_failures_total", "counter", "Recordings failed, by reason.");
  fmt::format_to(std::back_inserter(out),
                 "weir_record_failures_total{{reason=\"queue_full\"}} {}\n"
                 "weir_record_failures_total{{reason=\"write_error\"}} {}\n"
                 "weir_record_failures_total{{reason=\"open_error\"}} {}\n",
                 get(m.failed_queue_full), get(m.failed_write_error), get(m.failed_open_error));
  one(out, "weir_record_merges_total", "counter", "Assets merged (ready).", get(m.merges_ok));
  one(out, "weir_record_merge_failures_total", "counter", "Merges that failed (asset failed).", get(m.merges_failed));
  one(out, "weir_record_merge_seconds_total", "counter", "Time spent merging (scan, copy, cover).",
      get(m.merge_us_total) / 1e6);
  one(out, "weir_record_segments_skipped_total", "counter", "Corrupt segments left out of merges.",
      get(m.segments_skipped));
  one(out, "weir_record_recovered_total", "counter", "Assets a crash left unfinished, merged at start-up.",
      get(m.assets_recovered));
  one(out, "weir_record_retention_deleted_total", "counter", "Assets deleted by retention.",
      get(m.assets_deleted_retention));
  one(out, "weir_record_uploads_total", "counter", "Assets uploaded to object storage and verified.", get(m.uploads_ok));
  one(out, "weir_record_upload_failures_total", "counter",
      "Asset uploads that failed their last retry (the asset is ready again, local files kept).",
      get(m.uploads_failed));
  one(out, "weir_record_upload_retries_total", "counter", "Failed upload attempts retried after a backoff.",
      get(m.upload_retries));
  one(out, "weir_record_upload_bytes_total", "counter", "Bytes sent to object storage (PUT and UploadPart bodies).",
      get(m.upload_bytes));
  one(out, "weir_record_objects_uploaded_total", "counter", "Objects sent to object storage.",
      get(m.objects_uploaded));
  one(out, "weir_record_objects_deleted_total", "counter", "Objects deleted from object storage.",
      get(m.objects_deleted));
}

}  // namespace weir::record
