// Fuzz target: FLV tag body parsing (legacy + Enhanced RTMP) and the FlvReader
// over the same input. Aborts if a parser reports a payload outside its input
// or if feeding the stream in pieces gives different tags than feeding it whole.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "protocol/flv_reader.h"
#include "protocol/flv_tag.h"

using namespace weir;
using namespace weir::protocol;

namespace {

void check_body(core::ByteView body) {
  if (auto v = parse_video_tag(body); v.is_ok()) {
    if (v->payload_offset + v->payload_size > body.size()) abort();
  }
  if (auto a = parse_audio_tag(body); a.is_ok()) {
    if (a->payload_offset + a->payload_size > body.size()) abort();
  }
  core::Slice s = core::Slice::copy_of(body);
  for (uint8_t type : {kFlvTagAudio, kFlvTagVideo, kFlvTagScript}) {
    auto p = make_media_packet(type, 1000, s);
    if (p.is_ok() && p->payload_offset > body.size()) abort();
  }
}

struct Tag {
  uint8_t type;
  int64_t ts;
  std::vector<uint8_t> body;
  bool operator==(const Tag&) const = default;
};

std::vector<Tag> read(core::ByteView data, size_t chunk, bool tolerate, bool& ok) {
  FlvReaderOptions opt;
  opt.max_tag_size = 1 << 20;
  opt.tolerate_bad_prev_tag_size = tolerate;
  FlvReader reader(opt);
  std::vector<Tag> tags;
  auto cb = [&](const FlvTag& t) {
    check_body(t.body.view());
    tags.push_back({t.type, t.timestamp_ms, std::vector<uint8_t>(t.body.view().begin(), t.body.view().end())});
    return core::Status::ok();
  };
  ok = true;
  for (size_t pos = 0; pos < data.size(); pos += chunk) {
    size_t n = std::min(chunk, data.size() - pos);
    if (!reader.feed(data.subspan(pos, n), cb)) {
      ok = false;
      break;
    }
  }
  return tags;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  core::ByteView in(data, size);
  check_body(in);

  // The same bytes as an FLV stream, whole and split; and as the tags of a
  // stream whose header is already valid.
  size_t chunk = size ? 1 + data[0] % 17 : 1;
  bool tolerate = size > 1 && (data[1] & 1);
  bool ok_whole, ok_split;
  auto whole = read(in, size ? size : 1, tolerate, ok_whole);
  auto split = read(in, chunk, tolerate, ok_split);
  if (whole != split || ok_whole != ok_split) abort();

  std::vector<uint8_t> framed = {'F', 'L', 'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0};
  framed.insert(framed.end(), data, data + size);
  bool ok_framed;
  read(core::ByteView(framed.data(), framed.size()), chunk, true, ok_framed);
  return 0;
}
