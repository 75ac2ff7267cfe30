// Aggregate messages (type 22): a run of FLV tags (11-byte tag header, body,
// 4-byte back pointer) in one RTMP message, as FMS/Wowza send when relaying.
//
// Sub-message timestamps are rebased the way FFmpeg and nginx-rtmp do: the
// first tag's timestamp maps to the aggregate's timestamp and later tags keep
// their distance to it (signed 32-bit distance, so a wrap inside the run is
// harmless). Sub-messages inherit the aggregate's message stream id and csid;
// their payloads share the aggregate's buffer (no copy).
//
// Only audio (8), video (9) and data (15, 18) tags are accepted inside an
// aggregate; anything else (notably control messages or another aggregate)
// is an error. Every length is checked; a missing back pointer after the last
// tag is tolerated, a truncated tag is not.
//
// Pure; may be called from any thread.
#pragma once

#include <functional>

#include "core/status.h"
#include "protocol/rtmp_chunk_reader.h"

namespace weir::protocol {

// Calls on_part for each sub-message in order; a non-ok status from it stops
// the walk and is returned.
core::Status for_each_aggregate_part(const RtmpMessage& agg,
                                     const std::function<core::Status(RtmpMessage&&)>& on_part);

// True for the message types that carry a stream's own content: audio (8),
// video (9), data (18, 15) and aggregates (22).
bool is_stream_message(uint8_t type_id);
// Routes one such message as RTMP ingest and the RTMP client both read a
// stream: audio and video to on_media, data to on_data, each part of an
// aggregate the same way. Other types: ok, nothing called.
core::Status route_stream_message(RtmpMessage&& m, const std::function<core::Status(RtmpMessage&&)>& on_media,
                                  const std::function<core::Status(const RtmpMessage&)>& on_data);

}  // namespace weir::protocol
