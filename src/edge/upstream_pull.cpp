#include "edge/upstream_pull.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/clock.h"
#include "core/config.h"
#include "edge/edge_puller.h"
#include "edge/via.h"
#include "origin/client_registry.h"
#include "origin/hls/hls_service.h"
#include "origin/hls/stream_hls.h"
#include "origin/origin.h"
#include "origin/stream_hub.h"
#include "origin/viewer_activity.h"
#include "ingest/srt/srt_bridge.h"
#include "protocol/flv_tag.h"
#include "protocol/rtmp_messages.h"

namespace weir::edge {

namespace {
constexpr uint64_t kSweepMs = 500;
int64_t mono_ms() { return OriginHealth::now_ms(); }
}  // namespace

UpstreamPull::UpstreamPull(EdgePuller& edge, core::Loop& loop, std::string app, std::string stream, std::string via)
    : edge_(edge),
      loop_(loop),
      app_(std::move(app)),
      stream_(std::move(stream)),
      key_(app_ + "/" + stream_),
      via_(std::move(via)),
      retry_(loop),
      sweep_(loop) {}

UpstreamPull::~UpstreamPull() = default;

void UpstreamPull::start() {
  sweep_.start(kSweepMs, [this] { sweep(); }, kSweepMs);
  new_round();
}

namespace {
bool has_upstream(EdgePuller& edge, const core::AppConfig* cfg) {
  return cfg && (!cfg->upstream.urls.empty() || edge.locator_for(*cfg));
}
}  // namespace

void UpstreamPull::new_round() {
  const core::AppConfig* cfg = edge_.origin().config().find_app(app_);
  if (!has_upstream(edge_, cfg)) return stop("app '" + app_ + "' has no upstream any more", "no upstream");
  StreamLocator* loc = edge_.locator_for(*cfg);
  if (!loc) return begin_round({Located::Result::kNotFound, {}, {}});
  loc->locate(loop_, app_, stream_, [this, life = std::weak_ptr<char>(life_)](Located r) {
    if (life.expired() || stopped_) return;
    begin_round(r);
  });
}

void UpstreamPull::begin_round(const Located& found) {
  const core::AppConfig* cfg = edge_.origin().config().find_app(app_);
  if (!has_upstream(edge_, cfg)) return stop("app '" + app_ + "' has no upstream any more", "no upstream");
  const std::vector<std::string>& urls = cfg->upstream.urls;
  order_ = upstream_order(parse_upstream_policy(cfg->upstream.policy), urls.size(), stream_, edge_.next_ticket(),
                          edge_.health().healthy(urls, mono_ms()));
  tmpls_ = urls;
  attempt_ = 0;
  errors_.clear();
  if (found.result == Located::Result::kFound) {
    // The origin that has the stream goes first (once, if it is also listed).
    auto listed = std::find(urls.begin(), urls.end(), found.url);
    if (listed != urls.end()) {
      const size_t i = size_t(listed - urls.begin());
      order_.erase(std::find(order_.begin(), order_.end(), i));
      order_.insert(order_.begin(), i);
    } else {
      tmpls_.push_back(found.url);
      order_.insert(order_.begin(), tmpls_.size() - 1);
    }
  } else if (edge_.locator_for(*cfg)) {
    errors_ = found.result == Located::Result::kNotFound ? "discovery: no origin has it" : "discovery: " + found.why;
  }
  connect_next();  // with no origin at all, the round has failed at once
}

void UpstreamPull::connect_next() {
  if (stopped_) return;
  const core::AppConfig* cfg = edge_.origin().config().find_app(app_);
  if (!has_upstream(edge_, cfg)) return stop("app '" + app_ + "' has no upstream any more", "no upstream");
  if (attempt_ >= order_.size()) {
    // Every origin failed once in this round.
    if (!ever_streamed_ || !hub_ || hub_->state() == origin::StreamHub::State::kEnded) {
      spdlog::warn("edge {}: every origin failed: {}", key_, errors_);
      return stop("every origin failed", "every origin failed: " + errors_);
    }
    const int64_t wait = upstream_backoff_ms(cfg->upstream.backoff_ms, cfg->upstream.backoff_max_ms, failed_rounds_++);
    spdlog::warn("edge {}: every origin failed ({}); retrying in {} ms", key_, errors_, wait);
    retry_.start(uint64_t(wait), [this] { new_round(); });
    return;
  }
  const size_t idx = order_[attempt_];
  origin_tmpl_ = tmpls_[idx];
  origin_ = &edge_.health().at(origin_tmpl_);
  const std::string query = upstream_query(cfg->upstream, app_, stream_, via_, core::wall_clock_ms() / 1000);
  auto target = expand_upstream_url(origin_tmpl_, app_, stream_, query);
  if (!target) {
    failed(target.error(), false);
    return;
  }
  // The token is not logged: log the template.
  origin_url_ = origin_tmpl_;
  const uint64_t connect_ms = uint64_t(cfg->upstream.connect_timeout_ms);
  const uint64_t stall_ms = uint64_t(cfg->upstream.stall_timeout_ms);
  core::Status st;
  if (target->kind == UpstreamKind::kRtmp) {
    client::RtmpClientOptions o;
    o.mode = client::RtmpMode::kPlay;
    o.connect_timeout_ms = connect_ms;
    o.response_timeout_ms = connect_ms;
    o.stall_timeout_ms = stall_ms;
    o.max_message_size = uint32_t(std::min<uint64_t>(edge_.origin().config().rtmp.max_message_size, 0xFFFFFF));
    o.tls = edge_.tls();
    rtmp_ = std::make_unique<client::RtmpClient>(loop_, static_cast<client::RtmpClient::Handler&>(*this), o);
    st = rtmp_->start(target->url);
  } else if (target->kind == UpstreamKind::kSrt) {
    ingest::srt::SrtBridge* bridge = edge_.srt_bridge();
    if (!bridge) return failed("SRT is not available in this process", false);
    ingest::srt::SrtCallerOptions o;
    o.connect_timeout_ms = connect_ms;
    o.stall_timeout_ms = stall_ms;
    o.receive = true;
    srt_ = std::make_unique<ingest::srt::SrtCaller>(loop_, *bridge,
                                                    static_cast<ingest::srt::SrtCaller::Handler&>(*this), o);
    ts_ = std::make_unique<protocol::TsDemuxer>();
    srt_connected_ms_ = 0;
    st = srt_->start(target->srt);
  } else {
    client::HttpClientOptions o;
    o.connect_timeout_ms = connect_ms;
    o.head_timeout_ms = connect_ms;
    o.idle_timeout_ms = stall_ms;
    o.tls = edge_.tls();
    o.user_agent = "weir-edge";
    http_ = std::make_unique<client::HttpClient>(loop_, o);
    flv_ = std::make_unique<protocol::FlvReader>(uint32_t(0xFFFFFF));
    client::HttpRequest req;
    req.url = target->url;
    st = http_->send(std::move(req), static_cast<client::HttpClient::Handler&>(*this));
  }
  if (!st) failed(st.message(), false);
}

void UpstreamPull::on_ready() { streaming(); }

void UpstreamPull::streaming() {
  if (is_streaming_) return;
  out_ = std::make_unique<origin::HubPublisher>(edge_.origin(), loop_, origin::HubPublisher::Source{"edge", origin_url_},
                                                [this](const std::string& why) {
                                                  // Dropped by the operator, taken over by a local
                                                  // publisher, or shutdown (may free out_: allowed).
                                                  stop("the stream was ended here (" + why + ")");
                                                });
  auto r = out_->start_admitted(app_, stream_);
  if (!r.hub) {
    // Published locally meanwhile (an encoder here), or the app is gone.
    return stop("cannot publish here: " + r.reason);
  }
  is_streaming_ = true;
  edge_.health().connected(*origin_);
  if (lost_) {
    edge_.failovers_total++;
    spdlog::info("edge {}: resumed from {} (failover)", key_, origin_url_);
  } else {
    spdlog::info("edge {}: pulling from {}", key_, origin_url_);
  }
  lost_ = false;
  if (!ever_streamed_ || hub_ != r.hub) idle_since_ms_ = mono_ms();
  ever_streamed_ = true;
  hub_ = r.hub;
  failed_rounds_ = 0;
}

void UpstreamPull::on_packet(const core::MediaPacket& pkt) {
  if (is_streaming_) out_->publish(pkt);
}

void UpstreamPull::on_bytes(size_t n) {
  if (origin_) origin_->bytes.fetch_add(n, std::memory_order_relaxed);
}

void UpstreamPull::on_closed(const core::Status& why) {
  // A refusal (StreamNotFound) or the stream ending there is about the
  // stream; anything else (timeouts, lost connection) about the origin.
  const std::string m = why.message();
  const bool about_stream = m.find("NetStream.") != std::string::npos || m.find("NetConnection.Connect.Rejected") != std::string::npos ||
                            m.find("stream ended") != std::string::npos;
  failed(m, !about_stream);
}

void UpstreamPull::on_head(const protocol::HttpResponseHead& head) {
  if (head.status == 200) return streaming();
  // 404 and other 4xx: the origin is well, the stream is not there for us.
  failed("HTTP " + std::to_string(head.status) + " " + head.reason, head.status >= 500);
}

void UpstreamPull::on_body(core::ByteView bytes) {
  if (!is_streaming_ || !flv_) return;
  core::Status st = flv_->feed(bytes, [this](const protocol::FlvTag& t) -> core::Status {
    if (t.type == 18) {
      protocol::RtmpMessage m;
      m.type_id = 18;
      m.timestamp = int64_t(t.timestamp_ms);
      m.payload = t.body;
      auto pkt = protocol::make_data_packet(m);
      if (!pkt) return core::Status::errorf("script tag: {}", pkt.error());
      if (*pkt) out_->publish(std::move(**pkt));
      return core::Status::ok();
    }
    uint8_t track = 0;
    auto pkt = protocol::make_media_packet(t.type, int64_t(t.timestamp_ms), t.body, &track);
    if (!pkt) return pkt.status();
    if (track == 0) out_->publish(std::move(*pkt));  // E-RTMP multitrack: the default track, as ingest
    return core::Status::ok();
  });
  if (!st) failed("bad FLV from the origin: " + st.message(), true);
}

void UpstreamPull::on_complete(const core::Status& st) {
  failed(st.is_ok() ? std::string("the origin ended the stream") : st.message(), !st.is_ok());
}

void UpstreamPull::on_srt_connected() { srt_connected_ms_ = mono_ms(); }

void UpstreamPull::on_srt_data(core::ByteView bytes) {
  if (!ts_ || stopped_) return;
  on_bytes(bytes.size());
  const uint64_t gen = upstream_gen_;
  // The stream starts with the first packet the demuxer gives (a codec
  // config, before the first keyframe): connected alone does not mean the
  // origin has it.
  core::Status st = ts_->feed(bytes, [this, gen](const core::MediaPacket& p) -> core::Status {
    if (gen != upstream_gen_) return core::Status::error("upstream closed");
    if (!is_streaming_) {
      streaming();
      if (!is_streaming_ || gen != upstream_gen_) return core::Status::error("upstream closed");
    }
    out_->publish(p);
    return core::Status::ok();
  });
  if (gen != upstream_gen_ || stopped_) return;
  if (!st) return failed("bad MPEG-TS from the origin: " + st.message(), true);
  if (!is_streaming_ && srt_connected_ms_ > 0) {
    const core::AppConfig* cfg = edge_.origin().config().find_app(app_);
    const int64_t limit = std::max<int64_t>(cfg ? cfg->upstream.connect_timeout_ms : 3000, 1000);
    if (mono_ms() - srt_connected_ms_ > limit) {
      const protocol::TsDemuxStats& s = ts_->stats();
      return failed(fmt::format("no media in the MPEG-TS within {} ms ({} bytes, {} TS packets, {} resyncs, {})",
                                limit, s.bytes, s.packets, s.resyncs,
                                ts_->has_program() ? "PAT/PMT seen" : "no PAT/PMT"),
                    true);
    }
  }
  if (out_) out_->flush();
}

void UpstreamPull::on_srt_closed(const std::string& why) {
  // A video PES over 64 KB cannot carry its length, so the demuxer holds the
  // stream's last frame until a next PES that will not come: hand it over
  // before the hub ends, as SRT ingest does (SrtPublisher::close).
  if (is_streaming_ && ts_ && out_) {
    (void)ts_->flush([this](const core::MediaPacket& p) {
      out_->publish(p);
      return core::Status::ok();
    });
    out_->flush();
  }
  // A Weir origin rejects a stream it does not have with 1404 (1000 + HTTP
  // status, srt_server.h); other 14xx refusals are about the stream or our
  // credentials too. Anything else (timeouts, lost connection) is about the origin.
  const bool about_stream = why.find("reject code 14") != std::string::npos;
  failed(why, !about_stream);
}

void UpstreamPull::failed(std::string why, bool origin_down) {  // by value: `why` may live in the client it closes
  if (stopped_) return;
  const bool was_streaming = is_streaming_;
  close_upstream();
  const core::AppConfig* cfg = edge_.origin().config().find_app(app_);
  const int64_t base = cfg ? cfg->upstream.backoff_ms : 1000, max = cfg ? cfg->upstream.backoff_max_ms : 10000;
  if (origin_) edge_.health().ended(*origin_, was_streaming, why, origin_down, mono_ms(), base, max);
  spdlog::warn("edge {}: origin {} failed: {}", key_, origin_url_, why);
  if (!errors_.empty()) errors_ += "; ";
  errors_ += origin_url_ + ": " + why;
  origin_ = nullptr;
  if (was_streaming) {
    // Viewers stay for the app's reconnect grace; the next origin resumes the
    // hub within it. A fresh round: the failed origin is now down, so the
    // others come first.
    if (out_) out_->end("upstream " + origin_url_ + " failed: " + why);
    out_.reset();
    lost_ = true;
    return new_round();
  }
  ++attempt_;
  connect_next();
}

void UpstreamPull::close_upstream() {
  is_streaming_ = false;
  ++upstream_gen_;
  rtmp_.reset();
  http_.reset();
  flv_.reset();
  if (srt_) srt_->close();
  if (srt_ || ts_) {
    // Possibly inside their own callbacks (the demuxer's feed, the caller's
    // input): freed from a task. Closed already: no callback reaches us.
    auto* caller = srt_.release();
    auto* demux = ts_.release();
    if (!loop_.post([caller, demux] {
          delete caller;
          delete demux;
        })) {
      delete caller;  // loop stopping: nothing of ours runs on it any more
      delete demux;
    }
  }
}

bool UpstreamPull::has_viewers() {
  const core::AppConfig* cfg = edge_.origin().config().find_app(app_);
  return origin::has_viewers(edge_.origin(), app_, stream_, hub_.get(), cfg ? cfg->upstream.idle_ms : 0);
}

void UpstreamPull::sweep() {
  if (stopped_ || !ever_streamed_) return;  // the first round ends itself
  const int64_t now = mono_ms();
  if (has_viewers()) {
    idle_since_ms_ = now;
    return;
  }
  const core::AppConfig* cfg = edge_.origin().config().find_app(app_);
  const int64_t idle = cfg ? cfg->upstream.idle_ms : 0;
  if (now - idle_since_ms_ < idle) return;
  spdlog::info("edge {}: no viewer for {} ms; closing the upstream", key_, idle);
  stop("idle");
}

void UpstreamPull::stop(const std::string& why, const std::string& failure) {
  if (stopped_) return;
  stopped_ = true;
  const bool was_streaming = is_streaming_;
  close_upstream();
  if (origin_) edge_.health().ended(*origin_, was_streaming, {}, false, 0, 0, 0);
  origin_ = nullptr;
  retry_.stop();
  sweep_.stop();
  if (out_) out_->end(why);
  out_.reset();
  // No viewer waits for a pull that stopped on purpose: end the stream now
  // rather than after the reconnect grace (a viewer arriving meanwhile would
  // attach to a stream nobody resumes). Unless a local encoder publishes it
  // now (it resumed the hub during a failover, or took it over): the edge
  // then serves that one and pulls nothing.
  if (hub_ && failure.empty() && hub_->state() == origin::StreamHub::State::kGrace)
    hub_->end("edge pull stopped: " + why);
  hub_.reset();
  edge_.pull_ended(this, failure);
  if (!loop_.post([this] { delete this; })) delete this;  // loop stopping: nothing of ours runs on it any more
}

}  // namespace weir::edge
