#include "loadgen/player.h"

#include "loadgen/parsers.h"
#include "loadgen/runner.h"
#include "protocol/codec_config.h"

namespace weir::loadgen {

void Player::start() {
  st_.started = true;
  st_.connect_start_us = mono_us();
  open();
}

void Player::shutdown() {
  ending_ = true;
  close();
}

void Player::fail(std::string why) {
  if (ending_) return;
  st_.fail(std::move(why));
  ending_ = true;  // a failed player stays closed
  close();
}

void Player::on_bytes_read(size_t n) {
  now_us_ = mono_us();
  if (st_.first_byte_us < 0) st_.first_byte_us = now_us_;
  st_.bytes += n;
  runner_.add_bytes(n);
}

void Player::mark_connected() { st_.connected = true; }

void Player::tick(int64_t now_us) {
  if (st_.failed || !st_.started) return;
  int64_t since = st_.last_media_us >= 0 ? st_.last_media_us : st_.connect_start_us;
  if (!st_.in_stall && now_us - since >= runner_.stall_us()) {
    st_.in_stall = true;
    ++st_.stalls;
  }
}

void Player::finish(int64_t end_us) {
  if (!st_.started) return;
  if (!st_.failed) tick(end_us);
  if (st_.ref_us >= 0 && st_.last_media_us - st_.ref_us >= 500000) {
    st_.media_time_ratio = double(st_.max_ts_ms - st_.ref_ts_ms) * 1000.0 / double(st_.last_media_us - st_.ref_us);
  }
}

void Player::on_frame(bool video, int64_t dts_ms, bool keyframe, int64_t now_us) {
  if (st_.first_media_us < 0) {
    st_.first_media_us = now_us;
    mark_connected();
  }
  if (video && keyframe && st_.first_keyframe_us < 0) st_.first_keyframe_us = now_us;
  st_.last_media_us = now_us;
  st_.in_stall = false;
  ++st_.frames;
  if (!st_.have_ts || dts_ms > st_.max_ts_ms) st_.max_ts_ms = dts_ms;
  st_.have_ts = true;
  if (st_.ref_us < 0 && now_us - st_.first_media_us >= runner_.warmup_us()) {
    st_.ref_us = now_us;
    st_.ref_ts_ms = st_.max_ts_ms;
  }
}

void Player::on_probe(uint64_t send_us, int64_t now_us) {
  // Frames before the steady window are the start-up burst (GOP cache):
  // they were sent long ago and say nothing about the server's added latency.
  if (st_.first_media_us < 0 || now_us - st_.first_media_us < runner_.warmup_us()) return;
  int64_t lat = int64_t(wall_clock_us()) - int64_t(send_us);
  runner_.latency().add(lat);
}

// make_media_packet leaves the payload empty for tags without media (command
// frames, E-RTMP metadata, end of sequence), so "a frame" is a non-config
// packet with a payload.
void Player::on_media(const core::MediaPacket& pkt) {
  if (pkt.is_video()) {
    if (pkt.is_config()) {
      if (pkt.codec == core::Codec::kH264) {
        auto cfg = protocol::parse_avc_decoder_config(pkt.payload());
        if (cfg) nal_length_size_ = cfg->nal_length_size;
      }
      return;
    }
    core::ByteView payload = pkt.payload();
    if (payload.empty()) return;
    on_frame(true, pkt.dts, pkt.is_keyframe(), now_us_);
    if (pkt.codec == core::Codec::kH264) {
      if (auto t = find_probe_in_avcc(payload, nal_length_size_)) on_probe(*t, now_us_);
    }
  } else if (pkt.is_audio()) {
    if (pkt.is_config() || pkt.payload().empty()) return;
    on_frame(false, pkt.dts, false, now_us_);
  }
}

}  // namespace weir::loadgen
