// Registry: the live streams by "app/name". Owns every StreamHub.
//
// Thread: any loop; all state under mu_ (taken on connect/publish/lookup,
// never per packet). Waiters are called back on their own loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "origin/publisher.h"

namespace weir::core {
class Loop;
}

namespace weir::origin {

class Origin;
class StreamHub;

// App and stream names: 1..128 of [A-Za-z0-9_.-], not starting with '.'.
core::Status validate_stream_path(std::string_view app, std::string_view name);

enum class PublishRefusal { kNone, kUnknownApp, kBadName, kInvalidName };

class Registry {
 public:
  explicit Registry(Origin& origin) : origin_(origin) {}

  struct PublishResult {
    std::shared_ptr<StreamHub> hub;  // null when refused
    PublishRefusal refusal = PublishRefusal::kNone;
    std::string reason;
    bool created = false;  // a new stream (else resumed within grace, or taken over)
  };
  // Creates the stream or takes it over (reconnect within grace, or takeover
  // when the app allows it). Wakes waiters of a new stream and tells the
  // observers (published / resumed), on the calling (publisher's) loop.
  // Called by HubPublisher::start.
  PublishResult publish(std::string_view app, std::string_view name, PublisherRef publisher);
  std::shared_ptr<StreamHub> find(std::string_view app, std::string_view name) const;
  std::vector<std::shared_ptr<StreamHub>> list() const;
  // Called by a hub that ended.
  void remove(const StreamHub* hub);
  // Ends every stream (shutdown).
  void end_all(const std::string& why);

  // Calls `cb` on `loop` once the stream exists (at once, posted, if it does),
  // or with nullptr from give_up_waiters().
  // Returns an id for cancel_wait(). A callback already posted when cancel_wait
  // runs still runs once, so callers guard with their own state.
  using WaitCallback = std::function<void(std::shared_ptr<StreamHub>)>;
  uint64_t wait_for(std::string_view app, std::string_view name, core::Loop& loop, WaitCallback cb);
  void cancel_wait(uint64_t id);
  // Calls the waiters of app/name now with a null hub (and forgets them):
  // what was to publish the stream gave up (StreamSources::release).
  void give_up_waiters(std::string_view app, std::string_view name);

 private:
  struct Waiter {
    uint64_t id;
    core::Loop* loop;
    WaitCallback cb;
  };
  void wake_waiters_locked(const std::string& key, const std::shared_ptr<StreamHub>& hub);

  Origin& origin_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<StreamHub>, std::less<>> hubs_;
  std::map<std::string, std::vector<Waiter>, std::less<>> waiters_;
  uint64_t next_wait_id_ = 1;
};

}  // namespace weir::origin
