#include "core/clock.h"
#include "origin/hls/flv_timeshift.h"

#include <chrono>
#include <deque>

#include <spdlog/spdlog.h>

#include "core/async_fs.h"
#include "core/timer.h"
#include "origin/hls/hls_service.h"
#include "origin/hls/stream_hls.h"
#include "origin/origin.h"
#include "origin/stream_hub.h"
#include "protocol/flv_writer.h"
#include "protocol/hls_aes.h"
#include "protocol/ts_demuxer.h"

namespace weir::origin::hls {

namespace {

constexpr size_t kMaxQueuedBytes = 1 << 20;
constexpr size_t kMaxSegmentFile = 256 << 20;




class TimeshiftFlv final : public http::StreamSink, public std::enable_shared_from_this<TimeshiftFlv> {
 public:
  TimeshiftFlv(Origin& origin, std::shared_ptr<StreamHls> store, core::Loop& loop, int64_t target_wall, uint64_t msn)
      : origin_(origin), store_(std::move(store)), loop_(loop), timer_(loop), target_wall_(target_wall), msn_(msn) {}

  void begin(const http::ExchangeRef& ex) {
    self_ = shared_from_this();
    conn_ = ex->start_stream(200, {{"Content-Type", "video/x-flv"}, {"Cache-Control", "no-cache, no-store"}}, this);
    if (!conn_) {
      self_.reset();
      return;
    }
    conn_->set_idle_timeout(0);
    core::ByteWriter w(16);
    protocol::write_flv_header(w, true, true);
    conn_->send(w.finish());
    load();
  }

  void on_writable() override { pump(); }
  void on_closed() override {
    conn_ = nullptr;
    timer_.stop();
    if (wait_id_) store_->cancel_wait(wait_id_);
    self_.reset();  // may free this
  }

 private:
  void finish(const std::string& why) {
    spdlog::debug("flv time-shift {}/{}: {}", store_->app(), store_->name(), why);
    if (conn_) conn_->close();
  }

  // Loads segment msn_ (waiting for it if it is not complete yet).
  void load() {
    if (!conn_ || loading_) return;
    core::Slice bytes;
    std::string path;
    auto lookup = store_->ts_segment(msn_, bytes, path);
    if (lookup == StreamHls::Lookup::kPending ||
        (lookup == StreamHls::Lookup::kNotFound && !store_->ended() && msn_ >= store_->live_edge().first)) {
      // Not complete (or not begun) yet: wait for it.
      auto self = shared_from_this();
      wait_id_ = store_->wait(WaitTarget{msn_, -1}, loop_, [self] {
        self->wait_id_ = 0;
        self->load();
      });
      if (!wait_id_) finish("too many held requests");
      return;
    }
    if (lookup == StreamHls::Lookup::kNotFound)
      return finish(store_->ended() ? "stream ended" : "segment " + std::to_string(msn_) + " left the time-shift window");
    if (lookup == StreamHls::Lookup::kOnDisk) {
      loading_ = true;
      auto self = shared_from_this();
      core::read_file_async(loop_, path, kMaxSegmentFile, [self](core::Result<core::Slice> r) {
        self->loading_ = false;
        if (!self->conn_) return;
        if (!r) return self->finish("segment read failed: " + r.error());
        self->demux(std::move(*r));
      });
      return;
    }
    demux(std::move(bytes));
  }

  void demux(core::Slice bytes) {
    StreamHls::SegmentInfo info;
    if (!store_->segment_info(msn_, info)) return finish("segment vanished");
    if (info.key_id) {
      std::array<uint8_t, 16> key;
      if (!store_->key(info.key_id, key)) return finish("segment key missing");
      auto clear = protocol::hls_aes_decrypt(key, msn_, bytes.view());
      if (!clear) return finish(clear.error());
      bytes = std::move(*clear);
    }
    size_t first = queue_.size();
    auto st = demuxer_.feed(bytes.view(), [this](const core::MediaPacket& p) {
      queue_.push_back(p);
      return core::Status::ok();
    });
    if (!st) return finish("segment demux: " + st.message());
    if (!started_) seek(first, info);
    ++msn_;
    pump();
  }

