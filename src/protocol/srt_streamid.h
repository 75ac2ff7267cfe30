// SRT stream ids: what an SRT caller names in SRTO_STREAMID, parsed into the
// stream it wants and whether it publishes or plays.
//
// Accepted forms:
//  - Access Control syntax (Haivision SRT docs/features/access-control.md):
//      #!::r=APP/STREAM,m=publish|request[,u=USER][,s=SESSION][,h=HOST][,t=TYPE][,KEY=VALUE...]
//    comma-separated KEY=VALUE items in any order. A value runs to the next
//    comma and may hold '=' and '/'. `r` is required; `m` defaults to request
//    (play); `t` must be `stream` (the default); `m=bidirectional` and other
//    modes are refused as bad modes. Keys other than the standard ones are
//    kept in `extra`, in order, for later authentication and callbacks. A key
//    given twice, an item without '=', an empty key or the nested form
//    (`#!:{...}`) is a syntax error. Empty items (",,", a trailing comma) are
//    skipped.
//  - Short forms: `APP/STREAM` (publish), `publish:APP/STREAM`,
//    `play:APP/STREAM`.
// An id starting with "%23" is percent-decoded first (an Access Control id
// URL-encoded for an srt:// query by a caller that passes it on undecoded).
// APP and STREAM must be non-empty and made of [A-Za-z0-9_.-] only; the rest
// of Weir's naming rule (length, leading '.') is checked by the origin. The
// whole id is at most 512 bytes (the SRTO_STREAMID limit) and holds no control
// characters.
//
// Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace weir::protocol {

enum class SrtMode { kPublish, kPlay };

struct SrtStreamId {
  std::string app;
  std::string stream;
  SrtMode mode = SrtMode::kPlay;
  std::string user;     // `u`
  std::string session;  // `s`
  std::string host;     // `h`
  std::vector<std::pair<std::string, std::string>> extra;  // other keys, in order
};

// Why a stream id was refused, so a listener can pick the SRT access-control
// reject code (SRT_REJX_BAD_REQUEST, SRT_REJX_BAD_MODE, SRT_REJX_NOTSUP_MEDIA).
enum class SrtStreamIdError { kNone, kSyntax, kBadMode, kUnsupportedType };

inline constexpr size_t kSrtStreamIdMaxSize = 512;

// On error the Status holds a one-line reason and `*kind` (if given) its class.
core::Result<SrtStreamId> parse_srt_streamid(std::string_view text, SrtStreamIdError* kind = nullptr);

// The Access Control form of `id` ("#!::r=APP/STREAM,m=...,u=...,..."), which
// parse_srt_streamid reads back to the same value when every part is valid.
std::string format_srt_streamid(const SrtStreamId& id);

}  // namespace weir::protocol
