#include "transcode/mix_engine.h"

namespace weir::transcode {

MixEngine::MixEngine(const MixSpec& spec, int encoder_threads)
    : fps_(spec.fps), video_(spec, encoder_threads), audio_(spec) {}

void MixEngine::push(const std::string& key, const core::MediaPacket& pkt, int64_t now_ms) {
  MixClock& clock = clocks_[key];
  if (!pkt.is_config() && (pkt.is_video() || pkt.is_audio())) clock.observe(pkt.dts, now_ms);
  if (pkt.is_video()) video_.push(key, pkt);
  else if (pkt.is_audio()) audio_.push(key, pkt);
}

void MixEngine::lost(const std::string& key) {
  video_.lost(key);
  audio_.lost(key);
  clocks_.erase(key);  // its next publish has a timeline of its own
}

void MixEngine::set_spec(const MixSpec& spec) {
  video_.set_spec(spec);
  audio_.set_spec(spec);
  std::map<std::string, MixClock> kept;
  for (const auto& in : spec.inputs)
    if (auto it = clocks_.find(in.key()); it != clocks_.end()) kept.emplace(it->first, it->second);
  clocks_ = std::move(kept);
}

const MixClock* MixEngine::clock(const std::string& key) const {
  auto it = clocks_.find(key);
  return it == clocks_.end() ? nullptr : &it->second;
}

core::Status MixEngine::tick(int64_t frame, int64_t now_ms, std::vector<core::MediaPacket>& out) {
  const int64_t pts = frame * 1000 / fps_;
  std::vector<core::MediaPacket> v, a;
  if (core::Status st = video_.tick(pts, now_ms, clocks_, v); !st) return st;
  if (core::Status st = audio_.tick(frame * MixAudio::kRate / fps_, clocks_, a); !st) return st;
  if (!sent_audio_config_ && audio_.config()) {
    out.push_back(*audio_.config());
    sent_audio_config_ = true;
  }
  for (auto& p : v) {
    if (!p.is_config()) last_video_dts_ = p.dts;
    out.push_back(std::move(p));
  }
  for (auto& p : a) held_audio_.push_back(std::move(p));
  while (!held_audio_.empty() && (held_audio_.front().dts <= last_video_dts_ || held_audio_.size() > kMaxHeldAudio)) {
    out.push_back(std::move(held_audio_.front()));
    held_audio_.pop_front();
  }
  return core::Status::ok();
}

}  // namespace weir::transcode
