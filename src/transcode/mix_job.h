// MixJob: one running mix, loop side. It reads each input's hub with a
// lossless ConsumerHandle (an input not live yet is looked up again every
// kAttachMs; one that ends is let go and looked up again), hands the packets
// to its MixEngine on a WorkerPool Strand, ticks the program at its frame
// rate from a loop timer (each tick is a strand job: compose, mix, encode)
// and publishes what comes back into the program's hub through
// HubPublisher::start_admitted, so every play protocol, recording and
// watermark apply to the program.
//
// Timeline: program frame n has pts n * 1000 / fps ms from the job's start,
// whatever the inputs do; ticks follow the monotonic clock (a late timer
// makes up to kMaxCatchUp frames at once; further behind, the frames are
// skipped and counted, so the program stays in real time).
//
// Hand-off bound: the strand holds at most transcode.max_queued_packets
// jobs (packets and ticks). Overflow actions: an input's packets are dropped
// up to its next keyframe (counted in packets_dropped; its config is sent
// again first); a tick is dropped (counted in frames_dropped).
//
// Life: started by MixService (POST), changed by update() (PATCH, applied
// between two ticks), ended by stop() (DELETE, the program taken over by
// another publisher, the engine failing, shutdown). Stopping ends the
// program hub at once.
//
// Thread: its loop only, except counters() (atomics). Lifetime: self-owned;
// stop() tells the service and frees the job from a posted task.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/timer.h"
#include "core/worker_pool.h"
#include "origin/consumer.h"
#include "origin/consumer_handle.h"
#include "origin/hub_publisher.h"
#include "transcode/keyframe_gate.h"
#include "transcode/mix_engine.h"
#include "transcode/mix_spec.h"

namespace weir::transcode {

class MixService;

class MixJob {
 public:
  static constexpr uint64_t kAttachMs = 250;
  static constexpr int kMaxCatchUp = 3;

  struct Counters {
    std::atomic<uint64_t> frames_out{0};       // program pictures encoded
    std::atomic<uint64_t> frames_dropped{0};   // ticks dropped (strand full, timer late)
    std::atomic<uint64_t> packets_dropped{0};  // input packets dropped (strand full)
    std::atomic<uint64_t> inputs_shown{0};     // inputs drawn in the last picture
    std::atomic<uint64_t> graph_builds{0};
    std::atomic<uint64_t> audio_underruns{0};
    std::atomic<uint64_t> queued{0};           // strand jobs waiting
  };

  MixJob(MixService& service, core::Loop& loop, std::string id, MixSpec spec);
  ~MixJob();

  // Publishes the program and starts ticking. On error the job is not
  // running and the caller deletes it.
  core::Status start();
  void update(const MixSpec& spec);
  void stop(const std::string& why);

  const std::string& id() const { return id_; }
  core::Loop& loop() const { return loop_; }
  const std::shared_ptr<Counters>& counters() const { return counters_; }

 private:
  // One input's attachment to its hub.
  class Link final : public origin::Consumer {
   public:
    Link(MixJob& job, std::string app, std::string stream) : job_(job), app_(std::move(app)), stream_(std::move(stream)), key_(app_ + "/" + stream_) {}
    void try_attach();
    void on_packets() override;
    void on_stream_end(const std::string& why) override;
    const std::string& key() const { return key_; }

   private:
    MixJob& job_;
    const std::string app_, stream_, key_;
    origin::ConsumerHandle in_{*this};
    std::vector<origin::PacketRef> batch_;
    KeyframeGate gate_;  // overflow action: drop to the input's next keyframe
  };

  bool submit_packet(const std::string& key, const core::MediaPacket& pkt);
  void on_timer();
  void tick(int64_t frame);
  void deliver(core::Result<std::vector<core::MediaPacket>> r);
  void set_links();

  MixService& service_;
  core::Loop& loop_;
  const std::string id_;
  MixSpec spec_;
  origin::HubPublisher out_;
  std::shared_ptr<origin::StreamHub> out_hub_;
  std::vector<std::unique_ptr<Link>> links_;
  std::shared_ptr<MixEngine> engine_;
  std::shared_ptr<Counters> counters_ = std::make_shared<Counters>();
  std::unique_ptr<core::WorkerPool::Strand> strand_;
  core::Timer ticker_, attach_;
  int64_t start_ms_ = 0;
  int64_t next_frame_ = 0;
  bool pending_spec_ = false;  // a spec change the strand refused: sent with the next tick
  bool stopped_ = false;
};

}  // namespace weir::transcode
