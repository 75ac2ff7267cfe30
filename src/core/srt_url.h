// SrtUrl: an outbound SRT destination (caller mode) as written in
// apps.<app>.upstream.urls, apps.<app>.forward.urls and the forward API:
//
//   srt://HOST:PORT[?KEY=VALUE[&KEY=VALUE...]]
//
// HOST is an IPv4 address, [IPv6] or a name; PORT is required (SRT has no
// default port). Query keys (the names srt-live-transmit and ffmpeg use):
//   streamid    SRTO_STREAMID, at most 512 bytes; the rest of the query
//               after "streamid=" up to the next '&' (it may hold '#', ',',
//               '=', ':' and '/' as written: "#!::r=live/s,m=request").
//               Percent-escapes (%23, %2C, ...) are decoded.
//   passphrase  SRTO_PASSPHRASE, 10 to 79 characters
//   pbkeylen    SRTO_PBKEYLEN: 0, 16, 24 or 32
//   latency     SRTO_LATENCY in ms, 0 to 60000
//   mode        "caller" only (Weir calls out; listener/rendezvous refused)
// Any other key, a key given twice, a bad escape, a control character or
// space is an error naming it. Parsed here (core) so that config validation
// and the edge's callers share one parser. Pure: any thread; fuzzed
// (tests/fuzz/srt_url.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace weir::core {

struct SrtUrl {
  std::string host;          // as written, without the brackets of an IPv6 literal
  uint16_t port = 0;
  std::string streamid;      // decoded; may be empty
  std::string passphrase;    // empty: no encryption
  int pbkeylen = 0;          // 0: libsrt's default
  int latency_ms = -1;       // -1: libsrt's default (120 ms)

  // srt://host:port without the query (the form shown in logs and the API).
  std::string authority() const;
};

inline constexpr size_t kSrtUrlMaxSize = 2048;

core::Result<SrtUrl> parse_srt_url(std::string_view text);

}  // namespace weir::core
