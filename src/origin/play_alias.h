// PlayAlias: a module that decides that a play of app/stream reads another
// stream's hub: the watermark's serve: replace (src/transcode) makes the
// published name play the watermarked output and a clean name play the
// published stream. PlayRequest (every protocol's play, HLS playlists) and
// HLS media requests ask Origin::play_hub_name() after admission, which ran on
// the name the viewer asked for (access rules, signed URLs, callbacks see it).
//
//   struct Alias : origin::PlayAlias {
//     std::string hub_for(const core::AppConfig& app, std::string_view stream) const override {
//       return stream == "foo" ? "foo_wm" : "";
//     }
//   };
//   origin.add_play_alias(&alias);   // main thread, before the loops start
//
// Thread: hub_for() on any loop; cheap, no I/O, no lock of the origin's.
#pragma once

#include <string>
#include <string_view>

namespace weir::core {
struct AppConfig;
}

namespace weir::origin {

class PlayAlias {
 public:
  virtual ~PlayAlias() = default;
  // The hub's stream name a play of `stream` reads; "" = `stream` itself.
  virtual std::string hub_for(const core::AppConfig& app, std::string_view stream) const = 0;
};

}  // namespace weir::origin
