// GopRing: the recent packets of one stream, in publish order, addressed by a
// sequence number that only grows. Holds the GOP cache new viewers start from
// and the backlog slow viewers read from.
//
// Bounds: by media duration and by bytes; eviction removes whole GOPs from the
// front and always keeps the newest GOP, unless that GOP alone exceeds the byte
// cap (then packets are dropped from its front and no start point remains
// until the next keyframe).
// Sync points: video keyframes; in a stream that has shown no video, every
// audio packet (audio-only streams start anywhere).
// Thread: not synchronised; each owner (master ring under the hub mutex, or a
// loop's ring on its thread) guards it.
#pragma once

#include <cstdint>
#include <deque>

#include "origin/hub_packet.h"

namespace weir::origin {

// A point where a viewer can start: the sync packet's sequence number and the
// codec config and metadata in effect just before it.
struct GopStart {
  uint64_t seq = 0;
  int64_t dts = 0;
  PacketRef video_config;
  PacketRef audio_config;
  PacketRef metadata;
};

class GopRing {
 public:
  struct Limits {
    int64_t max_ms = 10000;
    uint64_t max_bytes = 64 << 20;
  };
  explicit GopRing(Limits limits) : limits_(limits) {}

  void push(PacketRef pkt);
  void clear();
  // For a ring seeded from another one: the configs in effect before the
  // first packet pushed (their own packets may be long evicted).
  void set_initial_configs(PacketRef video, PacketRef audio, PacketRef metadata);

  // [first_seq, end_seq) are readable.
  uint64_t first_seq() const { return first_seq_; }
  uint64_t end_seq() const { return first_seq_ + entries_.size(); }
  bool contains(uint64_t seq) const { return seq >= first_seq_ && seq < end_seq(); }
  const PacketRef& at(uint64_t seq) const { return entries_[seq - first_seq_].pkt; }
  bool is_sync(uint64_t seq) const { return entries_[seq - first_seq_].sync; }
  // Bytes (body sizes) published from `seq` to the end; seq below first_seq
  // counts as first_seq.
  uint64_t bytes_from(uint64_t seq) const;

  const GopStart* latest_start() const { return starts_.empty() ? nullptr : &starts_.back(); }
  // The newest start point with dts <= dts (nullptr if none is that old).
  const GopStart* start_at_or_before(int64_t dts) const;
  // The start point at exactly `seq` (a sync packet), or nullptr.
  const GopStart* start_for(uint64_t seq) const;
  const GopStart* oldest_start() const { return starts_.empty() ? nullptr : &starts_.front(); }

  // Config and metadata in effect after the newest packet.
  const PacketRef& video_config() const { return video_config_; }
  const PacketRef& audio_config() const { return audio_config_; }
  const PacketRef& metadata() const { return metadata_; }

  size_t packet_count() const { return entries_.size(); }
  uint64_t bytes() const { return total_bytes_ - front_bytes_; }
  int64_t duration_ms() const;
  uint64_t evicted_gops() const { return evicted_gops_; }
  bool video_seen() const { return video_seen_; }
  bool audio_seen() const { return audio_seen_; }
  const Limits& limits() const { return limits_; }

 private:
  struct Entry {
    PacketRef pkt;
    uint64_t start_bytes;  // total_bytes_ before this packet
    bool sync;
  };
  void pop_front();
  void evict();

  Limits limits_;
  std::deque<Entry> entries_;
  std::deque<GopStart> starts_;
  uint64_t first_seq_ = 0;
  uint64_t total_bytes_ = 0;   // bytes ever pushed
  uint64_t front_bytes_ = 0;   // bytes ever evicted
  uint64_t evicted_gops_ = 0;
  bool video_seen_ = false;
  bool audio_seen_ = false;
  PacketRef video_config_, audio_config_, metadata_;
};

}  // namespace weir::origin
