#include "loadgen/rtmp_player.h"

#include "loadgen/runner.h"

namespace weir::loadgen {

void RtmpPlayer::open() {
  client::RtmpClientOptions o;
  o.mode = client::RtmpMode::kPlay;
  o.response_timeout_ms = 0;
  o.stall_timeout_ms = 0;
  client_ = std::make_unique<client::RtmpClient>(runner_.loop(), static_cast<client::RtmpClient::Handler&>(*this), o);
  if (core::Status st = client_->start(runner_.options().url_text); !st) fail(st.message());
}

}  // namespace weir::loadgen
