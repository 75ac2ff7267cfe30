// RecordMetrics: the recorder's counters and gauges, exposed on /metrics
// (write_metrics) and in the API. Thread-safe (relaxed atomics): updated by
// loops and pool threads, read by any HTTP loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace weir::record {

struct RecordMetrics {
  std::atomic<int64_t> recordings_active{0};
  std::atomic<uint64_t> recordings_started{0};
  std::atomic<uint64_t> bytes_written{0};
  std::atomic<uint64_t> fragments_written{0};
  std::atomic<uint64_t> segments_written{0};
  std::atomic<uint64_t> write_us_total{0};  // time in write()/fsync() calls
  std::atomic<uint64_t> write_us_max{0};
  std::atomic<uint64_t> gaps{0};            // spans lost by a recorder that fell behind
  // Failures by reason.
  std::atomic<uint64_t> failed_queue_full{0};
  std::atomic<uint64_t> failed_write_error{0};
  std::atomic<uint64_t> failed_open_error{0};
  std::atomic<uint64_t> merges_ok{0};
  std::atomic<uint64_t> merges_failed{0};
  std::atomic<uint64_t> merge_us_total{0};
  std::atomic<uint64_t> segments_skipped{0};  // corrupt segments left out of a merge
  std::atomic<uint64_t> assets_recovered{0};
  std::atomic<uint64_t> assets_deleted_retention{0};
  // Object storage (storage.s3).
  std::atomic<uint64_t> uploads_ok{0};       // assets uploaded and verified
  std::atomic<uint64_t> uploads_failed{0};   // assets whose last retry failed (back to ready)
  std::atomic<uint64_t> upload_retries{0};   // failed attempts retried after backoff
  std::atomic<uint64_t> upload_bytes{0};     // body bytes sent (PUT and UploadPart)
  std::atomic<uint64_t> objects_uploaded{0};  // objects sent (not those HeadObject showed complete)
  std::atomic<uint64_t> objects_deleted{0};

  void note_write_us(uint64_t us) {
    write_us_total.fetch_add(us, std::memory_order_relaxed);
    uint64_t m = write_us_max.load(std::memory_order_relaxed);
    while (us > m && !write_us_max.compare_exchange_weak(m, us, std::memory_order_relaxed)) {
    }
  }
};

// Appends the Prometheus families (weir_record_*).
void write_metrics(const RecordMetrics& m, std::string& out);

}  // namespace weir::record
