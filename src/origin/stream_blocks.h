// StreamBlocks: publish blocks the operator set (DELETE
// /api/v1/streams/{app}/{stream}?block_s=N): until the given time, every
// publish of that app/stream is refused by an admission check
// ("operator-block", Refusal::kForbidden, "blocked by the operator until
// <RFC 3339>"), which each protocol answers with its own error (RTMP
// NetStream.Publish.BadName, SRT reject 1403, ...). Plays are not blocked.
//
// Thread: any; one mutex, taken by block() and by the check on each publish
// attempt (never per packet). Bounds: at most kMaxBlocks entries; expired ones
// are dropped on every block(); overflow action: block() refuses (the API
// answers 503). Blocks are not persisted: a restart forgets them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace weir::origin {

class AdmissionCheck;

class StreamBlocks {
 public:
  static constexpr size_t kMaxBlocks = 10000;
  static constexpr int64_t kMaxBlockSeconds = 86400;

  // Blocks publishing app/stream until `until_ms` (wall clock), replacing an
  // earlier block. False when the table is full.
  bool block(std::string_view app, std::string_view stream, int64_t until_ms);
  // Wall-clock ms the block of app/stream ends, if one is in force at `now_ms`.
  std::optional<int64_t> blocked_until(std::string_view app, std::string_view stream, int64_t now_ms) const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, int64_t, std::less<>> until_;  // guarded by mu_; "app/stream" -> wall ms
};

// The admission check that refuses blocked publishes; `blocks` outlives it.
std::unique_ptr<AdmissionCheck> make_stream_block_check(const StreamBlocks& blocks);

}  // namespace weir::origin
