#include "protocol/rtmp_chunk_reader.h"

#include <algorithm>
#include <cstring>

namespace weir::protocol {

namespace {

constexpr uint32_t kExtendedMarker = 0xFFFFFF;
constexpr size_t kInitialReserve = 64 * 1024;
constexpr size_t kMessageHeaderSize[4] = {11, 7, 3, 0};

uint32_t be24(const uint8_t* p) { return uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2]; }
uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
uint32_t le32(const uint8_t* p) {
  return uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0];
}

}  // namespace

struct ChunkReader::ChunkStream {
  uint32_t csid = 0;
  // Last message header seen on this chunk stream.
  bool has_header = false;
  uint32_t length = 0;
  uint8_t type_id = 0;
  uint32_t stream_id = 0;
  uint32_t ts_field = 0;  // last timestamp field (delta or absolute; the extended value if used)
  bool extended = false;  // the last header carried an extended timestamp
  uint32_t ts32 = 0;      // wire timestamp of the current / last message
  int64_t ts64 = 0;       // its 64-bit extension
  bool have_ts64 = false;
  // Partial message.
  bool in_message = false;
  uint32_t received = 0;
  size_t capacity = 0;
  core::ByteWriter payload{16};
};

struct ChunkReader::Header {
  uint8_t fmt = 0;
  uint32_t csid = 0;
  bool continuation = false;  // fmt 3 chunk of a message already in progress
  uint32_t ts_field = 0;      // 24-bit field (fmt 0..2)
  bool has_ext = false;
  uint32_t ext = 0;
  uint32_t length = 0;
  uint8_t type_id = 0;
  uint32_t stream_id = 0;
};

ChunkReader::ChunkReader(ChunkReaderLimits limits) : limits_(limits) {}
ChunkReader::~ChunkReader() { release_buffer(buffered_); }

core::Status ChunkReader::reserve_buffer(uint64_t n, uint32_t csid) {
  if (buffered_ + n > limits_.max_buffered_bytes)
    return core::Status::errorf(
        "rtmp chunk: partial messages would hold {} bytes, over this session's cap of {} (chunk stream {})",
        buffered_ + n, limits_.max_buffered_bytes, csid);
  if (limits_.shared && !limits_.shared->try_reserve(n))
    return core::Status::errorf(
        "rtmp chunk: the process-wide reassembly budget of {} bytes is used up ({} bytes held by all sessions); "
        "closing this session (chunk stream {})",
        limits_.shared->cap(), limits_.shared->used(), csid);
  buffered_ += n;
  return core::Status::ok();
}

void ChunkReader::release_buffer(uint64_t n) {
  n = std::min(n, buffered_);
  buffered_ -= n;
  if (limits_.shared) limits_.shared->release(n);
}

core::Status ChunkReader::fail(core::Status st) {
  failure_ = st;
  return st;
}

ChunkReader::ChunkStream* ChunkReader::find_stream(uint32_t csid) {
  auto it = streams_.find(csid);
  return it == streams_.end() ? nullptr : it->second.get();
}

size_t ChunkReader::parse_header(core::ByteView in, Header& h) {
  const uint8_t* p = in.data();
  size_t n = in.size();
  if (n < 1) return 0;
  h.fmt = p[0] >> 6;
  size_t pos;
  switch (p[0] & 0x3F) {
    case 0:
      if (n < 2) return 0;
      h.csid = 64 + p[1];
      pos = 2;
      break;
    case 1:
      if (n < 3) return 0;
      h.csid = 64 + p[1] + uint32_t(p[2]) * 256;
      pos = 3;
      break;
    default:
      h.csid = p[0] & 0x3F;
      pos = 1;
      break;
  }
  const ChunkStream* cs = find_stream(h.csid);
  bool known = cs && cs->has_header;
  if (h.fmt != 0 && !known && !(h.fmt == 1 && h.csid == 2)) {
    failure_ = core::Status::errorf("rtmp chunk: fmt {} chunk on chunk stream {} with no previous header",
                              h.fmt, h.csid);
    return 0;
  }
  if (cs && cs->in_message && h.fmt != 3) {
    failure_ = core::Status::errorf(
        "rtmp chunk: fmt {} header on chunk stream {} while its message is incomplete ({} of {} "
        "bytes)",
        h.fmt, h.csid, cs->received, cs->length);
    return 0;
  }
  size_t mh = kMessageHeaderSize[h.fmt];
  if (n < pos + mh) return 0;
  const uint8_t* m = p + pos;
  bool want_ext;
  if (h.fmt <= 2) {
    h.ts_field = be24(m);
    want_ext = h.ts_field == kExtendedMarker;
  } else {
    want_ext = cs->extended;
  }
  if (h.fmt <= 1) {
    h.length = be24(m + 3);
    h.type_id = m[6];
    if (h.length > limits_.max_message_size) {
      failure_ = core::Status::errorf(
          "rtmp chunk: message length {} exceeds max_message_size {} (chunk stream {}, type {})",
          h.length, limits_.max_message_size, h.csid, h.type_id);
      return 0;
    }
  }
  if (h.fmt == 0) h.stream_id = le32(m + 7);
  pos += mh;
  h.continuation = h.fmt == 3 && cs->in_message;
  h.has_ext = false;
  if (want_ext) {
    if (n < pos + 4) return 0;
    uint32_t v = be32(p + pos);
    // On a continuation chunk the field is optional in practice (see header):
    // take it only when it repeats the header's value.
    if (!h.continuation || v == cs->ts_field || v == cs->ts32) {
      h.has_ext = true;
      h.ext = v;
      pos += 4;
    }
  }
  return pos;
}

