// The signed URLs of one app/stream for every protocol, as `weir sign`
// prints them: made from the config's listen ports and the app's primary key
// (apps.<app>.sign), with the same maths the SignedUrlCheck verifies
// (protocol/url_signing.h), so what the CLI prints is what the server takes.
//
// Pure apart from the clock read by the caller; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "origin/admission.h"

namespace weir::origin {

struct SignUrlRequest {
  std::string app, stream;
  Direction direction = Direction::kPlay;
  int64_t expires = 0;  // Unix seconds
  std::string ip;       // the client's IP, needed when the app binds tokens to addresses
  std::string host;     // host in the URLs; empty = the listen address's (127.0.0.1 for a wildcard)
};

struct SignedUrl {
  std::string name;  // rtmp, srt, http-flv, ws-flv, ts, hls, llhls
  std::string url;
};

// The query a client sends ("expires=..&token=.." or "txTime=..&txSecret=..").
// Errors: app not configured, that direction not signed, ip required/refused.
core::Result<std::string> signed_query(const core::Config& cfg, const SignUrlRequest& r);

// Publish: rtmp and srt (when SRT is enabled); play: rtmp, srt, http-flv,
// ws-flv, ts and, when the app has HLS, hls and llhls.
core::Result<std::vector<SignedUrl>> signed_urls(const core::Config& cfg, const SignUrlRequest& r);

}  // namespace weir::origin
