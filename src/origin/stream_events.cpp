#include "origin/stream_events.h"

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "origin/stream_hub.h"

namespace weir::origin {

void StreamEvents::on_stream_published(const std::shared_ptr<StreamHub>& stream, const PublishEvent& e) {
  emit_("stream.published", nlohmann::json{{"app", stream->app()},
                                           {"stream", stream->name()},
                                           {"protocol", e.protocol},
                                           {"peer", e.peer}}
                                .dump(),
        stream->app_config().name);
}

void StreamEvents::on_stream_ended(const std::shared_ptr<StreamHub>& stream, const std::string& why) {
  const StreamStats s = stream->stats();
  const int64_t now = core::wall_clock_ms();
  emit_("stream.unpublished",
        nlohmann::json{{"app", s.app},
                       {"stream", s.name},
                       {"protocol", s.publisher_protocol},
                       {"peer", s.publisher_peer},
                       {"reason", why},
                       {"duration_ms", s.published_at_ms > 0 && now > s.published_at_ms ? now - s.published_at_ms : 0},
                       {"bytes", s.bytes},
                       {"video_frames", s.video_frames},
                       {"audio_frames", s.audio_frames}}
            .dump(),
        stream->app_config().name);
}

}  // namespace weir::origin
