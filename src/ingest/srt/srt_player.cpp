#include "ingest/srt/srt_player.h"

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "ingest/srt/srt_server.h"
#include "origin/origin.h"
#include "origin/registry.h"
#include "origin/stream_hub.h"
#include "protocol/ts_packet.h"

namespace weir::ingest::srt {

namespace {
// Flv-sized bytes taken from the ring per read; as StreamWriter.
constexpr size_t kBatchBytes = 64 * 1024;
}  // namespace

void SrtPlayer::start(const SrtConnRef& c) {
  auto* s = new SrtPlayer(c);
  s->play_.start(admission_request(c->id, c->peer), [s](origin::PlayRequest::Outcome o) {
    if (!o.hub) return s->close("play refused: " + o.reason);
    s->start_playing(o.hub);
  }, c->admission_from);
}

SrtPlayer::SrtPlayer(SrtConnRef c) : conn_(std::move(c)), loop_(*conn_->loop), play_(conn_->server->origin()) {
  const core::AppConfig* cfg = conn_->server->origin().config().find_app(conn_->id.app);
  size_t payload = cfg ? size_t(cfg->srt.payload_size) : 1316;
  chunk_ = std::max<size_t>(1, payload / protocol::kTsPacketSize) * protocol::kTsPacketSize;
  chunk_ = std::min(chunk_, sizeof stage_);
  conn_->session = this;
  conn_->server->add_session(loop_, this);
  loop_.track(this);
}

SrtPlayer::~SrtPlayer() = default;

void SrtPlayer::start_playing(const std::shared_ptr<origin::StreamHub>& hub) {
  const core::AppConfig& app = hub->app_config();
  origin::ConsumerOptions opts{origin::ConsumerPolicy::kViewer,
                               app.gop_cache ? origin::StartAt::kLatestKeyframe : origin::StartAt::kLiveEdge, true};
  if (!in_.attach(hub, opts)) return close("play: stream " + hub->key() + " has ended");
  played_ = true;
  app_counters_ = &hub->app_counters();
  client_ = register_srt_client(conn_, origin::ClientRole::kPlay, [this](const std::string& why) { close(why); });
  spdlog::info("srt #{} {}: playing {}/{}", conn_->num, conn_->peer, conn_->id.app, conn_->id.stream);
  pump();
}

void SrtPlayer::on_writable() {
  if (closing_) return;
  blocked_ = false;
  if (lingering_) return linger_step();
  pump();
}

void SrtPlayer::pump() {
  if (pumping_ || closing_ || blocked_ || !in_.attached()) return;
  pumping_ = true;
  while (!closing_ && in_.attached()) {
    if (!send_out()) break;
    origin::ReadResult r = in_.read(out_, kBatchBytes);
    if (r == origin::ReadResult::kTooSlow) {
      pumping_ = false;
      on_too_slow(in_.backlog());
      return;
    }
    if (r == origin::ReadResult::kEmpty) {
      // Nothing more due now: the partial message goes out at once.
      flush_stage();
      break;
    }
  }
  pumping_ = false;
  if (!closing_) sample_queue();
}

bool SrtPlayer::flush_stage() {
  if (stage_len_ == 0) return true;
  int rc = srt_sendmsg(conn_->sock, reinterpret_cast<const char*>(stage_), int(stage_len_), -1, 0);
  if (rc != SRT_ERROR) {
    conn_->server->origin().metrics().viewer_bytes_out_total.fetch_add(stage_len_, std::memory_order_relaxed);
    if (app_counters_) app_counters_->bytes_out.fetch_add(stage_len_, std::memory_order_relaxed);
    conn_->io.add_out(stage_len_);
    stage_len_ = 0;
    last_send_ms_ = int64_t(uv_now(loop_.uv()));
    return true;
  }
  int err = srt_getlasterror(nullptr);
  if (err == SRT_EASYNCSND) {
    blocked_ = true;
    conn_->server->request_writable(conn_);
    return false;
  }
  close(std::string("srt send: ") + srt_getlasterror_str());
  return false;
}

bool SrtPlayer::send_out() {
  while (out_idx_ < out_.size()) {
    const core::Buffer* ts = out_[out_idx_]->ts();
    core::ByteView v = ts ? ts->view() : core::ByteView();
    while (out_off_ < v.size()) {
      if (stage_len_ == chunk_ && !flush_stage()) return false;
      size_t n = std::min(chunk_ - stage_len_, v.size() - out_off_);
      std::memcpy(stage_ + stage_len_, v.data() + out_off_, n);
      stage_len_ += n;
      out_off_ += n;
    }
    ++out_idx_;
    out_off_ = 0;
  }
  if (stage_len_ == chunk_ && !flush_stage()) return false;
  out_.clear();
  out_idx_ = 0;
  return true;
}

size_t SrtPlayer::unsent_bytes() const {
  size_t n = 0;
  for (size_t i = out_idx_; i < out_.size(); ++i)
    if (const core::Buffer* ts = out_[i]->ts()) n += ts->size();
  return n > out_off_ ? n - out_off_ : 0;
}

void SrtPlayer::sample_queue() {
  if (closing_) return;
  size_t bytes = 0;
  // Returns the time span of the buffered data (ms), or -1.
  if (srt_getsndbuffer(conn_->sock, nullptr, &bytes) >= 0) snd_queued_ = int64_t(bytes);
}

void SrtPlayer::on_stream_ending() {
  if (closing_ || pumping_ || !in_.attached()) return;
  // read() appends to out_ and says kOk while out_ holds anything: stop when
  // a read adds nothing (or the viewer is past its cap: no tail then).
  for (;;) {
    const size_t before = out_.size();
    if (in_.read(out_, kBatchBytes) != origin::ReadResult::kOk || out_.size() == before) break;
  }
}

void SrtPlayer::on_stream_end(const std::string& why) {
  // Detached already; what was read from the ring still goes out.
  if (closing_ || lingering_) return;
  lingering_ = true;
  end_why_ = "stream ended: " + why;
  int peer_latency = 0;
  int len = sizeof peer_latency;
  if (srt_getsockflag(conn_->sock, SRTO_PEERLATENCY, &peer_latency, &len) == SRT_ERROR) peer_latency = 0;
  peer_latency_ms_ = std::max(peer_latency, 0);
  linger_deadline_ms_ = int64_t(uv_now(loop_.uv())) + peer_latency_ms_ + kMaxLingerMs;
  linger_step();
}

void SrtPlayer::linger_step() {
  if (closing_) return;
  const int64_t now = int64_t(uv_now(loop_.uv()));
  if (!blocked_ && send_out() && flush_stage()) {
    size_t bytes = 0;
    bool acked = srt_getsndbuffer(conn_->sock, nullptr, &bytes) < 0 || bytes == 0;
    if (acked && now - last_send_ms_ >= peer_latency_ms_ + kLingerMarginMs) return close(end_why_);
  }
  if (closing_) return;  // a send error closed it
  if (now >= linger_deadline_ms_) return close(end_why_ + " (the tail may not have been delivered)");
  linger_timer_.start(20, [this] { linger_step(); });
}

void SrtPlayer::on_too_slow(uint64_t backlog_bytes) {
  conn_->server->origin().metrics().viewers_slow_closed_total++;
  uint64_t cap = in_.stream() ? uint64_t(in_.stream()->app_config().viewer_max_bytes) : 0;
  close(fmt::format("viewer too slow: {} bytes behind (cap {})", backlog_bytes, cap));
}

void SrtPlayer::close(const std::string& why) {
  if (closing_) return;
  closing_ = true;
  linger_timer_.stop();
  play_.cancel();
  client_.end(why);
  in_.release();
  if (played_) {
    spdlog::info("srt #{} {}: player of {}/{} closed: {} ({} bytes sent, {} skips)", conn_->num, conn_->peer,
                 conn_->id.app, conn_->id.stream, why, conn_->io.out(), in_.skips());
  } else {
    spdlog::info("srt #{} {}: closed: {}", conn_->num, conn_->peer, why);
  }
  out_.clear();
  conn_->server->retire_session(loop_, this, conn_);
}

}  // namespace weir::ingest::srt
