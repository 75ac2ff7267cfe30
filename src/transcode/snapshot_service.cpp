#include "transcode/snapshot_service.h"

#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/loop.h"
#include "origin/hls/cache_policy.h"
#include "origin/http_admission.h"
#include "origin/origin.h"
#include "origin/stream_hub.h"
#include "transcode/snapshot_picture.h"

namespace weir::transcode {

namespace {

using protocol::av::PictureFormat;

constexpr size_t kMaxKeys = 4096;

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void answer_error(const origin::http::ExchangeRef& ex, int status, const std::string& why) {
  if (!ex->alive()) return;
  origin::http::Headers h{{"Content-Type", "text/plain"}, {"Cache-Control", "no-store"}};
  if (status == 503) h.emplace_back("Retry-After", "1");
  ex->respond(status, std::move(h), why + "\n");
}

}  // namespace

core::Result<int> parse_snapshot_width(const std::string* w) {
  if (!w) return 0;
  const std::string kWhy = "w: must be a whole number of pixels from 2 to 16384";
  if (w->empty() || w->size() > 5) return core::Status::error(kWhy);
  int v = 0;
  for (char c : *w) {
    if (c < '0' || c > '9') return core::Status::error(kWhy);
    v = v * 10 + (c - '0');
  }
  if (v < 2 || v > protocol::av::kMaxPictureDimension) return core::Status::error(kWhy);
  return v;
}

SnapshotService::SnapshotService(origin::Origin& origin, core::WorkerPool& pool, SnapshotMetrics& metrics,
                                 size_t max_waiters)
    : origin_(origin),
      pool_(pool),
      metrics_(metrics),
      pictures_({max_waiters, kMaxKeys}),
      images_({max_waiters, kMaxKeys}) {}

void SnapshotService::add_routes(origin::http::Router& router) {
  router.add("GET", "/{app}/{stream}/snapshot.jpg",
             [this](origin::http::ExchangeRef ex) { handle(ex, PictureFormat::kJpeg); });
  router.add("GET", "/{app}/{stream}/snapshot.png",
             [this](origin::http::ExchangeRef ex) { handle(ex, PictureFormat::kPng); });
}

void SnapshotService::write_metrics(std::string& out) const {
  const auto p = pictures_.stats();
  const auto i = images_.stats();
  write_snapshot_metrics(metrics_, p.hits + i.hits, p.joined + i.joined, out);
}

void SnapshotService::handle(const origin::http::ExchangeRef& ex, PictureFormat format) {
  auto req = origin::http_admission_request(ex, origin::Direction::kPlay, origin::AccessProtocol::kSnapshot,
                                            std::string(ex->param("app")), std::string(ex->param("stream")));
  if (!req) return;  // answered 400
  auto width = parse_snapshot_width(protocol::find_query_param(req->params, "w"));
  if (!width) return answer_error(ex, 400, width.error());
  origin::play_http(origin_, ex, std::move(*req),
                    [this, ex, format, w = *width](std::shared_ptr<origin::StreamHub> hub) {
                      serve(ex, hub, format, w);
                    });
}

void SnapshotService::serve(const origin::http::ExchangeRef& ex, const std::shared_ptr<origin::StreamHub>& hub,
                            PictureFormat format, int width) {
  const core::AppConfig& app = hub->app_config();
  if (!app.snapshot.on_demand)
    return answer_error(ex, 404, fmt::format("snapshots are off for app '{}' (apps.{}.snapshot.on_demand)", hub->app(),
                                             app.name.empty() ? hub->app() : app.name));
  metrics_.requests.fetch_add(1, std::memory_order_relaxed);
  core::Loop* loop = core::Loop::current();
  const std::string image_key = fmt::format("{}|{}|{}", hub->key(), protocol::av::picture_extension(format), width);
  const std::string cache_control = origin::hls::cache_control(origin::hls::CacheKind::kSnapshot, &app);
  const std::string type(protocol::av::picture_content_type(format));
  auto answer = [ex, cache_control, type](const ImageFlight::Outcome& o) {
    if (!o.ok()) return answer_error(ex, o.status, o.error);
    if (ex->alive()) ex->respond(200, {{"Content-Type", type}, {"Cache-Control", cache_control}}, o.value->bytes);
  };
  // Called by the flight's finish on whatever loop ends it: the answer goes
  // to this request's loop. Refused (the loop is stopping): the client goes
  // with it.
  auto waiter = [loop, answer](const ImageFlight::Outcome& o) { (void)loop->post([answer, o] { answer(o); }); };
  ImageFlight::Outcome cached;
  switch (images_.join(image_key, steady_ms(), waiter, &cached)) {
    case ImageFlight::Join::kCached:
      return answer(cached);
    case ImageFlight::Join::kOverflow:
      metrics_.refused_waiters.fetch_add(1, std::memory_order_relaxed);
      return answer_error(ex, 503, "too many snapshot requests waiting (snapshot.max_waiters)");
    case ImageFlight::Join::kWait:
      return;
    case ImageFlight::Join::kLead:
      return lead_image(hub, image_key, format, width);
  }
}

void SnapshotService::lead_image(const std::shared_ptr<origin::StreamHub>& hub, const std::string& image_key,
                                 PictureFormat format, int width) {
  const std::string stream_key = hub->key();
  const int64_t cache_ms = hub->app_config().snapshot.cache_ms;
  auto then = [this, image_key, stream_key, format, width, cache_ms](const PictureFlight::Outcome& o) {
    encode(image_key, stream_key, o, format, width, cache_ms);
  };
  PictureFlight::Outcome cached;
  switch (pictures_.join(stream_key, steady_ms(), then, &cached)) {
    case PictureFlight::Join::kCached:
      return then(cached);
    case PictureFlight::Join::kOverflow:
      metrics_.refused_waiters.fetch_add(1, std::memory_order_relaxed);
      return images_.finish(image_key,
                            ImageFlight::Outcome::failure(503, "too many snapshot requests waiting (snapshot.max_waiters)"),
                            0);
    case PictureFlight::Join::kWait:
      return;
    case PictureFlight::Join::kLead:
      return lead_picture(hub);
  }
}

void SnapshotService::lead_picture(const std::shared_ptr<origin::StreamHub>& hub) {
  const std::string key = hub->key();
  const int64_t cache_ms = hub->app_config().snapshot.cache_ms;
  GopCollector gop = read_latest_gop(hub);
  if (!gop.complete()) {
    // Nothing to decode: audio-only, or video whose first keyframe has not
    // come (or was evicted). Kept for the window like any answer.
    const bool video = gop.video_seen() || hub->configs().first;
    auto o = video ? PictureFlight::Outcome::failure(503, "no keyframe of " + key + " in the GOP cache yet")
                   : PictureFlight::Outcome::failure(404, key + " has no video (an audio-only stream has no picture)");
    return pictures_.finish(key, std::move(o), steady_ms() + (video ? 0 : cache_ms));
  }
  metrics_.decodes.fetch_add(1, std::memory_order_relaxed);
  auto work = [g = gop.take(), key, cache_ms]() -> core::Result<std::shared_ptr<const SnapshotPicture>> {
    auto frame = decode_latest_picture(g, key);
    if (!frame) return frame.status();
    auto p = std::make_shared<SnapshotPicture>();
    p->frame = std::move(*frame);
    p->expires_ms = steady_ms() + cache_ms;
    return std::shared_ptr<const SnapshotPicture>(std::move(p));
  };
  auto done = [this, key, cache_ms](core::Result<std::shared_ptr<const SnapshotPicture>> r) {
    if (!r) {
      metrics_.decode_failures.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("snapshot {}: decode failed: {}", key, r.error());
      return pictures_.finish(key, PictureFlight::Outcome::failure(500, "cannot decode a picture of " + key),
                              steady_ms() + cache_ms);
    }
    const int64_t expires = (*r)->expires_ms;
    pictures_.finish(key, PictureFlight::Outcome::success(std::move(*r)), expires);
  };
  if (!pool_.submit(*core::Loop::current(), std::move(work), std::move(done))) {
    metrics_.decodes.fetch_sub(1, std::memory_order_relaxed);
    metrics_.refused_queue.fetch_add(1, std::memory_order_relaxed);
    pictures_.finish(key, PictureFlight::Outcome::failure(503, "snapshot workers busy (snapshot.max_queued)"), 0);
  }
}

void SnapshotService::encode(const std::string& image_key, const std::string& stream_key,
                             const PictureFlight::Outcome& picture, PictureFormat format, int width,
                             int64_t cache_ms) {
  if (!picture.ok())
    return images_.finish(image_key, ImageFlight::Outcome::failure(picture.status, picture.error),
                          picture.status == 503 ? 0 : steady_ms() + cache_ms);
  std::shared_ptr<const SnapshotPicture> pic = picture.value;
  auto work = [pic, format, width, stream_key]() -> core::Result<std::shared_ptr<const SnapshotImage>> {
    auto pkt = protocol::av::encode_picture(*pic->frame, format, width > 0 ? width : protocol::av::kMaxPictureDimension,
                                            "snapshot " + stream_key);
    if (!pkt) return pkt.status();
    auto img = std::make_shared<SnapshotImage>();
    img->bytes = core::Slice::copy_of(core::ByteView((*pkt)->data, size_t((*pkt)->size)));
    return std::shared_ptr<const SnapshotImage>(std::move(img));
  };
  auto done = [this, image_key, stream_key, expires = pic->expires_ms,
               cache_ms](core::Result<std::shared_ptr<const SnapshotImage>> r) {
    if (!r) {
      spdlog::warn("snapshot {}: encode failed: {}", stream_key, r.error());
      return images_.finish(image_key, ImageFlight::Outcome::failure(500, "cannot encode a picture of " + stream_key),
                            steady_ms() + cache_ms);
    }
    images_.finish(image_key, ImageFlight::Outcome::success(std::move(*r)), expires);
  };
  metrics_.encodes.fetch_add(1, std::memory_order_relaxed);
  core::Loop* loop = core::Loop::current();
  if (!loop || !pool_.submit(*loop, std::move(work), std::move(done))) {
    metrics_.encodes.fetch_sub(1, std::memory_order_relaxed);
    metrics_.refused_queue.fetch_add(1, std::memory_order_relaxed);
    images_.finish(image_key, ImageFlight::Outcome::failure(503, "snapshot workers busy (snapshot.max_queued)"), 0);
  }
}

}  // namespace weir::transcode
