#include "origin/hub_packet.h"


#include "core/clock.h"
#include "protocol/flv_writer.h"
#include "protocol/rtmp_chunk_writer.h"
#include "protocol/ws_frame.h"

namespace weir::origin {

core::Ref<const HubPacket> HubPacket::make(core::MediaPacket media, uint32_t chunk_size) {
  auto* p = new HubPacket();
  p->media_ = std::move(media);
  p->arrival_ms_ = core::wall_clock_ms();
  p->rtmp_chunk_size_ = chunk_size;
  const auto& m = p->media_;
  const uint32_t size = uint32_t(m.body.size());
  // onMetaData goes out at timestamp 0 wherever it falls: FFmpeg's FLV demuxer
  // (libavformat/flvdec.c) takes a metadata tag with a non-zero timestamp for a
  // subtitle packet. The packet keeps its place in the timeline.
  const bool metadata = m.is_data() && m.is_config();
  const uint32_t ts32 = metadata ? 0 : uint32_t(uint64_t(m.dts));
  const uint8_t type = m.flv_tag_type();
  protocol::write_tag_header(p->flv_hdr_, type, size, ts32);
  protocol::write_prev_tag_size(p->flv_prev_, 11 + size);
  p->ws_hdr_len_ = uint8_t(protocol::write_ws_frame_header(p->ws_hdr_, 0x2, true, uint64_t(11) + size + 4));
  const uint32_t csid = m.is_video() ? kCsidVideo : m.is_audio() ? kCsidAudio : kCsidData;
  p->rtmp_hdr_len_ = uint8_t(protocol::write_fmt0_header(p->rtmp_hdr_, csid, ts32, size, type, kRtmpPlayStreamId));
  p->rtmp_cont_len_ = uint8_t(protocol::write_fmt3_header(p->rtmp_cont_, csid, ts32));
  return core::Ref<const HubPacket>(p);
}

void HubPacket::set_ts(core::Slice bytes) const {
  // The muxer's output for one packet fills its own buffer (offset 0).
  core::Buffer* b = bytes.buffer().get();
  if (!b) return;
  b->ref_acquire();
  core::Buffer* expected = nullptr;
  if (!ts_.compare_exchange_strong(expected, b, std::memory_order_acq_rel)) {
    if (b->ref_release()) b->destroy_self();
  }
}

HubPacket::~HubPacket() {
  if (core::Buffer* b = ts_.load(std::memory_order_acquire); b && b->ref_release()) b->destroy_self();
}

}  // namespace weir::origin
