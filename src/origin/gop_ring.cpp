#include "origin/gop_ring.h"

#include <algorithm>

namespace weir::origin {

void GopRing::push(PacketRef pkt) {
  const core::MediaPacket& m = pkt->media();
  if (m.is_video() && !m.is_config()) video_seen_ = true;
  if (m.is_audio()) audio_seen_ = true;
  bool sync = false;
  if (m.is_config()) {
    (m.is_video() ? video_config_ : m.is_audio() ? audio_config_ : metadata_) = pkt;
  } else if (m.is_video()) {
    sync = m.is_keyframe();
  } else if (m.is_audio()) {
    sync = !video_seen_;
  }
  uint64_t seq = end_seq();
  entries_.push_back(Entry{pkt, total_bytes_, sync});
  total_bytes_ += pkt->body_size();
  if (sync) {
    // Once video shows up, audio-only start points are no longer valid ones.
    if (m.is_video()) {
      while (!starts_.empty() && !at(starts_.back().seq)->media().is_video()) starts_.pop_back();
    }
    starts_.push_back(GopStart{seq, m.dts, video_config_, audio_config_, metadata_});
  }
  evict();
}

void GopRing::pop_front() {
  front_bytes_ += entries_.front().pkt->body_size();
  entries_.pop_front();
  ++first_seq_;
}

int64_t GopRing::duration_ms() const {
  if (entries_.empty()) return 0;
  return entries_.back().pkt->media().dts - entries_.front().pkt->media().dts;
}

void GopRing::evict() {
  auto over = [&] {
    return bytes() > limits_.max_bytes ||
           (!starts_.empty() && entries_.back().pkt->media().dts - starts_.front().dts > limits_.max_ms);
  };
  while (!entries_.empty() && over()) {
    if (starts_.size() >= 2) {
      uint64_t next = starts_[1].seq;
      while (first_seq_ < next) pop_front();
      starts_.pop_front();
      ++evicted_gops_;
    } else if (bytes() > limits_.max_bytes) {
      // Hard cap: a single GOP larger than the cap loses its head; no start
      // point remains until the next sync packet.
      pop_front();
      if (!starts_.empty() && starts_.front().seq < first_seq_) {
        starts_.pop_front();
        ++evicted_gops_;
      }
    } else {
      break;  // only the newest GOP left and it is within the byte cap: keep it
    }
  }
}

void GopRing::set_initial_configs(PacketRef video, PacketRef audio, PacketRef metadata) {
  video_config_ = std::move(video);
  audio_config_ = std::move(audio);
  metadata_ = std::move(metadata);
}

void GopRing::clear() {
  while (!entries_.empty()) pop_front();
  starts_.clear();
}

uint64_t GopRing::bytes_from(uint64_t seq) const {
  if (seq < first_seq_) seq = first_seq_;
  if (seq >= end_seq()) return 0;
  return total_bytes_ - entries_[seq - first_seq_].start_bytes;
}

const GopStart* GopRing::start_for(uint64_t seq) const {
  auto it = std::lower_bound(starts_.begin(), starts_.end(), seq,
                             [](const GopStart& g, uint64_t s) { return g.seq < s; });
  return it != starts_.end() && it->seq == seq ? &*it : nullptr;
}

const GopStart* GopRing::start_at_or_before(int64_t dts) const {
  const GopStart* best = nullptr;
  for (auto it = starts_.rbegin(); it != starts_.rend(); ++it) {
    if (it->dts <= dts) {
      best = &*it;
      break;
    }
  }
  return best;
}

}  // namespace weir::origin
