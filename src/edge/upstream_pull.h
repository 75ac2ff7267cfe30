// UpstreamPull: one stream pulled from an origin into the local hub. Tries the
// app's origins (edge/upstream_url.h order, skipping those recently down),
// plays the stream with RtmpClient (rtmp://, rtmps://), HttpClient +
// FlvReader (http:// HTTP-FLV) or SrtCaller + TsDemuxer (srt://: MPEG-TS
// demuxed by the code SRT ingest uses), and publishes every packet through a
// HubPublisher (admitted as the play that asked for it): the codec configs,
// onMetaData, timestamps and Enhanced RTMP codecs arrive exactly as the
// origin sends them, converted by the same functions RTMP ingest uses.
//
// Discovery: for an app with upstream.discover, each round first asks the
// EdgePuller's StreamLocator (async, bounded by its deadline) which origin has
// the stream; that one is tried first, then the app's urls. A locator that is
// unavailable or knows no origin leaves the urls alone.
//
// Failover: when the origin fails (connect or response timeout, connection
// lost, no byte for stall_timeout_ms, the stream ended or is not there; SRT:
// rejected, TS that does not demux, no media within connect_timeout_ms) the
// publisher ends (the hub's reconnect grace starts: viewers stay attached)
// and the next origin is tried at once; after every origin failed in a round,
// the next round waits backoff_ms (doubling to backoff_max_ms). The new
// upstream publishes again within the grace: the hub resumes (codec config
// re-sent, timeline rebased so timestamps stay monotonic, HLS discontinuity).
// A pull whose stream never started gives up after one round; the viewers
// waiting get 404 naming each origin's error.
//
// Idle: a 500 ms sweep counts the stream's play clients (RTMP, SRT, FLV,
// WS-FLV, .ts) and its last HLS request; idle_ms after the last one the pull
// stops and ends the hub at once (no grace: no viewer waits for it).
//
// Thread: its loop only. Lifetime: self-owned; stop() ends it, tells the
// EdgePuller, and frees it from a posted task (never inside a callback of
// its own clients or timers).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/http_client.h"
#include "client/rtmp_client.h"
#include "core/timer.h"
#include "edge/origin_health.h"
#include "edge/stream_locator.h"
#include "edge/upstream_url.h"
#include "ingest/srt/srt_caller.h"
#include "origin/hub_publisher.h"
#include "protocol/flv_reader.h"
#include "protocol/ts_demuxer.h"

namespace weir::edge {

class EdgePuller;

class UpstreamPull final : client::RtmpClient::Handler, client::HttpClient::Handler, ingest::srt::SrtCaller::Handler {
 public:
  // `via`: the edge chain to send upstream (edge/via.h), this node last.
  UpstreamPull(EdgePuller& edge, core::Loop& loop, std::string app, std::string stream, std::string via);
  ~UpstreamPull() override;

  void start();
  // Ends the pull: `failure` non-empty when it gave up (waiting viewers get it).
  void stop(const std::string& why, const std::string& failure = {});
  core::Loop& loop() const { return loop_; }
  const std::string& key() const { return key_; }

 private:
  // client handlers
  void on_ready() override;
  void on_packet(const core::MediaPacket& pkt) override;
  void on_bytes(size_t n) override;
  void on_closed(const core::Status& why) override;
  void on_head(const protocol::HttpResponseHead& head) override;
  void on_body(core::ByteView bytes) override;
  void on_complete(const core::Status& st) override;
  void on_srt_connected() override;
  void on_srt_data(core::ByteView bytes) override;
  void on_srt_closed(const std::string& why) override;

  void new_round();
  void begin_round(const Located& found);
  void connect_next();
  void streaming();                 // the upstream started: publish
  void failed(std::string why, bool origin_down);
  void close_upstream();
  void sweep();
  bool has_viewers();

  EdgePuller& edge_;
  core::Loop& loop_;
  const std::string app_, stream_, key_, via_;
  std::unique_ptr<origin::HubPublisher> out_;  // per upstream (its peer is the origin); null between them
  std::shared_ptr<origin::StreamHub> hub_;  // the stream this pull published (kept across failovers)
  core::Timer retry_;
  core::Timer sweep_;

  // The round: origins in the order tried, and which one is connected now.
  std::vector<std::string> tmpls_;  // the app's upstream.urls when the round began
  std::vector<size_t> order_;
  size_t attempt_ = 0;
  uint32_t failed_rounds_ = 0;
  std::string errors_;              // this round's failures, for the 404
  OriginHealth::Entry* origin_ = nullptr;
  std::string origin_tmpl_, origin_url_;
  bool is_streaming_ = false;
  bool ever_streamed_ = false;
  bool lost_ = false;               // streamed from an origin that then failed: the next start is a failover
  int64_t idle_since_ms_ = 0;
  bool stopped_ = false;
  // Expires with the pull: a locator's answer arriving after it is dropped
  // (checked on the pull's loop, where it is freed).
  std::shared_ptr<char> life_ = std::make_shared<char>(0);

  std::unique_ptr<client::RtmpClient> rtmp_;
  std::unique_ptr<client::HttpClient> http_;
  std::unique_ptr<protocol::FlvReader> flv_;
  std::unique_ptr<ingest::srt::SrtCaller> srt_;
  std::unique_ptr<protocol::TsDemuxer> ts_;
  int64_t srt_connected_ms_ = 0;  // 0 until the SRT connection is up
  uint64_t upstream_gen_ = 0;     // bumped per closed upstream (a callback's upstream may be gone)
};

}  // namespace weir::edge
