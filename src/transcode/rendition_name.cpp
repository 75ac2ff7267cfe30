#include "transcode/rendition_name.h"

namespace weir::transcode {

namespace {
constexpr std::string_view kStream = "{stream}", kRendition = "{rendition}";

std::string replace(std::string_view tmpl, std::string_view key, std::string_view value) {
  std::string out(tmpl);
  if (size_t at = out.find(key); at != std::string::npos) out.replace(at, key.size(), value);
  return out;
}
}  // namespace

std::string rendition_stream_name(std::string_view tmpl, std::string_view stream, std::string_view rendition) {
  return replace(replace(tmpl, kRendition, rendition), kStream, stream);
}

std::optional<std::string> source_of(std::string_view tmpl, std::string_view rendition, std::string_view name) {
  const std::string pattern = replace(tmpl, kRendition, rendition);
  const size_t at = pattern.find(kStream);
  if (at == std::string::npos) return std::nullopt;
  const std::string_view prefix = std::string_view(pattern).substr(0, at);
  const std::string_view suffix = std::string_view(pattern).substr(at + kStream.size());
  if (name.size() <= prefix.size() + suffix.size()) return std::nullopt;
  if (name.substr(0, prefix.size()) != prefix || name.substr(name.size() - suffix.size()) != suffix) return std::nullopt;
  return std::string(name.substr(prefix.size(), name.size() - prefix.size() - suffix.size()));
}

}  // namespace weir::transcode
