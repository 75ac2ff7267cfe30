#include "origin/api/stream_media.h"

#include <map>
#include <string>

#include "core/clock.h"
#include "origin/origin.h"
#include "origin/stream_hub.h"
#include "protocol/fmp4_muxer.h"

namespace weir::origin::api {

void add_stream_media(Origin& origin, const StreamHub& hub, bool with_viewers, nlohmann::json& record) {
  const StreamStats s = hub.stats();
  auto [video, audio] = hub.configs();
  protocol::Fmp4Muxer probe;
  if (video) (void)probe.add_packet(video->media());
  if (audio) (void)probe.add_packet(audio->media());
  record["video"] = nullptr;
  record["audio"] = nullptr;
  const int64_t since_ms = core::wall_clock_ms() - s.published_at_ms;
  for (const protocol::Fmp4TrackInfo& t : probe.tracks()) {
    if (t.type == core::TrackType::kVideo) {
      record["video"] = {{"codec", std::string(core::codec_name(t.codec))},
                         {"codecs", t.codecs},
                         {"width", t.width},
                         {"height", t.height},
                         {"frame_rate", since_ms > 1000 ? double(s.video_frames) * 1000.0 / double(since_ms) : 0.0}};
    } else {
      record["audio"] = {{"codec", std::string(core::codec_name(t.codec))},
                         {"codecs", t.codecs},
                         {"sample_rate", t.sample_rate},
                         {"channels", t.channels}};
    }
  }
  const uint64_t in_bps = s.ring_ms > 0 ? uint64_t(double(s.ring_bytes) * 8000.0 / double(s.ring_ms)) : 0;
  record["bitrate_in_bps"] = in_bps;
  if (!with_viewers) return;
  ClientFilter f;
  f.app = s.app;
  f.stream = s.name;
  f.role = "play";
  auto page = origin.clients().list(f, "", SIZE_MAX);
  std::map<std::string, uint64_t> by;
  uint64_t bytes_out = 0;
  for (const ClientInfo& c : page.items) {
    ++by[std::string(access_protocol_name(c.protocol))];
    bytes_out += c.bytes_out;
  }
  record["viewers"] = {{"total", page.items.size()}, {"by_protocol", by}};
  record["bytes_out"] = bytes_out;
  record["bitrate_out_bps"] = in_bps * page.items.size();
}

}  // namespace weir::origin::api
