// PublisherHandle: how a StreamHub refers to whoever feeds it, without
// owning it. Sources do not fill one in themselves: HubPublisher
// (hub_publisher.h) makes it, and clears `publisher` when it goes away, so a
// task the hub posts later finds nullptr instead of freed memory.
//
// Thread: `publisher` is read and written only on `loop`'s thread; the hub
// reaches the publisher by posting to that loop. Shared (shared_ptr) so a
// posted task can outlive the publisher safely. The other fields are set
// before the handle is shared and never change.
#pragma once

#include <memory>
#include <string>

#include "protocol/query_params.h"

namespace weir::core {
class Loop;
}

namespace weir::origin {

class HubPublisher;

struct PublisherHandle {
  core::Loop* loop = nullptr;
  HubPublisher* publisher = nullptr;  // nullptr once the publisher is gone
  std::string peer;                   // for logs and the admin API
  std::string protocol;               // "rtmp", "srt", "edge", "transcode", ...
  // The publisher's admitted parameters (its URL or stream-id query: a
  // forwarded publish carries the chain of nodes it passed, edge/via.h);
  // empty for sources Weir starts itself. Bounded by protocol::kMaxQueryParams.
  protocol::QueryParams params;
};

using PublisherRef = std::shared_ptr<PublisherHandle>;

}  // namespace weir::origin
