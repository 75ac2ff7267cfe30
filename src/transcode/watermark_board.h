// WatermarkBoard: the watermark of every live stream of an app with
// apps.<app>.watermark.enabled: the config's until the admin API sets or
// removes one for that stream. A running job's pipeline holds its stream's
// WatermarkSlot and rebuilds its filter graph (encoders stay open) on the
// first frame after the slot's version changes, so viewers of the output see
// a change within a frame interval plus the encoder's delay.
//
// Bounds: one entry per live stream that has a job or an API setting; the
// entry goes when the stream ends (TranscodeService's observer calls
// forget()), so a stream published again starts from the config. At most
// kMaxEntries entries (overflow action: set() is refused, the API answers 503).
//
// Thread: any thread; one mutex for the table, one per slot (held only to
// copy a shared_ptr). A pipeline polls version() (an atomic) per frame.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "transcode/watermark_spec.h"

namespace weir::transcode {

class WatermarkSlot {
 public:
  struct State {
    std::shared_ptr<const WatermarkSpec> spec;  // never null; empty spec = no watermark
    std::string set_by;                         // "config" or "api"
  };
  explicit WatermarkSlot(State s) : state_(std::move(s)) {}
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  State get() const {
    std::lock_guard<std::mutex> lk(mu_);
    return state_;
  }
  void set(State s) {
    std::lock_guard<std::mutex> lk(mu_);
    state_ = std::move(s);
    version_.fetch_add(1, std::memory_order_release);
  }

 private:
  mutable std::mutex mu_;
  State state_;  // guarded by mu_
  std::atomic<uint64_t> version_{1};
};

class WatermarkBoard {
 public:
  static constexpr size_t kMaxEntries = 100000;

  // The slot of app/stream, made from `cfg` if it has none.
  std::shared_ptr<WatermarkSlot> slot(const std::string& app, const std::string& stream,
                                      const core::WatermarkConfig& cfg);
  // The watermark now: the slot's, or the config's when there is no slot.
  WatermarkSlot::State current(const std::string& app, const std::string& stream,
                               const core::WatermarkConfig& cfg) const;
  // Sets (or with an empty spec removes) the watermark of app/stream, as the
  // API does. False when the table is full.
  bool set(const std::string& app, const std::string& stream, const core::WatermarkConfig& cfg,
           std::shared_ptr<const WatermarkSpec> spec);
  void forget(const std::string& app, const std::string& stream);
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<WatermarkSlot>> slots_;  // by "app/stream"; guarded by mu_
};

}  // namespace weir::transcode
