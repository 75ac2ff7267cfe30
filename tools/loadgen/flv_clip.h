// FlvClip: an FLV file held in memory as tags, for the RTMP publisher. The
// clip is played in a loop: loop k sends tag timestamps + k * loop_span_ms,
// so timestamps keep increasing across loops (no jump back); script tags and
// decoder configs go out in the first loop only.
//
// Ownership: value type; the tag bodies are Slices of one file buffer. Any
// thread once loaded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/status.h"

namespace weir::loadgen {

struct ClipTag {
  uint8_t type = 0;      // 8, 9, 18
  int64_t ts_ms = 0;     // relative to the clip's first tag
  core::Slice body;
  bool config = false;   // AVC/AAC sequence header
  bool video_frame = false;  // a video tag with a picture
  bool keyframe = false;
  bool h264 = false;
  uint16_t payload_offset = 0;  // of the codec payload in body (video frames)
};

struct FlvClip {
  std::vector<ClipTag> tags;
  int64_t loop_span_ms = 0;     // distance between a tag and its copy in the next loop
  uint8_t nal_length_size = 4;  // from the AVC sequence header
  uint64_t video_frames = 0;

  // Reads the whole file. Fails on a parse error or a clip without tags.
  static core::Result<FlvClip> load(const std::string& path);
  // Same, from bytes (tests).
  static core::Result<FlvClip> parse(core::ByteView bytes);
};

}  // namespace weir::loadgen
