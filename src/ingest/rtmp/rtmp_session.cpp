#include "ingest/rtmp/rtmp_session.h"

#include <atomic>

#include <spdlog/spdlog.h>

#include "origin/origin.h"
#include "origin/registry.h"
#include "origin/stream_hub.h"
#include "protocol/flv_tag.h"
#include "protocol/query_params.h"
#include "protocol/rtmp_aggregate.h"

namespace weir::ingest::rtmp {

using core::Status;
using protocol::AmfValue;
using protocol::Command;
using protocol::RtmpMessage;
namespace rtmp_type = protocol::rtmp_type;

namespace {
std::atomic<uint64_t> g_next_id{1};

constexpr uint32_t kWindowAckSize = 2500000;
constexpr uint32_t kCommandCsid = 3;
constexpr uint32_t kDataCsid = 5;
constexpr uint64_t kFinalFlushTimeoutMs = 3000;

// "name?query" -> name, query
std::pair<std::string, std::string> split_query(std::string_view s) {
  size_t q = s.find('?');
  if (q == std::string_view::npos) return {std::string(s), {}};
  return {std::string(s.substr(0, q)), std::string(s.substr(q + 1))};
}

std::string first_string_arg(const Command& c) {
  if (!c.args.empty() && c.args[0].is_string()) return c.args[0].string();
  return {};
}
}  // namespace

void RtmpSession::accept(core::Loop& loop, origin::Origin& origin, core::TcpConn* conn) {
  auto* s = new RtmpSession(loop, origin, conn);
  conn->set_handler(s);
  conn->set_idle_timeout(uint64_t(origin.config().rtmp.handshake_timeout_ms));
  conn->set_send_timeout(uint64_t(origin.config().rtmp.send_timeout_ms));
  loop.track(s);
  conn->start_reading();
}

RtmpSession::RtmpSession(core::Loop& loop, origin::Origin& origin, core::TcpConn* conn)
    : loop_(loop),
      origin_(origin),
      conn_(conn),
      id_(g_next_id.fetch_add(1, std::memory_order_relaxed)),
      peer_(conn->peer()),
      reader_(protocol::ChunkReaderLimits{uint32_t(origin.config().rtmp.max_message_size), 16, 256,
                                          origin.config().rtmp.max_reassembly_bytes, &origin.ingest_budget()}),
      publisher_(origin, loop, {"rtmp", peer_}, [this](const std::string& why) { close(why); }),
      play_(origin),
      final_timer_(loop) {}

RtmpSession::~RtmpSession() = default;

// I/O ------------------------------------------------------------------------

void RtmpSession::on_read(core::ByteView data) {
  if (closing_ || close_when_flushed_) return;
  if (!handshake_.done()) {
    core::ByteWriter out(3073);
    auto used = handshake_.feed(data, out);
    if (!used) {
      origin_.metrics().sessions_rejected_total++;
      handshake_failed(origin::Metrics::HandshakeFailure::kMalformed);
      return close("handshake: " + used.error());
    }
    if (out.size()) conn_->send(out.finish());
    data = data.subspan(*used);
    if (!handshake_.done() || data.empty()) return;
  }
  Status st = reader_.feed(data, [this](RtmpMessage&& m) { return on_message(std::move(m)); });
  if (closing_) return;
  if (!st) {
    origin_.metrics().sessions_rejected_total++;
    return close(st.message());
  }
  if (core::Slice ack = duties_.ack_due(reader_.bytes_received(), out_chunk_size_); !ack.empty()) conn_->send(ack);
  // A player's output is the StreamWriter's (capped by the viewer rules);
  // anyone else's is replies, which a client that never reads piles up.
  if (role_ != Role::kPlayer && conn_->pending_bytes() > kMaxQueuedReplies) {
    origin_.metrics().sessions_rejected_total++;
    return close(fmt::format("client does not read its replies: {} bytes queued (cap {})", conn_->pending_bytes(),
                             kMaxQueuedReplies));
  }
  if (role_ == Role::kPublisher) publisher_.flush();
}

void RtmpSession::on_read_end(int uv_status) {
  if (conn_ && conn_->is_tls() && !conn_->tls_error().empty()) {
    handshake_failed(origin::Metrics::HandshakeFailure::kTls);
    return close("TLS: " + conn_->tls_error());
  }
  if (!handshake_.done()) handshake_failed(origin::Metrics::HandshakeFailure::kClosed);
  close(uv_status == UV_EOF ? "peer closed the connection" : std::string("socket: ") + uv_strerror(uv_status));
}

void RtmpSession::on_drained() {
  if (close_when_flushed_) return close(close_reason_);
  if (writer_) writer_->on_writable();
}

void RtmpSession::on_timeout(const char* what) {
  if (!handshake_.done()) handshake_failed(origin::Metrics::HandshakeFailure::kTimeout);
  close(what);
}

void RtmpSession::handshake_failed(origin::Metrics::HandshakeFailure why) {
  origin_.metrics().handshake_failed(
      conn_ && conn_->is_tls() ? origin::Metrics::HandshakeProtocol::kRtmps : origin::Metrics::HandshakeProtocol::kRtmp,
      why);
}

void RtmpSession::on_closed() {
  conn_ = nullptr;
  if (!closing_) close("connection closed");
  delete this;
}

void RtmpSession::close(const std::string& why) {
  if (closing_) return;
  closing_ = true;
  if (role_ == Role::kPublisher)
    spdlog::info("rtmp #{} {}: publisher of {}/{} closed: {}", id_, peer_, app_, stream_, why);
  else if (role_ == Role::kPlayer)
    spdlog::debug("rtmp #{} {}: player of {}/{} closed: {}", id_, peer_, app_, stream_, why);
  else
    spdlog::info("rtmp #{} {}: closed: {}", id_, peer_, why);
  end_role(why.c_str());
  final_timer_.stop();
  loop_.untrack(this);
  if (conn_) conn_->close();
}

void RtmpSession::close_after_flush(const std::string& why) {
  if (!conn_ || conn_->pending_bytes() == 0) return close(why);
  close_when_flushed_ = true;
  close_reason_ = why;
  conn_->stop_reading();
  final_timer_.start(kFinalFlushTimeoutMs, [this] { close(close_reason_ + " (final reply not drained)"); });
}

// Messages -----------------------------------------------------------------------

Status RtmpSession::on_message(RtmpMessage&& m) {
  if (closing_ || close_when_flushed_) return Status::error("session closing");
  switch (m.type_id) {
    case rtmp_type::kSetChunkSize:
    case rtmp_type::kAbort:
    case rtmp_type::kAcknowledgement:
    case rtmp_type::kSetPeerBandwidth:
      return Status::ok();  // applied by the reader, or nothing to do
    case rtmp_type::kWindowAckSize:
    case rtmp_type::kUserControl: {
      auto reply = duties_.on_control(m, out_chunk_size_);
      if (!reply) return reply.status();
      if (!reply->empty()) conn_->send(*reply);
      return Status::ok();
    }
    case rtmp_type::kAudio:
    case rtmp_type::kVideo:
    case rtmp_type::kDataAmf0:
    case rtmp_type::kDataAmf3:
    case rtmp_type::kAggregate:
      return protocol::route_stream_message(
          std::move(m), [this](RtmpMessage&& x) { return on_media(std::move(x)); },
          [this](const RtmpMessage& x) { return on_data(x); });
    case rtmp_type::kCommandAmf0:
    case rtmp_type::kCommandAmf3:
      return on_command(m);
    default:
      spdlog::debug("rtmp #{} {}: ignoring message type {}", id_, peer_, m.type_id);
      return Status::ok();
  }
}

Status RtmpSession::on_media(RtmpMessage&& m) {
  if (role_ != Role::kPublisher) {
    // A player echoing media is odd but harmless; media sent before the
    // publish is admitted (encoders wait for Publish.Start) is dropped.
    if (role_ == Role::kPlayer || role_ == Role::kPlaying || role_ == Role::kPublishing) return Status::ok();
    return Status::errorf("{} message before publish", m.type_id == rtmp_type::kVideo ? "video" : "audio");
  }
  if (m.payload.empty()) return Status::ok();  // RTMP "silence" message
  uint8_t track = 0;
  auto pkt = protocol::make_media_packet(m.type_id, m.timestamp, std::move(m.payload), &track);
  if (!pkt) return pkt.status();
  if (track != 0) return Status::ok();  // E-RTMP multitrack: only the default track is carried
  publisher_.publish(std::move(*pkt));
  return Status::ok();
}

Status RtmpSession::on_data(const RtmpMessage& m) {
  if (role_ != Role::kPublisher) return Status::ok();
  auto pkt = protocol::make_data_packet(m);
  if (!pkt) return Status::errorf("data message: {}", pkt.error());
  if (*pkt) publisher_.publish(std::move(**pkt));
  return Status::ok();
}

Status RtmpSession::on_command(const RtmpMessage& m) {
  auto parsed = protocol::parse_command(m);
  if (!parsed) return Status::errorf("command: {}", parsed.error());
  const Command& c = *parsed;
  if (!connected_ && c.name != "connect") return Status::errorf("command '{}' before connect", c.name);
  if (c.name == "connect") return cmd_connect(c);
  if (c.name == "createStream") return cmd_create_stream(c);
  if (c.name == "publish") return cmd_publish(c, m.stream_id);
  if (c.name == "play") return cmd_play(c, m.stream_id);
  if (c.name == "pause") return cmd_pause(c, m.stream_id);
  if (c.name == "releaseStream" || c.name == "FCPublish" || c.name == "getStreamLength" || c.name == "_checkbw") {
    if (c.transaction_id > 0)
      send_result(c.transaction_id, AmfValue::null(),
                  c.name == "getStreamLength" ? AmfValue::number(0) : AmfValue::undefined());
    return Status::ok();
  }
  if (c.name == "FCUnpublish" || c.name == "deleteStream" || c.name == "closeStream") {
    end_role(c.name == "FCUnpublish" ? "unpublished" : "stream closed by client");
    return Status::ok();
  }
  if (c.name == "_result" || c.name == "_error" || c.name == "onStatus" || c.name == "receiveAudio" ||
      c.name == "receiveVideo" || c.name == "FCSubscribe" || c.name == "onBWDone")
    return Status::ok();
  spdlog::debug("rtmp #{} {}: unknown command '{}'", id_, peer_, c.name.substr(0, kMaxEchoedName));
  if (c.transaction_id > 0) {
    conn_->send(protocol::make_command(
        out_chunk_size_, kCommandCsid, 0, "_error", c.transaction_id,
        {AmfValue::null(),
         AmfValue::object({{"level", AmfValue::string("error")},
                           {"code", AmfValue::string("NetConnection.Call.Failed")},
                           {"description", AmfValue::string("Method not found: " + c.name.substr(0, kMaxEchoedName))}})}));
  }
  return Status::ok();
}

// Commands -------------------------------------------------------------------------

Status RtmpSession::cmd_connect(const Command& c) {
  if (connected_) return Status::error("second connect on one connection");
  const AmfValue& obj = c.command_object;
  auto [app, query] = split_query(obj.get_string("app"));
  while (!app.empty() && app.back() == '/') app.pop_back();
  app_ = app;
  app_query_ = query;
  tc_url_ = std::string(obj.get_string("tcUrl"));
  object_encoding_ = obj.get_number("objectEncoding", 0);

  std::string refusal;
  if (auto st = origin::validate_stream_path(app_, "x"); !st) refusal = st.message();
  else if (!origin_.config().find_app(app_)) refusal = "app '" + app_ + "' is not configured";
  if (!refusal.empty()) {
    origin_.metrics().publish_refused_total++;
    conn_->send(protocol::make_command(
        out_chunk_size_, kCommandCsid, 0, "_error", c.transaction_id,
        {AmfValue::null(), AmfValue::object({{"level", AmfValue::string("error")},
                                             {"code", AmfValue::string("NetConnection.Connect.Rejected")},
                                             {"description", AmfValue::string(refusal)}})}));
    close_after_flush("connect refused: " + refusal);
    return Status::ok();
  }

  const uint32_t cs = uint32_t(origin_.startup_config().rtmp.chunk_size);
  conn_->append(protocol::make_window_ack_size(out_chunk_size_, kWindowAckSize));
  conn_->append(protocol::make_set_peer_bandwidth(out_chunk_size_, kWindowAckSize, protocol::BandwidthLimit::kDynamic));
  conn_->append(protocol::make_set_chunk_size(out_chunk_size_, cs));
  out_chunk_size_ = cs;

  AmfValue props = AmfValue::object({{"fmsVer", AmfValue::string("FMS/3,5,3,888")},
                                     {"capabilities", AmfValue::number(127)},
                                     {"mode", AmfValue::number(1)}});
  // Enhanced RTMP: answer the client's FourCC list with what Weir carries.
  if (const AmfValue* list = obj.get("fourCcList"); list && list->is_strict_array()) {
    AmfValue ours = AmfValue::strict_array();
    for (const AmfValue& f : list->items()) {
      if (!f.is_string()) continue;
      const std::string& s = f.string();
      if (s == "hvc1" || s == "av01" || s == "vp09" || s == "avc1" || s == "*")
        ours.push(AmfValue::string(s == "*" ? "hvc1" : s));
    }
    props.set("fourCcList", std::move(ours));
  }
  send_result(c.transaction_id, std::move(props),
              AmfValue::object({{"level", AmfValue::string("status")},
                                {"code", AmfValue::string("NetConnection.Connect.Success")},
                                {"description", AmfValue::string("Connection succeeded.")},
                                {"objectEncoding", AmfValue::number(object_encoding_)}}));
  connected_ = true;
  conn_->set_idle_timeout(uint64_t(origin_.config().rtmp.idle_timeout_ms));
  spdlog::debug("rtmp #{} {}: connected to app '{}' ({})", id_, peer_, app_, tc_url_);
  return Status::ok();
}

Status RtmpSession::cmd_create_stream(const Command& c) {
  // Every stream of a connection is message stream 1: the shared RTMP framing
  // of each packet is written for stream id 1 once, for every player.
  send_result(c.transaction_id, AmfValue::null(), AmfValue::number(origin::kRtmpPlayStreamId));
  return Status::ok();
}

core::Result<origin::AdmissionRequest> RtmpSession::admission_request(origin::Direction d) const {
  origin::AdmissionRequest req;
  req.direction = d;
  req.protocol = origin::AccessProtocol::kRtmp;
  req.app = app_;
  req.stream = stream_;
  req.client = peer_;
  if (Status st = protocol::append_query_params(app_query_, req.params); !st) return Status::errorf("app query: {}", st.message());
  if (Status st = protocol::append_query_params(stream_query_, req.params); !st)
    return Status::errorf("stream query: {}", st.message());
  return req;
}

Status RtmpSession::cmd_publish(const Command& c, uint32_t stream_id) {
  if (role_ != Role::kNone) return Status::error("publish on a connection that already publishes or plays");
  auto [name, query] = split_query(first_string_arg(c));
  stream_ = name;
  stream_query_ = query;
  auto req = admission_request(origin::Direction::kPublish);
  if (!req) {
    send_status(stream_id, "error", "NetStream.Publish.BadName", req.error());
    close_after_flush("publish refused: " + req.error());
    return Status::ok();
  }
  role_ = Role::kPublishing;
  publisher_.start(std::move(*req), [this, stream_id](const origin::HubPublisher::StartResult& r) {
    if (!r.hub) {
      role_ = Role::kNone;
      send_status(stream_id, "error", "NetStream.Publish.BadName", r.reason);
      close_after_flush("publish refused: " + r.reason);
      return;
    }
    start_publishing(stream_id);
  });
  return Status::ok();
}

void RtmpSession::start_publishing(uint32_t stream_id) {
  role_ = Role::kPublisher;
  conn_->append(protocol::make_user_control(out_chunk_size_, protocol::UserControlEvent::kStreamBegin, stream_id));
  send_status(stream_id, "status", "NetStream.Publish.Start", stream_ + " is now published.");
  spdlog::info("rtmp #{} {}: publishing {}/{}", id_, peer_, app_, stream_);
  register_client(origin::ClientRole::kPublish);
}

void RtmpSession::register_client(origin::ClientRole role) {
  client_ = origin_.clients().add(loop_, {origin::AccessProtocol::kRtmp, role, app_, stream_, peer_}, &conn_->io(),
                                  [this](const std::string& why) { close(why); });
}

Status RtmpSession::cmd_play(const Command& c, uint32_t stream_id) {
  if (role_ == Role::kPublisher || role_ == Role::kPublishing) return Status::error("play on a connection that publishes");
  if (role_ != Role::kNone) end_role("play called again");
  auto [name, query] = split_query(first_string_arg(c));
  stream_ = name;
  stream_query_ = query;
  if (stream_id != origin::kRtmpPlayStreamId)
    spdlog::debug("rtmp #{} {}: play on message stream {}; media goes on stream 1", id_, peer_, stream_id);
  auto req = admission_request(origin::Direction::kPlay);
  if (!req) {
    send_status(stream_id, "error", "NetStream.Play.StreamNotFound", req.error());
    close_after_flush("play refused: " + req.error());
    return Status::ok();
  }
  role_ = Role::kPlaying;
  play_.start(std::move(*req), [this, stream_id](origin::PlayRequest::Outcome o) {
    if (!o.hub) {
      role_ = Role::kNone;
      send_status(stream_id, "error", "NetStream.Play.StreamNotFound", o.reason);
      close_after_flush("play refused: " + o.reason);
      return;
    }
    start_playing(o.hub);
  });
  return Status::ok();
}

void RtmpSession::start_playing(const std::shared_ptr<origin::StreamHub>& hub) {
  const uint32_t sid = origin::kRtmpPlayStreamId;
  const core::AppConfig& app = hub->app_config();
  role_ = Role::kPlayer;
  hub_ = hub;
  // Players may stay silent for minutes (acks come per 2.5 MB); a stuck
  // socket is caught by the send timeout instead.
  conn_->set_idle_timeout(0);
  conn_->set_send_timeout(uint64_t(app.viewer_send_timeout_ms));
  conn_->append(protocol::make_user_control(out_chunk_size_, protocol::UserControlEvent::kStreamBegin, sid));
  send_status(sid, "status", "NetStream.Play.Reset", "Playing and resetting " + stream_ + ".");
  send_status(sid, "status", "NetStream.Play.Start", "Started playing " + stream_ + ".");
  conn_->append(protocol::make_data(out_chunk_size_, kDataCsid, sid, 0,
                                    {AmfValue::string("|RtmpSampleAccess"), AmfValue::boolean(true),
                                     AmfValue::boolean(true)}));
  writer_ = std::make_unique<origin::StreamWriter>(origin_, conn_, origin::Framing::kRtmp, this);
  if (!writer_->start(hub, app.gop_cache ? origin::StartAt::kLatestKeyframe : origin::StartAt::kLiveEdge)) {
    writer_.reset();
    role_ = Role::kNone;
    send_status(sid, "error", "NetStream.Play.StreamNotFound", app_ + "/" + stream_ + " has ended");
    close_after_flush("play: stream ended");
    return;
  }
  register_client(origin::ClientRole::kPlay);
  conn_->flush();
}

Status RtmpSession::cmd_pause(const Command& c, uint32_t stream_id) {
  if (role_ != Role::kPlayer || !hub_) return Status::ok();
  bool pause = c.args.size() > 0 && c.args[0].is_boolean() && c.args[0].boolean();
  if (pause) {
    writer_.reset();
    send_status(stream_id, "status", "NetStream.Pause.Notify", "Paused live stream.");
  } else if (!writer_) {
    send_status(stream_id, "status", "NetStream.Unpause.Notify", "Unpaused live stream.");
    writer_ = std::make_unique<origin::StreamWriter>(origin_, conn_, origin::Framing::kRtmp, this);
    if (!writer_->start(hub_, origin::StartAt::kLatestKeyframe)) {
      writer_.reset();
      close_after_flush("stream ended while paused");
    }
  }
  return Status::ok();
}

void RtmpSession::end_role(const char* why) {
  if (role_ == Role::kPublisher && publisher_.active()) {
    publisher_.end(why);
    spdlog::info("rtmp #{} {}: stopped publishing {}/{}: {}", id_, peer_, app_, stream_, why);
  }
  publisher_.end(why);  // also cancels an admission in flight
  client_.end(why);
  play_.cancel();
  writer_.reset();
  hub_.reset();
  role_ = Role::kNone;
}

void RtmpSession::on_writer_done(const std::string& why) {
  // Called from inside the writer: keep it alive until the session is freed.
  retired_writer_ = std::move(writer_);
  if (why.rfind("stream ended", 0) == 0 && conn_) {
    send_status(origin::kRtmpPlayStreamId, "status", "NetStream.Play.UnpublishNotify", why);
    conn_->append(protocol::make_user_control(out_chunk_size_, protocol::UserControlEvent::kStreamEof,
                                              origin::kRtmpPlayStreamId));
    close_after_flush(why);
  } else {
    spdlog::info("rtmp #{} {}: {}", id_, peer_, why);
    close(why);
  }
}

// Replies ----------------------------------------------------------------------------

void RtmpSession::send_result(double txid, AmfValue obj, AmfValue info) {
  conn_->send(protocol::make_command(out_chunk_size_, kCommandCsid, 0, "_result", txid, {std::move(obj), std::move(info)}));
}

void RtmpSession::send_status(uint32_t stream_id, const char* level, const char* code, const std::string& description) {
  conn_->send(protocol::make_command(out_chunk_size_, kCommandCsid, stream_id, "onStatus", 0,
                                     {AmfValue::null(), AmfValue::object({{"level", AmfValue::string(level)},
                                                                          {"code", AmfValue::string(code)},
                                                                          {"description", AmfValue::string(description)}})}));
}

}  // namespace weir::ingest::rtmp
