// Rendition stream names: apps.<app>.rendition_name (a template holding
// {stream} and {rendition} once each, checked at config load) maps a source
// stream and a rendition to the rendition's stream name, and back.
//
// Pure functions, any thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace weir::transcode {

// "{stream}_{rendition}", "foo", "360p" -> "foo_360p".
std::string rendition_stream_name(std::string_view tmpl, std::string_view stream, std::string_view rendition);

struct RenditionMatch {
  std::string source;     // the source stream's name
  std::string rendition;  // the rendition's name (a key of `renditions`)
};
// Which source and rendition `name` is the output of, if any. The source part
// must be non-empty; when several renditions match (names that are suffixes of
// each other) the longest rendition name wins.
template <class R>
std::optional<RenditionMatch> match_rendition(std::string_view tmpl, const std::map<std::string, R>& renditions,
                                              std::string_view name);

// The rendition-independent part of match_rendition: whether `name` is `tmpl`
// with `rendition` in place and a non-empty source; the source if so.
std::optional<std::string> source_of(std::string_view tmpl, std::string_view rendition, std::string_view name);

template <class R>
std::optional<RenditionMatch> match_rendition(std::string_view tmpl, const std::map<std::string, R>& renditions,
                                              std::string_view name) {
  std::optional<RenditionMatch> best;
  for (const auto& [r, _] : renditions) {
    auto src = source_of(tmpl, r, name);
    if (src && (!best || r.size() > best->rendition.size())) best = RenditionMatch{std::move(*src), r};
  }
  return best;
}

}  // namespace weir::transcode
