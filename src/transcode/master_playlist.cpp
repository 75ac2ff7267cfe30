#include "transcode/master_playlist.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/clock.h"
#include "core/config.h"
#include "origin/hls/cache_policy.h"
#include "origin/http_admission.h"
#include "origin/origin.h"
#include "origin/registry.h"
#include "origin/signed_url_check.h"
#include "origin/stream_hub.h"
#include "protocol/fmp4_muxer.h"
#include "protocol/hls_query.h"
#include "transcode/rendition_name.h"
#include "transcode/rendition_spec.h"

namespace weir::transcode {

std::string render_master_playlist(const std::vector<Variant>& variants) {
  std::string out = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  for (const Variant& v : variants) {
    out += fmt::format("#EXT-X-STREAM-INF:BANDWIDTH={}", std::max<uint64_t>(v.bandwidth, 1));
    if (v.width > 0 && v.height > 0) out += fmt::format(",RESOLUTION={}x{}", v.width, v.height);
    if (!v.codecs.empty()) out += fmt::format(",CODECS=\"{}\"", v.codecs);
    if (v.frame_rate > 0) out += fmt::format(",FRAME-RATE={:.3f}", v.frame_rate);
    out += "\n" + v.uri + "\n";
  }
  return out;
}

std::string expected_video_codecs(const std::string& encoder, const std::string& profile, int width, int height,
                                  double fps) {
  const double mbps = double((width + 15) / 16) * double((height + 15) / 16) * std::max(fps, 1.0);
  if (encoder == "libx265") {
    // general_level_idc = 30 x level: 3 (up to 552960 luma samples/s x ...), 3.1, 4, 4.1, 5.1.
    const double samples = double(width) * height * std::max(fps, 1.0);
    const int level = samples <= 16588800 ? 90 : samples <= 33177600 ? 93 : samples <= 66846720 ? 120
                    : samples <= 133693440 ? 123 : 153;
    return fmt::format("hvc1.{}.6.L{}.B0", profile == "main10" ? 2 : 1, level);
  }
  const char* p = profile == "baseline" ? "42c0" : profile == "main" ? "4d40" : "6400";
  const int level = mbps <= 40500 ? 30 : mbps <= 108000 ? 31 : mbps <= 216000 ? 32 : mbps <= 245760 ? 40
                  : mbps <= 522240 ? 42 : 51;
  return fmt::format("avc1.{}{:02x}", p, level);
}

namespace {

struct Probe {
  int width = 0, height = 0;
  std::string video, audio;  // RFC 6381
};

Probe probe(const origin::StreamHub& hub) {
  auto [video, audio] = hub.configs();
  protocol::Fmp4Muxer m;
  if (video) (void)m.add_packet(video->media());
  if (audio) (void)m.add_packet(audio->media());
  Probe p;
  for (const auto& t : m.tracks()) {
    if (t.type == core::TrackType::kVideo) {
      p.width = int(t.width);
      p.height = int(t.height);
      p.video = t.codecs;
    } else {
      p.audio = t.codecs;
    }
  }
  return p;
}


std::string join(const std::string& a, const std::string& b, const char* sep = ",") {
  return a.empty() ? b : b.empty() ? a : a + sep + b;
}

uint64_t measured_bps(const origin::StreamStats& s) {
  return s.ring_ms > 0 ? uint64_t(double(s.ring_bytes) * 8000.0 / double(s.ring_ms)) : 0;
}

// The audio CODECS of a rendition not yet running: what its setting makes of the source's audio.
std::string expected_audio_codecs(const core::RenditionConfig& r, const std::string& source_audio) {
  if (source_audio.empty() || r.audio == "copy") return source_audio;
  return r.audio == "opus" ? "Opus" : "mp4a.40.2";
}

struct MasterRequest {
  MasterForm form = MasterForm::kTs;
  std::string timeshift;           // "delay=30" etc., passed to every variant
  origin::AdmissionRequest admitted;  // its credential is carried to every variant
};

void serve(origin::Origin& origin, const origin::http::ExchangeRef& ex, const std::shared_ptr<origin::StreamHub>& hub,
           const MasterRequest& mr) {
  const core::AppConfig* cfg = origin.config().find_app(hub->app());
  if (!cfg || cfg->renditions.empty())
    return ex->respond_text(404, "app '" + hub->app() + "' has no renditions");
  // Variants: LL-HLS (fMP4) playlists, or the MPEG-TS ones (always for a
  // time-shifted position: only those have it), with the position and the
  // request's credential in their query.
  auto uri = [&](const std::string& stream) {
    const bool ll = mr.form == MasterForm::kLl && mr.timeshift.empty();
    std::string u = ll ? "../" + stream + "/llhls.m3u8" : "../" + stream + ".m3u8";
    const std::string q = join(mr.timeshift, origin::carried_play_token(*cfg, mr.admitted, stream), "&");
    return q.empty() ? u : u + "?" + q;
  };
  const origin::StreamStats s = hub->stats();
  const Probe src = probe(*hub);
  // Frames over the stream's own time (its timeline starts near 0), else over the wall time since its publish.
  const int64_t since_ms = s.last_dts > 1000 ? s.last_dts : core::wall_clock_ms() - s.published_at_ms;
  const double src_fps =
      since_ms > 1000 ? snap_frame_rate(double(s.video_frames) * 1000.0 / double(since_ms), since_ms) : 0.0;
  std::vector<Variant> vs;
  vs.push_back(Variant{uri(hub->name()), measured_bps(s), src.width, src.height, join(src.video, src.audio), src_fps});
  for (const auto& [name, r] : cfg->renditions) {
    const std::string stream = rendition_stream_name(cfg->rendition_name, hub->name(), name);
    Variant v;
    v.uri = uri(stream);
    v.bandwidth = uint64_t(r.peak_kbps() + r.audio_bitrate_kbps) * 1000;
    if (src.width > 0 && src.height > 0) std::tie(v.width, v.height) = rendition_size(r, src.width, src.height);
    v.frame_rate = r.fps > 0 && (src_fps == 0 || src_fps > double(r.fps)) ? double(r.fps) : src_fps;
    std::string video, audio;
    if (auto out = origin.registry().find(hub->app(), stream)) {
      // Running: what it sends, and its measured rate when that is above the setting.
      const Probe p = probe(*out);
      video = p.video;
      audio = p.audio;
      v.bandwidth = std::max(v.bandwidth, measured_bps(out->stats()));
    }
    if (video.empty() && v.width > 0) video = expected_video_codecs(r.video_codec, r.profile, v.width, v.height, v.frame_rate);
    if (audio.empty()) audio = expected_audio_codecs(r, src.audio);
    v.codecs = join(video, audio);
    vs.push_back(std::move(v));
  }
  // Measured figures change; a signed app's carries this viewer's tokens (never in a shared cache).
  const std::string cc = cfg->sign.signs_play()
                             ? origin::hls::cache_control(origin::hls::CacheKind::kViewerPlaylist, cfg)
                             : std::string("no-cache");
  ex->respond(200, {{"Content-Type", "application/vnd.apple.mpegurl"}, {"Cache-Control", cc}},
              render_master_playlist(vs));
}

}  // namespace

double snap_frame_rate(double measured, int64_t span_ms) {
  if (span_ms >= 200000)
    for (double ntsc : {23.976, 29.97, 59.94})
      if (std::abs(measured - ntsc) < 0.01) return ntsc;
  static const double kRates[] = {24, 25, 30, 48, 50, 60, 120};
  double best = 0, best_err = 1e9;
  for (double r : kRates)
    if (double err = std::abs(measured - r); err < best_err) best = r, best_err = err;
  return best_err <= measured * 0.05 ? best : std::round(measured);
}

void add_master_playlist_routes(origin::http::Router& router, origin::Origin& origin) {
  origin::Origin* o = &origin;
  auto handler = [o](MasterForm form) {
    return [o, form](origin::http::ExchangeRef ex) {
      std::string app(ex->param("app")), stream(ex->param("stream"));
      const core::AppConfig* cfg = o->config().find_app(app);
      if (cfg && !cfg->hls.enabled) return ex->respond_text(404, "HLS is not enabled for app '" + app + "'");
      auto q = protocol::parse_hls_query(ex->request().query);
      if (!q) return ex->respond_text(400, q.error());
      if (q->timeshifted() && cfg && !cfg->timeshift.enabled)
        return ex->respond_text(400, "time-shift is not enabled for app '" + app + "'");
      auto req = origin::http_admission_request(ex, origin::Direction::kPlay, origin::AccessProtocol::kHlsPlaylist,
                                                app, stream);
      if (!req) return;
      MasterRequest mr{form, protocol::timeshift_query(*q), *req};
      origin::play_http(*o, ex, std::move(*req),
                        [o, ex, mr = std::move(mr)](std::shared_ptr<origin::StreamHub> hub) { serve(*o, ex, hub, mr); });
    };
  };
  router.add("GET", "/{app}/{stream}/master.m3u8", handler(MasterForm::kTs));
  router.add("GET", "/{app}/{stream}/llhls_master.m3u8", handler(MasterForm::kLl));
}

}  // namespace weir::transcode
