// Fuzz target: MPEG-TS demuxing (TsDemuxer + TsToPackets) fed in pieces, and
// the TsMuxer on whatever the demuxer produces. Aborts if a MediaPacket body
// does not parse as the FLV tag it claims to be, if its payload lies outside
// the body, if per-track DTS goes backwards or below 0, or if the muxer's
// output is not whole, CC-continuous TS packets.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "protocol/flv_tag.h"
#include "protocol/ts_demuxer.h"
#include "protocol/ts_muxer.h"

using namespace weir;
using namespace weir::protocol;

namespace {

void check_packet(const core::MediaPacket& p, int64_t& last_video, int64_t& last_audio) {
  core::ByteView body = p.body.view();
  if (p.payload_offset > body.size()) abort();
  if (p.is_video()) {
    auto v = parse_video_tag(body);
    if (!v.is_ok()) abort();
    if (v->payload_offset + v->payload_size > body.size()) abort();
    if (v->payload_offset != p.payload_offset) abort();
    if (p.codec != core::Codec::kH264 && p.codec != core::Codec::kHEVC) abort();
  } else if (p.is_audio()) {
    auto a = parse_audio_tag(body);
    if (!a.is_ok()) abort();
    if (a->payload_offset + a->payload_size > body.size()) abort();
    if (a->payload_offset != p.payload_offset) abort();
  } else {
    abort();  // the demuxer emits no data packets
  }
  int64_t& last = p.is_video() ? last_video : last_audio;
  if (p.dts < 0 || p.dts < last || p.pts < p.dts) abort();
  last = p.dts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  TsDemuxOptions opt;
  opt.max_pes_size = 1 << 16;
  opt.max_unsynced_bytes = 1 << 16;
  opt.discontinuity_threshold = size && (data[size - 1] & 1) ? 90000 : 10 * 90000;
  TsDemuxer demuxer(opt);
  TsMuxerOptions mopt;
  mopt.audio_frames_per_pes = size > 1 ? 1 + data[1] % 4 : 1;
  mopt.tables_before_keyframes = size > 2 && (data[2] & 1);
  TsMuxer muxer(mopt);
  core::ByteWriter muxed;
  int64_t last_video = INT64_MIN, last_audio = INT64_MIN;
  auto cb = [&](const core::MediaPacket& p) {
    check_packet(p, last_video, last_audio);
    (void)muxer.write_packet(muxed, p);  // may refuse (e.g. no config yet); must not crash
    return core::Status::ok();
  };

  // Pieces of 1..376 bytes, sizes drawn from the input itself.
  size_t pos = 0, k = 0;
  while (pos < size) {
    size_t n = 1 + (size_t(data[k % size]) * 3 + k) % 376;
    n = std::min(n, size - pos);
    if (!demuxer.feed(core::ByteView(data + pos, n), cb).is_ok()) break;
    pos += n;
    ++k;
  }
  (void)demuxer.flush(cb);
  muxer.flush(muxed);

  // The muxer's output: whole packets, continuous counters, demuxable.
  core::ByteView out = muxed.view();
  if (out.size() % kTsPacketSize != 0) abort();
  TsDemuxer again;
  int64_t lv = INT64_MIN, la = INT64_MIN;
  auto cb2 = [&](const core::MediaPacket& p) {
    check_packet(p, lv, la);
    return core::Status::ok();
  };
  if (!again.feed(out, cb2).is_ok()) abort();
  (void)again.flush(cb2);
  if (again.stats().cc_errors != 0 || again.stats().malformed_packets != 0 ||
      again.stats().section_errors != 0 || again.stats().resyncs != 0) {
    abort();
  }
  return 0;
}
