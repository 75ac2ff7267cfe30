#include "loadgen/flv_clip.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include "protocol/codec_config.h"
#include "protocol/flv_reader.h"
#include "protocol/flv_tag.h"

namespace weir::loadgen {

using core::Result;
using core::Status;

Result<FlvClip> FlvClip::load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::errorf("cannot open {}", path);
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto clip = parse(core::ByteView(data.data(), data.size()));
  if (!clip) return Status::errorf("{}: {}", path, clip.error());
  return clip;
}

Result<FlvClip> FlvClip::parse(core::ByteView bytes) {
  FlvClip clip;
  protocol::FlvReader reader(protocol::FlvReaderOptions{16u << 20, true});
  Status st = reader.feed(bytes, [&](const protocol::FlvTag& t) {
    ClipTag c;
    c.type = t.type;
    c.ts_ms = t.timestamp_ms;
    c.body = t.body;
    if (t.type == protocol::kFlvTagVideo) {
      auto v = protocol::parse_video_tag(t.body.view());
      if (v) {
        c.config = v->is_config;
        c.video_frame = v->has_picture;
        c.keyframe = v->keyframe;
        c.h264 = v->codec == core::Codec::kH264;
        c.payload_offset = uint16_t(v->payload_offset);
        if (v->is_config && c.h264) {
          auto cfg = protocol::parse_avc_decoder_config(t.body.view().subspan(v->payload_offset, v->payload_size));
          if (cfg) clip.nal_length_size = cfg->nal_length_size;
        }
      }
    } else if (t.type == protocol::kFlvTagAudio && !t.body.empty()) {
      auto a = protocol::parse_audio_tag(t.body.view());
      if (a) c.config = a->is_config;
    }
    if (c.video_frame) ++clip.video_frames;
    clip.tags.push_back(std::move(c));
    return Status::ok();
  });
  if (!st) return st;
  if (clip.tags.empty()) return Status::error("no FLV tags");
  int64_t first = clip.tags.front().ts_ms, last = first;
  for (auto& t : clip.tags) {
    first = std::min(first, t.ts_ms);
    last = std::max(last, t.ts_ms);
  }
  for (auto& t : clip.tags) t.ts_ms -= first;
  // Loop span: media length plus one video frame interval (mean over the clip).
  int64_t vfirst = -1, vlast = -1;
  for (auto& t : clip.tags) {
    if (!t.video_frame) continue;
    if (vfirst < 0) vfirst = t.ts_ms;
    vlast = t.ts_ms;
  }
  int64_t frame = 40;
  if (clip.video_frames > 1 && vlast > vfirst) frame = std::max<int64_t>(1, (vlast - vfirst) / int64_t(clip.video_frames - 1));
  clip.loop_span_ms = (last - first) + frame;
  return clip;
}

}  // namespace weir::loadgen
