// RTMP message builders and parsers for protocol control (types 1..6), user
// control events (type 4), AMF0 commands and data (types 20 / 18) and their
// AMF3 variants on input (types 17 / 15).
//
// Builders return the complete chunked bytes of one message (fmt 0 + fmt 3
// chunks, see rtmp_chunk_writer.h), chunked with the caller's current
// outgoing chunk size. Protocol control messages go on csid 2, message stream
// 0, timestamp 0 (RTMP spec 1.0, 5.4).
//
// All functions are pure and may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/buffer.h"
#include "core/media_packet.h"
#include "core/status.h"
#include "protocol/amf_value.h"
#include "protocol/rtmp_chunk_reader.h"

namespace weir::protocol {

inline constexpr uint32_t kRtmpControlCsid = 2;

enum class UserControlEvent : uint16_t {
  kStreamBegin = 0,
  kStreamEof = 1,
  kStreamDry = 2,
  kSetBufferLength = 3,
  kStreamIsRecorded = 4,
  kPingRequest = 6,
  kPingResponse = 7,
};

// Set Peer Bandwidth limit types.
enum class BandwidthLimit : uint8_t { kHard = 0, kSoft = 1, kDynamic = 2 };

core::Slice make_set_chunk_size(uint32_t chunk_size, uint32_t new_chunk_size);
core::Slice make_abort(uint32_t chunk_size, uint32_t csid_to_abort);
core::Slice make_acknowledgement(uint32_t chunk_size, uint32_t sequence_number);
core::Slice make_window_ack_size(uint32_t chunk_size, uint32_t window);
core::Slice make_set_peer_bandwidth(uint32_t chunk_size, uint32_t window, BandwidthLimit limit);
// User control: `value` is the stream id (Stream*), or the timestamp (Ping*).
core::Slice make_user_control(uint32_t chunk_size, UserControlEvent event, uint32_t value);
core::Slice make_set_buffer_length(uint32_t chunk_size, uint32_t stream_id, uint32_t buffer_ms);

// AMF0 command (type 20): name, transaction id, then `args` (by convention
// args[0] is the command object or null, e.g. {null, info-object} for
// onStatus). Timestamp 0.
core::Slice make_command(uint32_t chunk_size, uint32_t csid, uint32_t stream_id,
                         std::string_view name, double transaction_id,
                         const std::vector<AmfValue>& args);
// AMF0 data message (type 18), e.g. {"onMetaData", ecma-array}.
core::Slice make_data(uint32_t chunk_size, uint32_t csid, uint32_t stream_id,
                      int64_t timestamp_ms, const std::vector<AmfValue>& values);

struct Command {
  std::string name;
  double transaction_id = 0;
  AmfValue command_object;     // Null when absent
  std::vector<AmfValue> args;  // everything after the command object
};

// Types 20 (AMF0) and 17 (AMF3 command: a 0x00 format byte, then AMF0 values
// that may switch to AMF3 with 0x11). The name must be a string; a missing
// transaction id reads as 0 and a missing command object as Null.
core::Result<Command> parse_command(const RtmpMessage& m);
// Types 18 (AMF0) and 15 (AMF3 data: 0x00 format byte, then as type 18).
core::Result<std::vector<AmfValue>> parse_data(const RtmpMessage& m);

// A data message as a packet on the data track, the way RTMP ingest publishes
// it and the RTMP client delivers it: a leading "@setDataFrame" is dropped,
// the values are re-encoded as AMF0 (an FLV script tag body, whatever AMF the
// message used), "onMetaData" is flagged kConfig, dts = pts = the message
// timestamp. nullopt for a data message without a leading name.
core::Result<std::optional<core::MediaPacket>> make_data_packet(const RtmpMessage& m);

struct UserControl {
  // Events outside the enum (e.g. FMS BufferEmpty 31) keep their wire value.
  UserControlEvent event = UserControlEvent::kStreamBegin;
  uint32_t value = 0;      // stream id or ping timestamp (0 if an unknown event has no data)
  uint32_t buffer_ms = 0;  // SetBufferLength only
};
core::Result<UserControl> parse_user_control(const RtmpMessage& m);

// Payload of Set Chunk Size / Abort / Acknowledgement / Window Ack Size.
core::Result<uint32_t> parse_u32_control(const RtmpMessage& m);
// What every RTMP endpoint owes its peer, kept per connection (server
// sessions and the client alike): an Acknowledgement each time the bytes
// received since the last one reach the window the peer set with Window
// Acknowledgement Size (RTMP 1.0 5.4.3), and a Ping Response echoing each
// Ping Request (7.1.7). One object per connection, used on its loop.
class RtmpPeerDuties {
 public:
  // Reads a Window Acknowledgement Size or User Control message (other types
  // are ignored) and returns what to send now: a Ping Response, or an empty
  // Slice. A malformed message is an error.
  core::Result<core::Slice> on_control(const RtmpMessage& m, uint32_t out_chunk_size);
  // After a read: the Acknowledgement due for `bytes_received` in total, or
  // an empty Slice.
  core::Slice ack_due(uint64_t bytes_received, uint32_t out_chunk_size);

 private:
  uint64_t window_ = 0;  // 0: the peer asked for none
  uint64_t last_ack_ = 0;
};

struct PeerBandwidth {
  uint32_t window = 0;
  BandwidthLimit limit = BandwidthLimit::kHard;
};
core::Result<PeerBandwidth> parse_set_peer_bandwidth(const RtmpMessage& m);

}  // namespace weir::protocol