  // First segment: drop media before the keyframe at or before the target
  // time (configs are kept so the keyframe decodes).
  void seek(size_t first, const StreamHls::SegmentInfo& info) {
    // The demuxer's timeline starts at this segment: dts 0 == its PDT.
    const int64_t base = first < queue_.size() ? queue_[first].dts : 0;
    size_t key = first;
    for (size_t i = first; i < queue_.size(); ++i) {
      const core::MediaPacket& p = queue_[i];
      if (p.is_video() && p.is_keyframe() && !p.is_config() && info.pdt_ms + (p.dts - base) <= target_wall_) key = i;
    }
    std::deque<core::MediaPacket> kept;
    for (size_t i = 0; i < queue_.size(); ++i) {
      if (i >= key || queue_[i].is_config()) kept.push_back(std::move(queue_[i]));
    }
    queue_.swap(kept);
    started_ = true;
  }

  // Sends every packet that is due, then sleeps until the next one.
  void pump() {
    if (!conn_) return;
    if (conn_->pending_bytes() > kMaxQueuedBytes) return;  // on_writable resumes
    const uint64_t now = uv_now(loop_.uv());
    core::ByteWriter w(64 * 1024);
    while (!queue_.empty()) {
      core::MediaPacket& p = queue_.front();
      if (!have_base_ && !p.is_config()) {
        have_base_ = true;
        dts_base_ = p.dts;
        wall_base_ = now;
      }
      if (have_base_ && !p.is_config()) {
        int64_t due = int64_t(wall_base_) + (p.dts - dts_base_);
        if (due > int64_t(now)) {
          timer_.start(uint64_t(due - int64_t(now)), [this] { pump(); });
          break;
        }
      }
      int64_t ts = have_base_ ? std::max<int64_t>(0, p.dts - dts_base_) : 0;
      protocol::write_tag(w, p.flv_tag_type(), ts, p.body.view());
      queue_.pop_front();
    }
    if (w.size()) conn_->send(w.finish());
    if (queue_.empty()) load();
  }

  Origin& origin_;
  std::shared_ptr<StreamHls> store_;
  core::Loop& loop_;
  core::Timer timer_;
  core::TcpConn* conn_ = nullptr;
  std::shared_ptr<TimeshiftFlv> self_;  // alive while the connection is
  int64_t target_wall_;
  uint64_t msn_;
  uint64_t wait_id_ = 0;
  bool loading_ = false;
  bool started_ = false;
  protocol::TsDemuxer demuxer_;
  std::deque<core::MediaPacket> queue_;
  bool have_base_ = false;
  int64_t dts_base_ = 0;
  uint64_t wall_base_ = 0;
};

}  // namespace

void start_flv_timeshift(Origin& origin, http::ExchangeRef ex, const std::shared_ptr<StreamHub>& hub, double delay_s) {
  const core::AppConfig& cfg = hub->app_config();
  if (!cfg.timeshift.enabled || !cfg.hls.enabled)
    return ex->respond_text(400, "time-shift is not enabled for app '" + hub->app() + "'");
  auto store = origin.hls().ensure(hub);
  store->touch();
  int64_t target = core::wall_clock_ms() - int64_t(delay_s * 1000);
  auto msn = store->msn_at_or_before(target);
  if (!msn) {
    auto [a, b] = store->window_wall_ms();
    if (a == 0) return ex->respond_text(404, "the time-shift buffer is empty");
    return ex->respond_text(404, fmt::format("delay {}s reaches before the buffer: the time-shift window is {:.3f} .. {:.3f} (unix seconds)",
                                     delay_s, a / 1000.0, b / 1000.0));
  }
  auto session = std::make_shared<TimeshiftFlv>(origin, store, ex->loop(), target, *msn);
  session->begin(ex);
}

}  // namespace weir::origin::hls
