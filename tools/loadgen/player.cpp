#include "loadgen/player.h"

#include <uv.h>

#include "loadgen/runner.h"
#include "loadgen/parsers.h"
#include "protocol/codec_config.h"
#include "protocol/flv_tag.h"

namespace weir::loadgen {

void Player::start() {
  st_.started = true;
  st_.connect_start_us = mono_us();
  open_connection();
}

void Player::open_connection() {
  core::TcpConn* c = core::TcpConn::connect_to(runner_.loop(), runner_.address(), [this](core::TcpConn* conn, int status) {
    if (status != 0) {
      if (!ending_) fail(std::string("connect: ") + uv_strerror(status));
      conn->close();
      return;
    }
    if (ending_) {
      conn->close();
      return;
    }
    conn->start_reading();
    on_connected();
  });
  c->set_handler(this);
}

void Player::shutdown() {
  ending_ = true;
  close_conn();
}

void Player::close_conn() {
  if (conn_) conn_->close();
}

void Player::fail(std::string why) {
  if (ending_) return;
  st_.fail(std::move(why));
  ending_ = true;  // a failed player stays closed
  close_conn();
}

void Player::on_read(core::ByteView data) {
  int64_t now = mono_us();
  if (st_.first_byte_us < 0) st_.first_byte_us = now;
  st_.bytes += data.size();
  runner_.add_bytes(data.size());
  on_data(data, now);
}

void Player::on_read_end(int uv_status) {
  if (ending_) return close_conn();
  if (uv_status == UV_EOF) {
    close_conn();  // on_closed -> on_conn_closed decides
    return;
  }
  fail(std::string("socket: ") + uv_strerror(uv_status));
}

void Player::on_timeout(const char* what) { fail(what); }

void Player::on_closed() {
  if (!ending_) on_conn_closed();
}

void Player::on_conn_closed() { fail("server closed the connection"); }

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

void Player::on_flv_body(uint8_t tag_type, int64_t ts_ms, core::ByteView body, int64_t now_us) {
  if (tag_type == protocol::kFlvTagVideo) {
    auto info = protocol::parse_video_tag(body);
    if (!info) return;  // not a frame we can classify; bytes still count
    const auto& v = *info;
    if (v.is_config) {
      if (v.codec == core::Codec::kH264) {
        auto cfg = protocol::parse_avc_decoder_config(body.subspan(v.payload_offset, v.payload_size));
        if (cfg) nal_length_size_ = cfg->nal_length_size;
      }
      return;
    }
    if (!v.has_picture) return;
    on_frame(true, ts_ms, v.keyframe, now_us);
    if (v.codec == core::Codec::kH264) {
      if (auto t = find_probe_in_avcc(body.subspan(v.payload_offset, v.payload_size), nal_length_size_)) on_probe(*t, now_us);
    }
  } else if (tag_type == protocol::kFlvTagAudio) {
    if (body.empty()) return;
    auto info = protocol::parse_audio_tag(body);
    if (!info || !info->has_audio) return;
    on_frame(false, ts_ms, false, now_us);
  }
}

}  // namespace weir::loadgen
