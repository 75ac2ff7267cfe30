// SrtPublisher: the loop side of an SRT connection that publishes (m=publish).
// Takes the datagrams the bridge queued, demuxes the MPEG-TS in them
// (protocol::TsDemuxer) and publishes the MediaPackets through a
// HubPublisher, as RtmpSession does (flushed once per batch; ending it on
// close starts the app's reconnect grace).
//
// Damage the demuxer survives (continuity gaps, lost sync, bad sections,
// dropped PES) is counted in /metrics; an error that makes the stream
// unusable (no sync within 1 MiB, no PAT/PMT within kProgramTimeoutMs of
// input) closes the session with one log line naming the peer and the reason.
//
// Thread: its loop only. Ownership: frees itself (deferred to a posted task)
// after close(); the SrtConn outlives it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/timer.h"
#include "ingest/srt/srt_conn.h"
#include "origin/client_registry.h"
#include "origin/hub_publisher.h"
#include "protocol/ts_demuxer.h"

namespace weir::origin {
class StreamHub;
}

namespace weir::ingest::srt {

class SrtPublisher final : public SrtSession {
 public:
  static constexpr uint64_t kProgramTimeoutMs = 5000;

  // Loop thread: creates the session for `c` and publishes, or closes `c`
  // with a log line if the registry refuses.
  static void start(const SrtConnRef& c);

  void on_input() override;
  void on_conn_end(const std::string& why) override { close(why); }
  void close_for_shutdown() override { close("server shutting down"); }

 private:
  explicit SrtPublisher(SrtConnRef c);
  ~SrtPublisher() override;
  void check_program();
  void add_demux_metrics();
  void close(const std::string& why);

  SrtConnRef conn_;
  core::Loop& loop_;
  protocol::TsDemuxer demuxer_;
  protocol::TsDemuxStats counted_;  // demuxer stats already added to /metrics
  origin::HubPublisher publisher_;
  std::vector<uint8_t> work_;
  core::Timer timer_;
  int64_t started_ms_ = 0;
  origin::ClientRegistry::Handle client_;  // active while publishing
  bool closing_ = false;
};

}  // namespace weir::ingest::srt
