// Helpers for origin tests: synthetic packets with real FLV tag bodies.
#pragma once

#include "core/buffer.h"
#include "core/media_packet.h"
#include "origin/hub_packet.h"

namespace weir::test {

inline core::MediaPacket video(int64_t dts, bool key, size_t payload = 1000, bool config = false) {
  core::ByteWriter w(payload + 5);
  w.u8(uint8_t((key || config ? 0x10 : 0x20) | 7));
  w.u8(config ? 0 : 1);
  w.u24be(0);
  w.zeros(payload);
  core::MediaPacket m;
  m.track = core::TrackType::kVideo;
  m.codec = core::Codec::kH264;
  m.flags = uint8_t((key ? core::packet_flags::kKeyframe : 0) | (config ? core::packet_flags::kConfig : 0));
  m.payload_offset = 5;
  m.dts = m.pts = dts;
  m.body = w.finish();
  return m;
}

inline core::MediaPacket audio(int64_t dts, size_t payload = 200, bool config = false) {
  core::ByteWriter w(payload + 2);
  w.u8(0xAF);
  w.u8(config ? 0 : 1);
  w.zeros(payload);
  core::MediaPacket m;
  m.track = core::TrackType::kAudio;
  m.codec = core::Codec::kAAC;
  m.flags = config ? core::packet_flags::kConfig : 0;
  m.payload_offset = 2;
  m.dts = m.pts = dts;
  m.body = w.finish();
  return m;
}

inline origin::PacketRef hub(core::MediaPacket m) { return origin::HubPacket::make(std::move(m), 4096); }

}  // namespace weir::test
