// An in-process Weir origin for the client tests, wired as src/main.cpp wires
// the server (LoopGroup, Origin, the origin's routes, HTTP and RTMP listeners
// on 127.0.0.1:0), plus what only tests need: an echo route, and HTTPS/RTMPS
// listeners that put core's TLS layer under the unchanged HttpConnection and
// RtmpSession. All origin wiring of the client tests is here, so it follows
// main.cpp when the origin's seams change.
//
// Thread: construct and destroy on the test thread; the server runs on its
// own loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/config.h"
#include "core/loop.h"
#include "core/tls.h"

namespace weir::origin {
class Origin;
}

namespace weir::test {

class TestOrigin {
 public:
  // Apps: "live" (play_wait_ms 0, reconnect_grace_ms 0, no audio hold, no
  // HLS) and "wait" (the same with play_wait_ms 5000). With `tls`, also
  // serves HTTPS and RTMPS with it.
  explicit TestOrigin(std::shared_ptr<const core::TlsContext> tls = nullptr);
  ~TestOrigin();

  uint16_t rtmp_port = 0, http_port = 0, rtmps_port = 0, https_port = 0;
  std::string rtmp_url(const std::string& path) const;   // path: "live/s"
  std::string http_url(const std::string& path) const;   // path: "/live/s.flv"
  std::string rtmps_url(const std::string& path) const;
  std::string https_url(const std::string& path) const;

  // Blocks the server's loop thread for ms (a server that reads nothing),
  // returning at once; the loop resumes by itself.
  void stall(uint64_t ms);

 private:
  core::Config cfg_;
  core::LoopGroup loops_{1};
  std::unique_ptr<origin::Origin> origin_;
};

}  // namespace weir::test
