// StreamSource: a module that can make a stream live on demand, when a viewer
// asks for one that is not published here: the edge's upstream puller, and
// next the transcoder's on-demand outputs. StreamSources: the origin's table
// of them, which tells a source once per stream key however many viewers ask
// on however many loops, until the source releases that key.
//
//   struct Puller : origin::StreamSource {
//     int64_t serves(const core::AppConfig& app, std::string_view stream) const override {
//       return app.upstream.urls.empty() ? 0 : app.upstream.connect_timeout_ms;
//     }
//     void want(const std::string& app, const std::string& stream, const origin::AdmissionRequest& first) override {
//       start_pull(app, stream, first.param("weir_via"));
//     }
//   };
//   origin.sources().add(&puller);                 // main thread, before the loops start
//   ...
//   origin.sources().release(app, stream, "");     // the pull stopped (idle): the next miss asks again
//   origin.sources().release(app, stream, why);    // it failed: viewers still waiting get 404 with `why`
//
// A play request (origin/play_request.h: RTMP, SRT, HTTP-FLV, WS-FLV, .ts,
// HLS and LL-HLS playlists) that misses a stream asks want(); if a source
// serves it, the viewer waits for the stream up to the longer of the app's
// play_wait_ms and the source's answer to serves(), instead of 404.
//
// Thread: add() on the main thread before the loops start; everything else on
// any thread. The table's mutex is never held while a source is called.
// Bounds: one entry per stream key a source is producing (released by the
// source), plus at most kMaxFailures remembered failure reasons (overflow
// action: the oldest is forgotten; its viewers get the generic 404 text).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace weir::core {
struct AppConfig;
}

namespace weir::origin {

class Registry;
struct AdmissionRequest;

class StreamSource {
 public:
  virtual ~StreamSource() = default;
  // Whether this source can produce `stream` of app `app` (cheap, no I/O):
  // how long a viewer should wait for it, in ms; 0 = not served. Any thread.
  virtual int64_t serves(const core::AppConfig& app, std::string_view stream) const = 0;
  // Make app/stream live (through a HubPublisher on a loop of the source's
  // choice). Called once per key until release(), on the loop of the viewer
  // that missed it, with no lock held; must not block. `first` is that
  // viewer's admitted request (its parameters: an edge carries the chain of
  // edges it came through upstream); valid during the call only.
  virtual void want(const std::string& app, const std::string& stream, const AdmissionRequest& first) = 0;
};

class StreamSources {
 public:
  static constexpr size_t kMaxFailures = 256;

  explicit StreamSources(Registry& registry) : registry_(registry) {}

  // Main thread, before the loops start; `s` outlives the loops.
  void add(StreamSource* s) { sources_.push_back(s); }
  bool empty() const { return sources_.empty(); }

  // How long a viewer of app/stream would wait for a source (0: none serves
  // it), without telling any. Any thread (SRT's handshake callback).
  int64_t serves(const core::AppConfig& cfg, std::string_view stream) const;

  struct Want {
    int64_t wait_ms = 0;       // 0: no source serves the stream
    bool asked = false;        // this call told the source (the first miss since the last release)
  };
  // A viewer missed app/stream (`cfg` is the app's config): tells the first
  // source that serves it, unless it was told already and has not released
  // the key. Any thread (a loop: the source's want() runs there).
  Want want(const core::AppConfig& cfg, std::string_view app, std::string_view stream, const AdmissionRequest& first);
  // The source no longer produces app/stream: the next miss asks again. A
  // non-empty `why` is a failure: requests still waiting end now with 404 and
  // `why`, and later ones that time out name it. Any thread.
  void release(std::string_view app, std::string_view stream, const std::string& why);
  // The last failure `why` of app/stream ("" if none remembered). Any thread.
  std::string last_failure(std::string_view app, std::string_view stream) const;
  // Keys being produced now (for the API and tests). Any thread.
  std::vector<std::string> active() const;

 private:
  Registry& registry_;
  std::vector<StreamSource*> sources_;  // fixed once the loops run
  mutable std::mutex mu_;
  std::set<std::string, std::less<>> active_;           // guarded by mu_
  std::map<std::string, std::string, std::less<>> failures_;  // guarded by mu_
  std::deque<std::string> failure_order_;               // guarded by mu_: eviction order of failures_
};

}  // namespace weir::origin