core::Status ChunkReader::begin_chunk(const Header& h) {
  ChunkStream* cs = find_stream(h.csid);
  if (!cs) {
    if (streams_.size() >= limits_.max_chunk_streams) {
      return core::Status::errorf("rtmp chunk: more than {} chunk streams in use (csid {})",
                                  limits_.max_chunk_streams, h.csid);
    }
    auto owned = std::make_unique<ChunkStream>();
    cs = owned.get();
    cs->csid = h.csid;
    streams_.emplace(h.csid, std::move(owned));
  }
  if (h.continuation) {
    current_ = cs;
    chunk_left_ = std::min(chunk_size_, cs->length - cs->received);
    return core::Status::ok();
  }

  // First chunk of a new message: work out its header.
  uint32_t field = h.has_ext ? h.ext : h.ts_field;
  switch (h.fmt) {
    case 0:
      cs->length = h.length;
      cs->type_id = h.type_id;
      cs->stream_id = h.stream_id;
      cs->ts_field = field;
      cs->extended = h.has_ext;
      cs->ts32 = field;
      break;
    case 1:
      if (!cs->has_header) {
        // librtmp's fresh csid 2 with fmt 1: treat the delta as absolute.
        cs->stream_id = 0;
        cs->ts32 = 0;
      }
      cs->length = h.length;
      cs->type_id = h.type_id;
      cs->ts_field = field;
      cs->extended = h.has_ext;
      cs->ts32 += field;
      break;
    case 2:
      cs->ts_field = field;
      cs->extended = h.has_ext;
      cs->ts32 += field;
      break;
    default:  // 3: same delta as before (the extended value again if one was read)
      if (h.has_ext) cs->ts_field = field;
      cs->ts32 += cs->ts_field;
      break;
  }
  cs->has_header = true;
  if (!cs->have_ts64) {
    cs->ts64 = cs->ts32;
    cs->have_ts64 = true;
  } else {
    // Signed distance from the previous message's wire time, so a 32-bit
    // wrap carries on upwards. Before the first wrap there is nothing below
    // zero to step back into: a huge backwards distance is a forward jump.
    static_assert(sizeof(int32_t) == 4);
    int64_t prev32 = cs->ts64 & 0xFFFFFFFF;
    int32_t d = int32_t(uint32_t(cs->ts32 - uint32_t(prev32)));
    int64_t next = cs->ts64 + d;
    cs->ts64 = next < 0 ? int64_t(cs->ts32) : next;
  }
  cs->received = 0;
  if (cs->length == 0) {
    current_ = nullptr;  // complete already; the caller delivers it
    chunk_left_ = 0;
    return core::Status::ok();
  }
  if (incomplete_ >= limits_.max_incomplete_messages) {
    return core::Status::errorf(
        "rtmp chunk: more than {} chunk streams hold incomplete messages (csid {})",
        limits_.max_incomplete_messages, h.csid);
  }
  const size_t first = std::min<size_t>(cs->length, kInitialReserve);
  if (auto st = reserve_buffer(first, h.csid); !st) return st;
  ++incomplete_;
  cs->in_message = true;
  cs->capacity = first;
  cs->payload = core::ByteWriter(cs->capacity);
  current_ = cs;
  chunk_left_ = std::min(chunk_size_, cs->length);
  return core::Status::ok();
}

