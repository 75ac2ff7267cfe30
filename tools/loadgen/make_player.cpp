#include "loadgen/flv_player.h"
#include "loadgen/hls_player.h"
#include "loadgen/player.h"
#include "loadgen/rtmp_player.h"

namespace weir::loadgen {

std::unique_ptr<Player> make_player(PlayerKind kind, Runner& runner, PlayerStats& stats) {
  switch (kind) {
    case PlayerKind::kRtmp: return std::make_unique<RtmpPlayer>(runner, stats);
    case PlayerKind::kFlv: return std::make_unique<FlvPlayer>(runner, stats, false);
    case PlayerKind::kWsFlv: return std::make_unique<FlvPlayer>(runner, stats, true);
    case PlayerKind::kHls: return std::make_unique<HlsPlayer>(runner, stats, false);
    case PlayerKind::kLlHls: return std::make_unique<HlsPlayer>(runner, stats, true);
  }
  return nullptr;
}

}  // namespace weir::loadgen
