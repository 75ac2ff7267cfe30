// SnapshotService: a live stream's latest picture on the players' HTTP
// listener (apps.<app>.snapshot.on_demand):
//
//   GET /{app}/{stream}/snapshot.jpg[?w=WIDTH]     JPEG (image/jpeg)
//   GET /{app}/{stream}/snapshot.png[?w=WIDTH]     PNG  (image/png)
//
// `w` caps the width (2..16384 pixels; aspect kept, never upscaled, both
// dimensions even); without it the picture has the stream's display size.
//
// A request is admitted as a play of app/stream (origin/http_admission.h
// play_http, protocol "snapshot"): names, access rules, signed URLs, the
// on_play callback, play_wait_ms and stream sources (an edge pulls the stream)
// apply as for any player. Then:
//   1. the encoded picture for (stream, format, width) is taken from its
//      flight (transcode/snapshot_flight.h): cached, under way, or led by this
//      request;
//   2. its leader takes the decoded picture of the stream from the picture
//      flight the same way;
//   3. that flight's leader reads the newest GOP on its loop
//      (snapshot_picture.h: refs only) and decodes it on the snapshot pool;
//      the picture is kept apps.<app>.snapshot.cache_ms, and the encodings of
//      it expire with it.
// So N concurrent requests cost one decode and one encode per distinct
// (format, width), counted in weir_snapshot_decodes_total / _encodes_total.
//
// Answers: 200 with Cache-Control from origin/hls/cache_policy.h (kSnapshot:
// max-age = cache_ms, private for apps that check each viewer); 400 for a bad
// `w` (naming it) or query; the admission's refusals (403, 404 ...); 404 for
// an audio-only stream or an app with on_demand off; 503 (Retry-After: 1) for
// a stream with no keyframe yet or past a bound; 500 when the decode fails
// (logged once per cache window with the stream's key). Errors are no-store.
// The stream and its other viewers are never touched: the decode reads shared
// immutable packets.
//
// Bounds and overflow actions: waiters per flight key
// (snapshot.max_waiters; overflow: 503, weir_snapshot_refused_total
// {reason="max_waiters"}); jobs queued on the pool (snapshot.max_queued;
// overflow: 503, {reason="max_queued"}); keys cached (4096 per flight; 503).
//
// Threads: handlers on the request's loop; flight waiters post their answer
// to the request's own loop; decode and encode on the pool. Lifetime: created
// on the main thread before the loops start, destroyed after they stop (the
// pool must outlive it).
#pragma once

#include <memory>
#include <string>

#include "core/worker_pool.h"
#include "origin/http/exchange.h"
#include "origin/http/router.h"
#include "protocol/av/av_ptr.h"
#include "protocol/av/picture_encoder.h"
#include "transcode/snapshot_flight.h"
#include "transcode/snapshot_metrics.h"

namespace weir::origin {
class Origin;
class StreamHub;
}  // namespace weir::origin

namespace weir::transcode {

// A decoded picture and when it stops being served.
struct SnapshotPicture {
  protocol::av::FramePtr frame;
  int64_t expires_ms = 0;
};
// An encoded picture (JPEG or PNG bytes), shared by every response.
struct SnapshotImage {
  core::Slice bytes;
};

// `w`: absent -> 0 (no cap); else its value. Error text names the parameter.
core::Result<int> parse_snapshot_width(const std::string* w);

class SnapshotService {
 public:
  SnapshotService(origin::Origin& origin, core::WorkerPool& pool, SnapshotMetrics& metrics, size_t max_waiters);

  // Main thread, before the loops start.
  void add_routes(origin::http::Router& router);
  // Any thread: weir_snapshot_* (with the flights' hits and joins).
  void write_metrics(std::string& out) const;

 private:
  using PictureFlight = SnapshotFlight<SnapshotPicture>;
  using ImageFlight = SnapshotFlight<SnapshotImage>;

  void handle(const origin::http::ExchangeRef& ex, protocol::av::PictureFormat format);
  void serve(const origin::http::ExchangeRef& ex, const std::shared_ptr<origin::StreamHub>& hub,
             protocol::av::PictureFormat format, int width);
  // Leader of an image flight: gets the stream's picture, then encodes it.
  void lead_image(const std::shared_ptr<origin::StreamHub>& hub, const std::string& image_key,
                  protocol::av::PictureFormat format, int width);
  // Leader of the picture flight: reads the GOP here and decodes it on the pool.
  void lead_picture(const std::shared_ptr<origin::StreamHub>& hub);
  // Any loop thread: encodes `picture` (or passes its failure on) for `image_key`.
  void encode(const std::string& image_key, const std::string& stream_key, const PictureFlight::Outcome& picture,
              protocol::av::PictureFormat format, int width, int64_t cache_ms);

  origin::Origin& origin_;
  core::WorkerPool& pool_;
  SnapshotMetrics& metrics_;
  PictureFlight pictures_;
  ImageFlight images_;
};

}  // namespace weir::transcode