core::Status ChunkReader::apply_control(const RtmpMessage& m) {
  if (m.type_id == rtmp_type::kSetChunkSize) {
    if (m.payload.size() < 4) {
      return core::Status::errorf("rtmp chunk: set chunk size payload of {} bytes (need 4)",
                                  m.payload.size());
    }
    uint32_t v = be32(m.payload.data());
    if (v == 0 || (v & 0x80000000u)) {
      return core::Status::errorf("rtmp chunk: invalid chunk size {}", v);
    }
    chunk_size_ = std::min(v, kRtmpMaxChunkSize);
  } else if (m.type_id == rtmp_type::kAbort) {
    if (m.payload.size() < 4) {
      return core::Status::errorf("rtmp chunk: abort payload of {} bytes (need 4)",
                                  m.payload.size());
    }
    ChunkStream* cs = find_stream(be32(m.payload.data()));
    if (cs && cs->in_message) {
      cs->in_message = false;
      cs->received = 0;
      cs->payload = core::ByteWriter(16);
      release_buffer(cs->capacity);
      cs->capacity = 0;
      --incomplete_;
    }
  }
  return core::Status::ok();
}

core::Status ChunkReader::complete_message(ChunkStream& cs, const Callback& on_message) {
  RtmpMessage m;
  m.type_id = cs.type_id;
  m.stream_id = cs.stream_id;
  m.csid = cs.csid;
  m.timestamp = cs.ts64;
  if (cs.in_message) {
    m.payload = cs.payload.finish();
    cs.in_message = false;
    release_buffer(cs.capacity);  // the message is the caller's now
    cs.capacity = 0;
    cs.received = 0;
    --incomplete_;
  }
  if (auto st = apply_control(m); !st) return st;
  return on_message(std::move(m));
}

core::Status ChunkReader::feed(core::ByteView data, const Callback& on_message) {
  if (!failure_.is_ok()) return failure_;
  bytes_received_ += data.size();
  const uint8_t* p = data.data();
  size_t size = data.size();
  size_t pos = 0;
  for (;;) {
    if (current_) {
      if (pos == size) break;
      ChunkStream& cs = *current_;
      size_t n = std::min<size_t>(chunk_left_, size - pos);
      if (cs.received + n > cs.capacity) {
        // Grow with what has arrived, never beyond the declared length.
        size_t cap = std::min<size_t>(cs.length, std::max(cs.capacity * 2, cs.received + n));
        if (auto st = reserve_buffer(cap - cs.capacity, cs.csid); !st) return fail(st);
        core::ByteWriter bigger(cap);
        bigger.bytes(cs.payload.view());
        cs.payload = std::move(bigger);
        cs.capacity = cap;
      }
      cs.payload.bytes(core::ByteView(p + pos, n));
      cs.received += uint32_t(n);
      chunk_left_ -= uint32_t(n);
      pos += n;
      if (chunk_left_ == 0) {
        current_ = nullptr;
        if (cs.received == cs.length) {
          if (auto st = complete_message(cs, on_message); !st) return fail(st);
        }
      }
      continue;
    }

    if (pos == size) break;
    Header h;
    size_t used;
    if (carry_len_ == 0) {
      used = parse_header(core::ByteView(p + pos, size - pos), h);
      if (!failure_.is_ok()) return failure_;
      if (used == 0) {
        // A header never exceeds 18 bytes, so the rest fits the carry.
        carry_len_ = size - pos;
        std::memcpy(carry_, p + pos, carry_len_);
        break;
      }
      pos += used;
    } else {
      uint8_t tmp[sizeof(carry_)];
      size_t take = std::min(sizeof(tmp) - carry_len_, size - pos);
      std::memcpy(tmp, carry_, carry_len_);
      std::memcpy(tmp + carry_len_, p + pos, take);
      used = parse_header(core::ByteView(tmp, carry_len_ + take), h);
      if (!failure_.is_ok()) return failure_;
      if (used == 0) {
        std::memcpy(carry_ + carry_len_, p + pos, take);
        carry_len_ += take;
        pos += take;
        break;
      }
      if (used < carry_len_) {
        // The header ended inside the carried bytes: a fmt 3 header whose next
        // 4 bytes turned out not to repeat the extended timestamp. The rest
        // of the carry is chunk payload; parse it before any new input.
        size_t extra = carry_len_ - used;
        uint8_t leftover[sizeof(carry_)];
        std::memcpy(leftover, carry_ + used, extra);
        carry_len_ = 0;
        if (auto st = begin_chunk(h); !st) return fail(st);
        if (!current_) {
          ChunkStream* cs = find_stream(h.csid);
          if (auto st = complete_message(*cs, on_message); !st) return fail(st);
        }
        bytes_received_ -= extra;  // counted when they first arrived
        if (auto st = feed(core::ByteView(leftover, extra), on_message); !st) return st;
        continue;
      }
      pos += used - carry_len_;
      carry_len_ = 0;
    }
    if (auto st = begin_chunk(h); !st) return fail(st);
    if (!current_) {
      // Zero-length message: complete with its header.
      ChunkStream* cs = find_stream(h.csid);
      if (auto st = complete_message(*cs, on_message); !st) return fail(st);
    }
  }
  return core::Status::ok();
}

}  // namespace weir::protocol
