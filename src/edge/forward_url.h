// Forward destinations (apps.<app>.forward.urls and the admin API's POST):
// a template expanded for one stream and checked as an RTMP publish target
// or an SRT caller URL (core/srt_url.h),
// the form shown by the API and the logs (secrets left out), and the
// destinations' ids. Pure: no I/O, any thread.
//
// Expansion reuses expand_upstream_url (edge/upstream_url.h). App and stream
// names reaching here passed admission's name check, so they need no escaping.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace weir::edge {

// `tmpl` ({app} and {stream} optional: a runtime destination is often a
// plain URL) expanded for app/stream. Errors (a short reason, no URL in it:
// it may hold a key): not rtmp://, rtmps:// or srt://, an unknown
// placeholder, no host, no app or stream element (RTMP), a bad srt:// URL
// (the key or part named).
core::Result<std::string> forward_destination(std::string_view tmpl, std::string_view app, std::string_view stream);

// `url` for display: every query value becomes "***" (a bare query item too),
// and the RTMP stream name (the last path element) becomes "***" unless it is
// `stream` or "{stream}" (platforms take the stream key there). srt://: the
// streamid is kept (it names the stream), every other value is "***".
std::string redact_forward_url(std::string_view url, std::string_view stream);

// Destination ids: "fw" + 10 digits, ordered as their numbers (list cursors
// compare them as strings). valid_forward_id() checks an id from a URL.
std::string forward_id(uint64_t n);
bool valid_forward_id(std::string_view id);

}  // namespace weir::edge
