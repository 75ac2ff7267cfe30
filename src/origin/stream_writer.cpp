#include "origin/stream_writer.h"

#include <spdlog/spdlog.h>

#include "origin/origin.h"
#include "origin/stream_hub.h"

namespace weir::origin {

namespace {
// Bytes taken from the ring per writev when a viewer is behind. Small enough
// that a viewer on a slow link re-reads (and can skip) within a fraction of a
// second; large enough that catching up a GOP is a handful of syscalls.
constexpr size_t kBatchBytes = 64 * 1024;
}  // namespace

StreamWriter::StreamWriter(Origin& origin, core::TcpConn* conn, Framing framing, Owner* owner)
    : origin_(origin), conn_(conn), framing_(framing), owner_(owner), hold_timer_(conn->loop()) {}

StreamWriter::~StreamWriter() { stop(); }

bool StreamWriter::start(const std::shared_ptr<StreamHub>& hub, StartAt at) {
  const core::AppConfig& app = hub->app_config();
  if (!in_.attach(hub, ConsumerOptions{ConsumerPolicy::kViewer, at, framing_ == Framing::kTs})) return false;
  app_counters_ = &hub->app_counters();
  conn_->set_send_buffer(size_t(app.viewer_sndbuf));
  audio_hold_ms_ = uint64_t(app.viewer_audio_hold_ms);
  pump();
  return true;
}

void StreamWriter::stop() {
  hold_timer_.stop();
  in_.release();
  conn_ = nullptr;
}

void StreamWriter::frame(const PacketRef& p) {
  const core::ByteView body = p->media().body.view();
  switch (framing_) {
    case Framing::kWsFlv:
      conn_->append(p->ws_header());
      [[fallthrough]];
    case Framing::kFlv:
      conn_->append(p->flv_tag_header());
      conn_->append(body);
      conn_->append(p->flv_prev_size());
      break;
    case Framing::kTs: {
      const core::Buffer* ts = p->ts();
      if (!ts) return;  // muxed before TS output was on, or not a frame
      conn_->append(ts->view());
      break;
    }
    case Framing::kRtmp: {
      conn_->append(p->rtmp_header());
      const size_t cs = p->rtmp_chunk_size();
      for (size_t off = 0; off < body.size(); off += cs) {
        if (off) conn_->append(p->rtmp_continuation());
        conn_->append(body.subspan(off, std::min(cs, body.size() - off)));
      }
      break;
    }
  }
  conn_->keep(core::Ref<const core::RefCounted>(p));
}

void StreamWriter::pump() {
  // pump() can be re-entered from a callback it triggers; one level suffices.
  if (pumping_ || !in_.attached() || !conn_ || done_) return;
  pumping_ = true;
  // Take more only once the kernel holds everything queued so far: a viewer
  // at the live edge gets each video frame at once, one that is behind gets
  // batches of many packets per writev.
  while (in_.attached() && conn_ && !conn_->write_in_flight()) {
    batch_.clear();
    ReadResult r = in_.read(batch_, kBatchBytes);
    if (r == ReadResult::kTooSlow) {
      pumping_ = false;
      on_too_slow(in_.backlog());
      return;
    }
    // Only a batch of nothing but audio may wait: a video frame that arrived
    // together with audio behind it goes out now.
    const bool audio_only = r == ReadResult::kOk && queue_batch();
    if (audio_only && audio_hold_ms_ && in_.ring()->video_seen() && in_.wait_if_caught_up()) {
      // Caught up after audio alone: let it ride with the next video frame.
      if (!hold_timer_.active()) hold_timer_.start(audio_hold_ms_, [this] { release_hold(); });
      break;
    }
    hold_timer_.stop();
    if (!conn_->flush() || r == ReadResult::kEmpty) break;  // the rest goes out from on_drained
  }
  pumping_ = false;
}

bool StreamWriter::queue_batch() {
  const size_t before = conn_->pending_bytes();
  bool audio_only = true;
  for (const PacketRef& p : batch_) {
    frame(p);
    audio_only = audio_only && p->media().is_audio();
  }
  const size_t queued = conn_->pending_bytes() - before;
  origin_.metrics().viewer_bytes_out_total.fetch_add(queued, std::memory_order_relaxed);
  if (app_counters_) app_counters_->bytes_out.fetch_add(queued, std::memory_order_relaxed);
  batch_.clear();
  return audio_only;
}

void StreamWriter::on_stream_ending() {
  // Too slow (kTooSlow) or nothing left: the tail is not queued. No flush
  // here: a write error must not reach the owner from inside LoopHub::end.
  if (pumping_ || !in_.attached() || !conn_ || done_) return;
  for (;;) {
    batch_.clear();
    if (in_.read(batch_, kBatchBytes) != ReadResult::kOk) break;
    queue_batch();
  }
  batch_.clear();
}

void StreamWriter::release_hold() {
  hold_timer_.stop();
  if (!conn_ || done_) return;
  conn_->flush();
}

void StreamWriter::on_stream_end(const std::string& why) { finish("stream ended: " + why); }

void StreamWriter::on_too_slow(uint64_t backlog_bytes) {
  origin_.metrics().viewers_slow_closed_total++;
  std::string peer = conn_ ? conn_->peer() : "?";
  finish(fmt::format("viewer {} too slow: {} bytes behind (cap {})", peer, backlog_bytes,
                     in_.stream() ? uint64_t(in_.stream()->app_config().viewer_max_bytes) : 0));
}

void StreamWriter::finish(const std::string& why) {
  if (done_) return;
  done_ = true;
  stop();
  if (owner_) owner_->on_writer_done(why);
}

}  // namespace weir::origin
