// HubPacket: a published MediaPacket plus its wire framing for every
// pull-style output, computed once when the packet enters the hub and shared
// by every viewer on every loop (ARCHITECTURE.md §1: mux once per format).
//
// Immutable after make(); shared across loops by Ref<const HubPacket>.
// Layout of what a viewer writes for one packet:
//   HTTP-FLV:  flv_tag_header | body | flv_prev_size
//   WS-FLV:    ws_header | flv_tag_header | body | flv_prev_size   (one binary frame)
//   RTMP:      rtmp_header | body[0, cs) | rtmp_cont | body[cs, 2cs) | rtmp_cont | ...
// RTMP viewers all play on message stream id 1 with a fixed chunk size, so
// the chunk headers are the same for every viewer.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/media_packet.h"
#include "core/ref.h"

namespace weir::origin {

// RTMP chunk stream ids used towards players.
inline constexpr uint32_t kRtmpPlayStreamId = 1;
inline constexpr uint32_t kCsidAudio = 4;
inline constexpr uint32_t kCsidData = 5;
inline constexpr uint32_t kCsidVideo = 6;

class HubPacket final : public core::RefCounted {
 public:
  // `rtmp_chunk_size` is the chunk size announced to RTMP players.
  static core::Ref<const HubPacket> make(core::MediaPacket media, uint32_t rtmp_chunk_size);

  const core::MediaPacket& media() const { return media_; }
  // Wall-clock time (ms since the Unix epoch) the packet reached the hub.
  int64_t arrival_ms() const { return arrival_ms_; }
  size_t body_size() const { return media_.body.size(); }
  // Bytes a viewer sends for this packet in each framing.
  size_t flv_size() const { return 11 + body_size() + 4; }

  core::ByteView flv_tag_header() const { return {flv_hdr_, 11}; }
  core::ByteView flv_prev_size() const { return {flv_prev_, 4}; }
  core::ByteView ws_header() const { return {ws_hdr_, ws_hdr_len_}; }
  core::ByteView rtmp_header() const { return {rtmp_hdr_, rtmp_hdr_len_}; }
  core::ByteView rtmp_continuation() const { return {rtmp_cont_, rtmp_cont_len_}; }
  uint32_t rtmp_chunk_size() const { return rtmp_chunk_size_; }

  // MPEG-TS bytes of this packet (its PES; PAT/PMT before keyframes), made
  // by the stream's one TS muxer while TS viewers exist. Set at most once,
  // under the hub lock, before any TS viewer can reach the packet; nullptr
  // when TS output was off when the packet passed. The only field written
  // after make(): a cache of a derived form, never changed once set.
  const core::Buffer* ts() const { return ts_.load(std::memory_order_acquire); }
  void set_ts(core::Slice bytes) const;
  ~HubPacket() override;

 private:
  HubPacket() = default;
  core::MediaPacket media_;
  mutable std::atomic<core::Buffer*> ts_{nullptr};  // holds one ref when set
  int64_t arrival_ms_ = 0;
  uint32_t rtmp_chunk_size_ = 0;
  uint8_t flv_hdr_[11];
  uint8_t flv_prev_[4];
  uint8_t ws_hdr_[10];
  uint8_t rtmp_hdr_[18];
  uint8_t rtmp_cont_[8];
  uint8_t ws_hdr_len_ = 0;
  uint8_t rtmp_hdr_len_ = 0;
  uint8_t rtmp_cont_len_ = 0;
};

using PacketRef = core::Ref<const HubPacket>;

}  // namespace weir::origin
