// Periodic snapshot files: where a stream's pictures go, what they are
// called, and which ones retention deletes.
//
// Layout: <storage.root>/<apps.<app>.snapshot.dir with {app} and {stream}
// expanded>/<time>.<jpg|png>, time = UTC YYYYMMDDTHHMMSS.mmmZ, so a
// directory's names sort by time and belong to one stream (the config
// requires both placeholders). App and stream names are the ones admission
// validated (origin/admission.h: no '/', no "..").
//
// Threads: the pure functions anywhere; write_snapshot_file blocks (mkdir,
// write, fsync, rename, unlink): a worker thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "protocol/av/picture_encoder.h"

namespace weir::transcode {

// "<root>/<dir template expanded>" (root "" or "." = relative to the working directory).
std::string snapshot_dir(const std::string& root, const std::string& dir_template, const std::string& app,
                         const std::string& stream);
// "20261203T141354.123Z.jpg" for `wall_ms` (ms since the Unix epoch).
std::string snapshot_file_name(int64_t wall_ms, protocol::av::PictureFormat format);
// True for names snapshot_file_name makes (either format), nothing else.
bool is_snapshot_file_name(std::string_view name);
// Of `names` (any order, other files allowed), the snapshot files to delete
// so that the `keep` newest remain; keep 0 = none deleted. Sorted oldest first.
std::vector<std::string> snapshot_files_beyond(std::vector<std::string> names, size_t keep);

struct SnapshotFile {
  std::string path;  // the file written
  std::string name;  // its name in the directory
  size_t bytes = 0;
  size_t deleted = 0;  // older files retention removed
};

// Creates `dir` if missing, writes `data` as `name` in it (tmp + fsync +
// rename: core/atomic_file.h), then applies retention (`keep`). A file
// retention cannot delete is left (the next write tries again); the write
// itself still succeeded.
core::Result<SnapshotFile> write_snapshot_file(const std::string& dir, const std::string& name, const uint8_t* data,
                                               size_t size, size_t keep);

}  // namespace weir::transcode
