// StreamLocator: where the edge asks which origin has a stream before it
// tries its static upstream.urls (cluster discovery: src/cluster). The
// EdgePuller holds a pointer to one (null: no discovery) and asks it only for
// apps with upstream.discover.
//
//   edge.set_locator(&discovery);          // main thread, before the loops start
//   locator->locate(loop, app, stream, [](Located r) { ... });   // on `loop`
//
// Thread: locate() on any loop thread; `done` runs exactly once on `loop`
// (possibly inside locate(), when the answer is known at once), within about
// wait_ms() of the call unless that loop is stopping (then it may never run:
// the pull is being shut down anyway). The locator outlives the loops.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace weir::core {
class Loop;
}

namespace weir::edge {

struct Located {
  enum class Result { kFound, kNotFound, kUnavailable };
  Result result = Result::kUnavailable;
  std::string url;   // kFound: the origin's pull URL template ({app}/{stream}) or URL
  std::string why;   // kUnavailable: why (for the 404 text and the log)
};

class StreamLocator {
 public:
  virtual ~StreamLocator() = default;
  virtual void locate(core::Loop& loop, const std::string& app, const std::string& stream,
                      std::function<void(Located)> done) = 0;
  // The longest a locate() takes before `done` (its deadline), in ms.
  virtual int64_t wait_ms() const = 0;
};

}  // namespace weir::edge
