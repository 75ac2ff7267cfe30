#include "protocol/srt_streamid.h"

#include <fmt/format.h>

#include "protocol/http_request_parser.h"

namespace weir::protocol {

namespace {

using core::Status;

bool name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}

// Quotes at most 64 bytes of untrusted text for a log line.
std::string shown(std::string_view s) {
  std::string out(s.substr(0, 64));
  if (s.size() > 64) out += "...";
  return out;
}

Status fail(SrtStreamIdError* kind, SrtStreamIdError k, std::string reason) {
  if (kind) *kind = k;
  return Status::error(std::move(reason));
}

// "APP/STREAM" -> app, stream (characters only; the origin checks the rest).
Status split_resource(std::string_view r, SrtStreamId& id) {
  size_t slash = r.find('/');
  if (slash == std::string_view::npos) return Status::errorf("resource '{}' is not APP/STREAM", shown(r));
  std::string_view app = r.substr(0, slash), stream = r.substr(slash + 1);
  if (app.empty()) return Status::errorf("resource '{}' has an empty app", shown(r));
  if (stream.empty()) return Status::errorf("resource '{}' has an empty stream name", shown(r));
  if (stream.find('/') != std::string_view::npos)
    return Status::errorf("resource '{}' has more than one '/' (want APP/STREAM)", shown(r));
  for (std::string_view part : {app, stream})
    for (char c : part)
      if (!name_char(c))
        return Status::errorf("resource '{}' holds '{}' (allowed in names: A-Z a-z 0-9 _ - .)", shown(r),
                              (unsigned char)c < 0x80 ? std::string(1, c) : fmt::format("\\x{:02x}", uint8_t(c)));
  id.app = std::string(app);
  id.stream = std::string(stream);
  return Status::ok();
}

core::Result<SrtStreamId> parse_access_control(std::string_view body, SrtStreamIdError* kind) {
  SrtStreamId id;
  bool have_r = false, have_m = false, have_u = false, have_s = false, have_h = false, have_t = false;
  std::string_view resource;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t comma = body.find(',', pos);
    if (comma == std::string_view::npos) comma = body.size();
    std::string_view item = body.substr(pos, comma - pos);
    pos = comma + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      return fail(kind, SrtStreamIdError::kSyntax, fmt::format("stream id item '{}' is not KEY=VALUE", shown(item)));
    std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key.empty())
      return fail(kind, SrtStreamIdError::kSyntax, fmt::format("stream id item '{}' has an empty key", shown(item)));
    auto once = [&](bool& seen) -> Status {
      if (seen) return fail(kind, SrtStreamIdError::kSyntax, fmt::format("stream id key '{}' given twice", shown(key)));
      seen = true;
      return Status::ok();
    };
    Status st;
    if (key == "r") {
      if (!(st = once(have_r))) return st;
      resource = value;
    } else if (key == "m") {
      if (!(st = once(have_m))) return st;
      if (value == "publish") id.mode = SrtMode::kPublish;
      else if (value == "request") id.mode = SrtMode::kPlay;
      else
        return fail(kind, SrtStreamIdError::kBadMode,
                    fmt::format("stream id mode '{}' is not supported (want publish or request)", shown(value)));
    } else if (key == "u") {
      if (!(st = once(have_u))) return st;
      id.user = std::string(value);
    } else if (key == "s") {
      if (!(st = once(have_s))) return st;
      id.session = std::string(value);
    } else if (key == "h") {
      if (!(st = once(have_h))) return st;
      id.host = std::string(value);
    } else if (key == "t") {
      if (!(st = once(have_t))) return st;
      if (value != "stream")
        return fail(kind, SrtStreamIdError::kUnsupportedType,
                    fmt::format("stream id type '{}' is not supported (only t=stream)", shown(value)));
    } else {
      for (auto& [k, v] : id.extra)
        if (k == key)
          return fail(kind, SrtStreamIdError::kSyntax, fmt::format("stream id key '{}' given twice", shown(key)));
      id.extra.emplace_back(std::string(key), std::string(value));
    }
  }
  if (!have_r) return fail(kind, SrtStreamIdError::kSyntax, "stream id has no resource (r=APP/STREAM)");
  if (Status st = split_resource(resource, id); !st)
    return fail(kind, SrtStreamIdError::kSyntax, "stream id " + st.message());
  return id;
}

}  // namespace

core::Result<SrtStreamId> parse_srt_streamid(std::string_view text, SrtStreamIdError* kind) {
  if (kind) *kind = SrtStreamIdError::kNone;
  if (text.empty())
    return fail(kind, SrtStreamIdError::kSyntax, "empty stream id (want #!::r=APP/STREAM,m=publish|request)");
  if (text.size() > kSrtStreamIdMaxSize)
    return fail(kind, SrtStreamIdError::kSyntax,
                fmt::format("stream id of {} bytes exceeds {}", text.size(), kSrtStreamIdMaxSize));
  for (char c : text)
    if ((unsigned char)c < 0x20 || c == 0x7f)
      return fail(kind, SrtStreamIdError::kSyntax,
                  fmt::format("stream id holds control character \\x{:02x}", uint8_t(c)));

  // A percent-encoded Access Control id (callers that put it in a URL
  // query encoded but hand it to libsrt undecoded, e.g. ffmpeg before 6.0).
  std::string decoded;
  if (text.starts_with("%23")) {
    auto d = percent_decode(text, false);
    if (!d) return fail(kind, SrtStreamIdError::kSyntax, "stream id starts with %23 but is not valid percent-encoding");
    decoded = std::move(*d);
    text = decoded;
    for (char c : text)
      if ((unsigned char)c < 0x20 || c == 0x7f)
        return fail(kind, SrtStreamIdError::kSyntax,
                    fmt::format("stream id holds control character \\x{:02x}", uint8_t(c)));
  }

  if (text.starts_with("#!")) {
    if (text.starts_with("#!::")) return parse_access_control(text.substr(4), kind);
    if (text.starts_with("#!:{"))
      return fail(kind, SrtStreamIdError::kSyntax, "nested stream id syntax (#!:{...}) is not supported");
    return fail(kind, SrtStreamIdError::kSyntax,
                fmt::format("stream id '{}' starts with #! but not #!:: (unknown syntax)", shown(text)));
  }

  SrtStreamId id;
  id.mode = SrtMode::kPublish;
  std::string_view resource = text;
  size_t colon = text.find(':');
  if (colon != std::string_view::npos && colon < text.find('/')) {
    std::string_view mode = text.substr(0, colon);
    resource = text.substr(colon + 1);
    if (mode == "publish") id.mode = SrtMode::kPublish;
    else if (mode == "play") id.mode = SrtMode::kPlay;
    else
      return fail(kind, SrtStreamIdError::kBadMode,
                  fmt::format("stream id mode '{}:' is not supported (want publish: or play:)", shown(mode)));
  }
  if (Status st = split_resource(resource, id); !st)
    return fail(kind, SrtStreamIdError::kSyntax, "stream id " + st.message());
  return id;
}

std::string format_srt_streamid(const SrtStreamId& id) {
  std::string out = "#!::r=" + id.app + "/" + id.stream;
  out += id.mode == SrtMode::kPublish ? ",m=publish" : ",m=request";
  if (!id.user.empty()) out += ",u=" + id.user;
  if (!id.session.empty()) out += ",s=" + id.session;
  if (!id.host.empty()) out += ",h=" + id.host;
  for (auto& [k, v] : id.extra) out += "," + k + "=" + v;
  return out;
}

}  // namespace weir::protocol
