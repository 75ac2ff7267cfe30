// Per-app delivery sections: HLS / LL-HLS packaging, the time-shift buffer and
// SRT per app.
// Part of the typed configuration (core/config.h includes every part; the
// rules of config.h hold here: each field listed once in its visit(), read-only
// after start).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/cidr.h"
#include "core/config_schema.h"
#include "core/status.h"

namespace weir::core {

// HLS and LL-HLS output of an app's streams.
struct HlsConfig {
  bool enabled = true;
  int64_t segment_ms = 2000;
  int64_t window_segments = 6;
  bool ll = true;
  int64_t part_ms = 400;
  int64_t idle_timeout_ms = 30000;
  int64_t max_blocking_requests = 2000;
  std::string encryption = "none";
  int64_t key_rotation_segments = 10;

  template <class V>
  void visit(V& v) {
    v.field("enabled", enabled, config::NoCheck{},
            "Serve /{app}/{stream}.m3u8 (MPEG-TS) and /{app}/{stream}/llhls.m3u8 (fMP4/CMAF).");
    v.field("segment_ms", segment_ms, config::IntRange{1000, 30000},
            "Target segment duration; segments are cut at the first keyframe past it.");
    v.field("window_segments", window_segments, config::IntRange{2, 100},
            "Segments listed in a live playlist (the sliding window).");
    v.field("ll", ll, config::NoCheck{},
            "Low-Latency HLS on the fMP4 playlist: partial segments, blocking reload, delta updates.");
    v.field("part_ms", part_ms, config::IntRange{100, 5000}, "Target duration (maximum) of LL-HLS partial segments; best a whole number of frames that divides "
            "segment_ms (400: 10 frames at 25 fps, 12 at 30).");
    v.field("idle_timeout_ms", idle_timeout_ms, config::IntRange{1000, 3600000},
            "Stop packaging a stream this long after its last HLS request (unless time-shift needs it).");
    v.field("max_blocking_requests", max_blocking_requests, config::IntRange{1, 1000000},
            "Blocking playlist/part requests held at once per stream; more are answered 503.");
    v.field("encryption", encryption, config::OneOf{{"none", "aes-128"}},
            "none, or aes-128: MPEG-TS segments encrypted (EXT-X-KEY METHOD=AES-128).");
    v.field("key_rotation_segments", key_rotation_segments, config::IntRange{1, 100000},
            "With aes-128, a new key every this many segments.");
  }
};

// A rolling buffer of a stream's past segments, addressable by URL.
struct TimeshiftConfig {
  bool enabled = false;
  int64_t window_ms = 600000;
  config::ByteSize memory_bytes = 256 * config::MiB;
  config::ByteSize disk_bytes = 4 * config::GiB;
  std::string dir = "/tmp/weir-timeshift";

  template <class V>
  void visit(V& v) {
    v.field("enabled", enabled, config::NoCheck{},
            "Keep past segments so players can ask for ?delay=, ?start=, ?end= (HLS) and ?delay= (HTTP-FLV).");
    v.field("window_ms", window_ms, config::IntRange{10000, 7LL * 24 * 3600 * 1000},
            "How far back positions can be asked for.");
    v.field("memory_bytes", memory_bytes, config::IntRange{1 << 20, 64LL << 30},
            "Segment bytes kept in memory per stream; older segments spill to disk.");
    v.field("disk_bytes", disk_bytes, config::IntRange{0, 16LL << 40},
            "Segment bytes kept on disk per stream; the oldest are deleted first (0 = no disk).");
    v.field("dir", dir, config::NoCheck{}, "Directory for spilled segments (created if missing).");
  }
};

// SRT settings of an app's connections (set on each accepted socket).
struct AppSrtConfig {
  int64_t latency_ms = 120;
  int64_t peer_latency_ms = 120;
  std::string passphrase;
  int64_t pbkeylen = 0;
  int64_t max_bw = 0;
  int64_t overhead_pct = 25;
  int64_t payload_size = 1316;

  template <class V>
  void visit(V& v) {
    v.field("latency_ms", latency_ms, config::IntRange{20, 10000},
            "Receiver latency (SRTO_RCVLATENCY): how long SRT waits for retransmissions.");
    v.field("peer_latency_ms", peer_latency_ms, config::IntRange{20, 10000},
            "Latency asked of the peer as sender (SRTO_PEERLATENCY).");
    v.field("passphrase", passphrase, config::Secret{},
            "Encryption passphrase, 10 to 79 characters (empty = unencrypted); peers must use the same.");
    v.field("pbkeylen", pbkeylen, config::IntRange{0, 32}, "AES key length: 0 (auto), 16, 24 or 32 bytes.");
    v.field("max_bw", max_bw, config::IntRange{0, 10LL << 30},
            "Send rate cap towards players, bytes/s (0 = input rate plus overhead_pct).");
    v.field("overhead_pct", overhead_pct, config::IntRange{5, 100},
            "Retransmission headroom above the input rate when max_bw is 0 (SRTO_OHEADBW).");
    v.field("payload_size", payload_size, config::IntRange{188, 1456},
            "Bytes per SRT packet (SRTO_PAYLOADSIZE; 1316 = 7 TS packets).");
  }
};

}  // namespace weir::core
