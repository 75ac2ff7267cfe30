#include "ingest/srt/srt_publisher.h"

#include <uv.h>

#include <spdlog/spdlog.h>

#include "ingest/srt/srt_server.h"
#include "origin/origin.h"
#include "origin/registry.h"
#include "origin/stream_hub.h"

namespace weir::ingest::srt {

void SrtPublisher::start(const SrtConnRef& c) {
  auto* s = new SrtPublisher(c);
  // Datagrams that arrive meanwhile wait in the connection's input queue
  // (capped; see SrtConn) until admission answers.
  s->publisher_.start(admission_request(c->id, c->peer), [s](const origin::HubPublisher::StartResult& r) {
    if (!r.hub) return s->close("publish refused: " + r.reason);
    const SrtConnRef& c = s->conn_;
    spdlog::info("srt #{} {}: publishing {}/{}{}", c->num, c->peer, c->id.app, c->id.stream,
                 c->id.user.empty() ? "" : " as user " + c->id.user);
    s->client_ = register_srt_client(c, origin::ClientRole::kPublish, [s](const std::string& why) { s->close(why); });
    s->timer_.start(kProgramTimeoutMs, [s] { s->check_program(); });
    s->on_input();
  }, c->admission_from);
}

SrtPublisher::SrtPublisher(SrtConnRef c)
    : conn_(std::move(c)),
      loop_(*conn_->loop),
      publisher_(conn_->server->origin(), loop_, {"srt", conn_->peer}, [this](const std::string& why) { close(why); }),
      timer_(loop_),
      started_ms_(int64_t(uv_now(loop_.uv()))) {
  conn_->session = this;
  conn_->server->add_session(loop_, this);
  loop_.track(this);
}

SrtPublisher::~SrtPublisher() = default;

void SrtPublisher::on_input() {
  if (closing_ || !publisher_.active()) return;  // admission pending: the input stays queued
  {
    std::lock_guard<std::mutex> lk(conn_->mu);
    conn_->input_posted = false;
    work_.clear();
    work_.swap(conn_->input);
  }
  if (work_.empty()) return;
  conn_->io.add_in(work_.size());
  core::Status st = demuxer_.feed(core::ByteView(work_.data(), work_.size()), [this](const core::MediaPacket& p) {
    publisher_.publish(p);
    return core::Status::ok();
  });
  add_demux_metrics();
  publisher_.flush();
  if (!st) {
    conn_->server->origin().metrics().sessions_rejected_total++;
    close("ts: " + st.message());
  }
}

void SrtPublisher::check_program() {
  if (closing_ || demuxer_.has_program()) return;
  const protocol::TsDemuxStats& s = demuxer_.stats();
  conn_->server->origin().metrics().sessions_rejected_total++;
  close(fmt::format("ts: no PAT/PMT in the first {} ms of input ({} bytes, {} TS packets, {} resyncs)",
                    kProgramTimeoutMs, s.bytes, s.packets, s.resyncs));
}

void SrtPublisher::add_demux_metrics() {
  const protocol::TsDemuxStats& s = demuxer_.stats();
  origin::Metrics& m = conn_->server->origin().metrics();
  auto add = [](origin::Metrics::Counter& c, uint64_t now, uint64_t before) {
    if (now > before) c.fetch_add(now - before, std::memory_order_relaxed);
  };
  add(m.srt_ts_cc_errors_total, s.cc_errors, counted_.cc_errors);
  add(m.srt_ts_resyncs_total, s.resyncs, counted_.resyncs);
  add(m.srt_ts_errors_total, s.transport_errors + s.malformed_packets + s.section_errors,
      counted_.transport_errors + counted_.malformed_packets + counted_.section_errors);
  add(m.srt_ts_pes_dropped_total, s.pes_dropped, counted_.pes_dropped);
  counted_ = s;
}

void SrtPublisher::close(const std::string& why) {
  if (closing_) return;
  closing_ = true;
  timer_.stop();
  client_.end(why);
  const protocol::TsDemuxStats& s = demuxer_.stats();
  if (publisher_.active()) {
    // An unbounded video PES is only complete when the next one starts:
    // hand over what the demuxer still holds.
    (void)demuxer_.flush([this](const core::MediaPacket& p) {
      publisher_.publish(p);
      return core::Status::ok();
    });
    publisher_.end(why);
    spdlog::info(
        "srt #{} {}: stopped publishing {}/{}: {} ({} bytes in, {} video + {} audio frames, {} cc errors, {} resyncs, "
        "{} PES dropped, {} input batches dropped)",
        conn_->num, conn_->peer, conn_->id.app, conn_->id.stream, why, s.bytes, s.es.video_frames, s.es.audio_frames,
        s.cc_errors, s.resyncs, s.pes_dropped, conn_->dropped_batches.load());
  } else {
    spdlog::info("srt #{} {}: closed: {}", conn_->num, conn_->peer, why);
  }
  conn_->server->retire_session(loop_, this, conn_);
}

}  // namespace weir::ingest::srt
