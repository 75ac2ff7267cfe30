// Asset: one VOD asset (a recording of a live stream, or an imported file) as
// the catalogue stores it, and its lifecycle state. A plain value; any thread.
//
// Lifecycle: recording -> merging -> ready [-> uploading -> uploaded], any of
// them -> failed. A recorder that restarts finds assets left in recording,
// merging or uploading (Catalogue::in_states) and finishes or fails them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weir::record {

enum class AssetState { kRecording, kMerging, kReady, kFailed, kUploading, kUploaded };

// "recording", "merging", "ready", "failed", "uploading", "uploaded": the
// names the catalogue stores and the API shows.
std::string_view to_string(AssetState s);
// The inverse of to_string (exact, lower case); nullopt for anything else.
std::optional<AssetState> asset_state_from_string(std::string_view s);

struct Asset {
  std::string id;  // valid_asset_id (asset_id.h); the primary key
  std::string app;
  std::string stream;
  AssetState state = AssetState::kRecording;
  int64_t started_at_ms = 0;  // wall clock, Unix ms
  int64_t ended_at_ms = 0;    // 0 while recording
  double duration_s = 0;      // media duration
  uint64_t bytes = 0;         // every file of the asset on local disk; at most INT64_MAX
  std::string video_codec;    // RFC 6381 ("avc1.64001f") or a name; empty if none
  std::string audio_codec;    // "mp4a.40.2", "opus", ...; empty if none
  int width = 0;
  int height = 0;
  std::string dir;       // absolute asset directory (storage.root/<app>/<id>)
  std::string mp4;       // file name inside dir, empty until merged
  std::string playlist;  // file name inside dir (VOD m3u8), may be empty
  std::string cover;     // file name inside dir (JPEG), may be empty
  std::vector<std::string> segments;  // segment file names inside dir, in order
  int gaps = 0;          // discontinuities (publisher gaps) in the recording
  std::string error;     // why it failed; empty otherwise
  std::string title;
  std::string description;
  std::vector<std::string> tags;  // order kept; matched exactly by AssetQuery::tag
  std::string remote;    // object-storage key prefix; empty if not uploaded
  int64_t created_at_ms = 0;  // set by the caller; the catalogue reads no clock
  int64_t updated_at_ms = 0;

  bool operator==(const Asset&) const = default;
};

}  // namespace weir::record
