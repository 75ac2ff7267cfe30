// Cache-Control of every HLS, LL-HLS and VOD response, in one place, so that
// a standard shared cache (nginx proxy_cache, a CDN; docs/http_cache.md) in
// front of Weir asks it about once per segment and per playlist revision.
//
//   media (segments, parts, init        public, max-age=86400, immutable
//   segments, VOD files)                (a URL never names other bytes: msns,
//                                       init and key ids start at the store's
//                                       msn_base, above every earlier store's)
//   AES-128 key                         private, max-age=86400, immutable
//   live MPEG-TS playlist (live,        public, max-age=max(1, segment_ms/2000))
//   delay, event)                       half a target duration (RFC 8216 6.2.2:
//                                       clients reload every target duration)
//   live LL-HLS playlist, delta update  public, max-age=1 (the least HTTP can say;
//                                       LL-HLS players reload with _HLS_msn)
//   LL-HLS blocking reload answer       public, max-age=max(1, segment_ms/1000)
//   (_HLS_msn[/_HLS_part][/_HLS_skip])  a later answer to that URL would only
//                                       hold more; caches key it by the full
//                                       URL (RFC 8216bis 6.2.5.2)
//   closed playlist (time-shift span    public, max-age=86400, immutable
//   with EXT-X-ENDLIST), VOD files
//   (index.m3u8, segments, MP4, cover)
//   live snapshot (snapshot.jpg/.png)   public, max-age=max(1, snapshot.cache_ms/1000)
//                                       what Weir itself serves the same picture for
//   per-viewer playlist (session        private, no-store
//   tokens in its URIs)
//   errors, refusals, redirects         no-store (kNoStore)
//
// "public" becomes "private" where Weir admits each viewer itself and a shared
// cache would hand the response to viewers it never checked: live media of
// apps with signed plays or a Referer list; every other kind also for apps
// with an on_play callback (callbacks see playlists and VOD files, not live
// segments, parts or keys).
// Address rules (access.play_allow/deny) do not make responses private: Weir
// sees the cache's address, so such lists name the caches.
//
// Thread: pure functions over the immutable config; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace weir::core {
struct AppConfig;
}

namespace weir::origin::hls {

enum class CacheKind : uint8_t {
  kMedia,
  kKey,
  kTsLivePlaylist,
  kLlLivePlaylist,
  kBlockingPlaylist,
  kClosedPlaylist,
  kVodFile,
  kViewerPlaylist,
  kSnapshot,  // a live picture (/{app}/{stream}/snapshot.jpg): max-age = the app's snapshot.cache_ms
};

// Lifetime of immutable responses: a day (longer than a default time-shift
// window; a deleted VOD asset may stay in caches that long).
inline constexpr int64_t kImmutableMaxAgeS = 86400;
inline constexpr std::string_view kNoStore = "no-store";

// The Cache-Control value of a 200 (or 206, or 304) of `kind` for `app`
// (nullptr: an app no longer configured, so nothing to admit: public).
std::string cache_control(CacheKind kind, const core::AppConfig* app);

// RFC 9110 13.1.2: does an If-None-Match value ("*" or a list of entity
// tags, weak comparison) match `etag` (a quoted strong tag)?
bool etag_matches(std::string_view if_none_match, std::string_view etag);

}  // namespace weir::origin::hls
