// TranscodeJob: one source stream transcoded into all renditions of its app.
// Loop side of the job: it reads the source hub with a lossless
// ConsumerHandle, hands each packet to its TranscodePipeline on a WorkerPool
// Strand (decode/filter/encode never run on the loop) and publishes what comes
// back into one hub per rendition through HubPublisher::start_admitted, so
// every play protocol, HLS, recording and edge pull work on the outputs.
//
// Hand-off bound: the strand holds at most transcode.max_queued_packets
// source packets. Overflow action: the job drops source packets (video and
// audio) up to the next source keyframe, counted in frames_dropped; the
// decoder resumes there (its config is sent again first).
//
// Life: started by TranscodeService (on demand: the first viewer of a
// rendition; `always`: the source's publish). The source dropping its
// publisher leaves the job attached through the reconnect grace (packets
// resume with the hub's rebased timeline; a new config reopens the decoder).
// It stops when the source ends, when the pipeline fails (the error is logged
// and given to viewers waiting), on demand idle_ms after the last viewer of
// every output, or at shutdown. Stopping ends the output hubs at once.
//
// Latency (weir_transcode_latency_seconds): the loop time from reading a
// source video frame to publishing a rendition frame of the same pts, per
// rendition frame. At most kMaxTimedFrames source frames are remembered
// (overflow action: the oldest pts is forgotten, its outputs not observed);
// frames an fps cap makes on its own grid match no source pts and are not
// observed.
//
// Thread: its loop only, except counters() (atomics, any thread). Lifetime:
// self-owned; stop() tells the service and frees the job from a posted task.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/histogram.h"
#include "core/timer.h"
#include "core/worker_pool.h"
#include "origin/consumer.h"
#include "origin/consumer_handle.h"
#include "origin/hub_publisher.h"
#include "transcode/keyframe_gate.h"
#include "transcode/rendition_spec.h"
#include "transcode/transcode_pipeline.h"

namespace weir::transcode {

class TranscodeService;

class TranscodeJob final : public origin::Consumer {
 public:
  static constexpr size_t kMaxTimedFrames = 512;
  static constexpr std::array<double, 16> kLatencyBounds{0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5,
                                                         0.55, 0.6, 0.65, 0.7, 0.8, 1.0, 2.0, 5.0};
  // Shared with the strand's work (which updates the pipeline's figures).
  struct Counters {
    std::atomic<uint64_t> frames_in{0};       // source video frames received
    std::atomic<uint64_t> frames_decoded{0};  // of them, decoded
    std::atomic<uint64_t> frames_out{0};      // encoded video frames, all renditions
    std::atomic<uint64_t> frames_dropped{0};  // source video frames dropped (queue full, ring gap)
    std::atomic<uint64_t> audio_dropped{0};   // source audio frames dropped with them
    std::atomic<uint64_t> decode_errors{0};
    std::atomic<uint64_t> audio_decoded{0};        // source audio frames decoded for aac/opus renditions
    std::atomic<uint64_t> audio_decode_errors{0};  // source audio packets its decoder refused
    std::atomic<uint64_t> queued{0};          // packets waiting for the strand
    core::Histogram latency{{kLatencyBounds.begin(), kLatencyBounds.end()}};  // source frame in -> rendition frame out
    std::atomic<uint64_t> graph_builds{0};    // filter graphs built (source changes, watermark changes)
    std::atomic<uint64_t> watermark_errors{0};  // graphs built without the watermark: it could not be drawn
  };

  TranscodeJob(TranscodeService& service, core::Loop& loop, std::string app, std::string source,
               std::vector<RenditionSpec> specs, bool on_demand, std::shared_ptr<const WatermarkSlot> watermark = {});
  ~TranscodeJob() override;

  // Attaches to `source` and starts publishing every output. On error the job
  // is not running and the caller deletes it.
  core::Status start(const std::shared_ptr<origin::StreamHub>& source);
  // Ends the job (idempotent). `failure` non-empty: it failed (viewers waiting
  // for an output get it).
  void stop(const std::string& why, const std::string& failure = {});

  const std::string& app() const { return app_; }
  const std::string& source() const { return source_; }
  const std::string& key() const { return key_; }
  const std::vector<RenditionSpec>& specs() const { return specs_; }
  core::Loop& loop() const { return loop_; }
  const Counters& counters() const { return *counters_; }
  int64_t started_ms() const { return started_ms_; }
  bool on_demand() const { return on_demand_; }

 private:
  void on_packets() override;
  void on_stream_end(const std::string& why) override;

  bool submit(const core::MediaPacket& pkt);
  void deliver(core::Result<std::vector<TranscodePipeline::Output>> r);
  void sweep();
  void observe_latency(const core::MediaPacket& out);

  TranscodeService& service_;
  core::Loop& loop_;
  const std::string app_, source_, key_;
  const std::vector<RenditionSpec> specs_;
  const bool on_demand_;
  const std::shared_ptr<const WatermarkSlot> watermark_;  // null: the app draws none
  const int64_t started_ms_;
  origin::ConsumerHandle in_{*this};
  std::vector<std::unique_ptr<origin::HubPublisher>> outs_;
  std::vector<std::shared_ptr<origin::StreamHub>> out_hubs_;
  std::shared_ptr<TranscodePipeline> pipe_;
  std::shared_ptr<Counters> counters_ = std::make_shared<Counters>();
  std::unique_ptr<core::WorkerPool::Strand> strand_;
  core::Timer sweep_;
  std::vector<origin::PacketRef> batch_;
  struct Timed {
    int64_t in_us;       // steady clock when the job read the source frame
    size_t outputs_left;  // renditions that have not published this pts yet
  };
  std::map<int64_t, Timed> timed_;  // by source pts; at most kMaxTimedFrames
  KeyframeGate gate_;  // overflow action: drop to the next source keyframe
  bool stopped_ = false;
  int64_t idle_since_ms_ = 0;
};

}  // namespace weir::transcode
