// Fuzz target: RTMP chunk stream parsing with small limits, fed in pieces
// whose sizes come from the first input byte; every message is then handed to
// the parsers a session would use (commands, data, user control, aggregates).
#include <cstdint>
#include <cstdlib>

#include "core/buffer.h"
#include "protocol/rtmp_aggregate.h"
#include "protocol/rtmp_chunk_reader.h"
#include "protocol/rtmp_messages.h"

using namespace weir;
using namespace weir::protocol;

namespace {

core::Status inspect(RtmpMessage&& m) {
  switch (m.type_id) {
    case rtmp_type::kCommandAmf0:
    case rtmp_type::kCommandAmf3: (void)parse_command(m); break;
    case rtmp_type::kDataAmf0:
    case rtmp_type::kDataAmf3: {
      auto pkt = make_data_packet(m);
      if (pkt && *pkt && (*pkt)->body.empty()) abort();  // a named data message re-encodes to bytes
      break;
    }
    case rtmp_type::kUserControl: (void)parse_user_control(m); break;
    case rtmp_type::kSetPeerBandwidth: (void)parse_set_peer_bandwidth(m); break;
    case rtmp_type::kAcknowledgement: (void)parse_u32_control(m); break;
    case rtmp_type::kWindowAckSize: {
      RtmpPeerDuties duties;
      if (duties.on_control(m, 128)) (void)duties.ack_due(uint64_t(1) << 40, 128);
      break;
    }
    case rtmp_type::kAggregate:
      (void)for_each_aggregate_part(m, [](RtmpMessage&& part) {
        if (part.payload.size() > 4096) abort();
        return core::Status::ok();
      });
      break;
    default: break;
  }
  if (m.payload.size() > 4096) abort();  // max_message_size below
  return core::Status::ok();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t step = data[0] == 0 ? size : data[0];
  ++data;
  --size;
  ChunkReader reader(ChunkReaderLimits{.max_message_size = 4096,
                                       .max_incomplete_messages = 4,
                                       .max_chunk_streams = 16});
  size_t pos = 0;
  while (pos < size) {
    size_t n = std::min(step, size - pos);
    if (!reader.feed(core::ByteView(data + pos, n), inspect)) break;
    pos += n;
  }
  if (reader.bytes_received() > size) abort();
  return 0;
}
