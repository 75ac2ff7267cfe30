// PublisherHandle: how a hub refers to whoever feeds it (an RTMP or SRT
// session, an edge puller, a transcoder) without owning it.
//
// Thread: `session` is read and cleared only on `loop`'s thread; the hub
// reaches the session by posting to that loop. The handle is shared_ptr so a
// posted task can outlive the session safely.
#pragma once

#include <memory>
#include <string>

namespace weir::core {
class Loop;
}

namespace weir::origin {

class Publisher {
 public:
  virtual ~Publisher() = default;
  // Runs on the publisher's loop: stop publishing and close (another publisher
  // took over, or the operator dropped the stream).
  virtual void kick(const std::string& why) = 0;
};

struct PublisherHandle {
  core::Loop* loop = nullptr;
  Publisher* session = nullptr;  // nullptr once the session is gone
  std::string peer;              // for logs and the admin API
  std::string protocol;          // "rtmp", "srt", ...
};

using PublisherRef = std::shared_ptr<PublisherHandle>;

}  // namespace weir::origin
