// HlsService: HLS for every stream of the process. Starts a stream's
// packager on the first HLS request (or at publish when the app keeps a
// time-shift buffer), and answers the HLS routes:
//   GET /{app}/{stream}.m3u8                  MPEG-TS playlist (+ time-shift queries)
//   GET /{app}/{stream}/llhls.m3u8            fMP4 / LL-HLS playlist (+ _HLS_ directives)
//   GET /{app}/{stream}/seg{msn}.ts           MPEG-TS segment (memory or disk)
//   GET /{app}/{stream}/seg{msn}.m4s          fMP4 segment
//   GET /{app}/{stream}/part{msn}.{i}.m4s     LL-HLS part (the hinted next part blocks)
//   GET /{app}/{stream}/init{id}.mp4          fMP4 init segment
//   GET /{app}/{stream}/key{id}.key           AES-128 key
//
// Thread: handlers run on the request's loop; the entry map is under mu_.
// Held requests (blocking reload, preload hint, first segment) are bounded
// per stream (hls.max_blocking_requests) and in time, and cost nothing while
// held: the store posts them back when their part exists.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "origin/http/router.h"
#include "protocol/hls_query.h"
#include "origin/stream_observer.h"

namespace weir::origin {
class Origin;
class StreamHub;
}  // namespace weir::origin

namespace weir::origin::hls {

class StreamHls;

// A StreamObserver: a new stream of an app with time-shift starts packaging
// at once (on the publisher's loop), so its past is recorded from the start.
class HlsService final : public StreamObserver {
 public:
  explicit HlsService(Origin& origin) : origin_(origin) {}

  void add_routes(http::Router& r);
  void on_stream_published(const std::shared_ptr<StreamHub>& hub, const PublishEvent& e) override;
  // The stream's store, if packaging runs (for time-shifted FLV and stats).
  std::shared_ptr<StreamHls> find(const StreamHub* hub);
  // The store, starting the packager on this loop if none runs.
  std::shared_ptr<StreamHls> ensure(const std::shared_ptr<StreamHub>& hub);

 private:
  enum class FileKind { kTsSegment, kFmp4Segment, kPart, kInit, kKey };
  void handle_playlist(http::ExchangeRef ex, bool ll);
  void serve_playlist(const http::ExchangeRef& ex, const std::shared_ptr<StreamHub>& hub, bool ll,
                      const protocol::HlsQuery& q);
  void handle_file(http::ExchangeRef ex, FileKind kind);
  void serve_file(const http::ExchangeRef& ex, FileKind kind, const std::string& app, const std::string& stream,
                  uint64_t a, uint64_t b);

  Origin& origin_;
  std::mutex mu_;
  std::map<const StreamHub*, std::shared_ptr<StreamHls>> entries_;
};

}  // namespace weir::origin::hls
