#include "origin/viewer_activity.h"

#include "core/clock.h"
#include "origin/client_registry.h"
#include "origin/hls/hls_service.h"
#include "origin/hls/stream_hls.h"
#include "origin/origin.h"

namespace weir::origin {

bool has_viewers(Origin& origin, std::string_view app, std::string_view stream, const StreamHub* hub,
                 int64_t hls_recent_ms) {
  ClientFilter f;
  f.app = std::string(app);
  f.stream = std::string(stream);
  f.role = "play";
  if (!origin.clients().list(f, "", 1).items.empty()) return true;
  if (!hub) return false;
  auto store = origin.hls().find(hub);
  return store && core::wall_clock_ms() - store->last_request_ms() < hls_recent_ms;
}

}  // namespace weir::origin
