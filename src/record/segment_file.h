// Segment files on disk: the fMP4 files the recorder writes (see
// protocol/fmp4_scan.h for what one holds and how a crash-cut tail is
// treated). Scanning reads top-level box headers and the moov/moof boxes with
// pread, never the mdat payloads, so a multi-GiB segment costs only its
// sample tables in memory.
//
// Blocking file I/O: call from a worker thread (WorkerPool), never a loop.
// Functions are independent and thread-safe for different files.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "protocol/fmp4_scan.h"

namespace weir::record {

struct SegmentFile {
  std::string path;
  protocol::Fmp4Scan scan;  // scan.file_size: the size when it was scanned
};

// Opens `path` read-only and scans it. Errors: I/O errors, and the scan's
// (broken or incomplete init, an inconsistent complete fragment), prefixed
// with the path. A cut-short tail is not an error: scan.valid_bytes and
// scan.tail say where the usable prefix ends.
core::Result<SegmentFile> scan_segment_file(const std::string& path,
                                            const protocol::Fmp4ScanLimits& limits = {});

// Crash recovery: cuts `path` to `valid_bytes` (a scan's valid_bytes) and
// fsyncs it. Refuses to grow the file (valid_bytes past its size).
core::Status trim_segment(const std::string& path, uint64_t valid_bytes);

}  // namespace weir::record
