#include "client/rtmp_client.h"

#include <utility>
#include <vector>

#include "protocol/url.h"
#include "core/connector.h"
#include "core/tcp_conn.h"
#include "core/timer.h"
#include "protocol/amf0.h"
#include "protocol/amf_value.h"
#include "protocol/flv_tag.h"
#include "protocol/rtmp_aggregate.h"
#include "protocol/rtmp_chunk_reader.h"
#include "protocol/rtmp_chunk_writer.h"
#include "protocol/rtmp_handshake.h"
#include "protocol/rtmp_messages.h"

namespace weir::client {

using core::Status;
using protocol::parse_url;
using protocol::rtmp_target;
using protocol::RtmpTarget;
using protocol::Url;
using protocol::AmfValue;
using protocol::RtmpMessage;
namespace rtmp_type = protocol::rtmp_type;

namespace {
constexpr uint32_t kInitialChunkSize = 128;
constexpr uint32_t kCommandCsid = 3;
constexpr uint32_t kAudioCsid = 4;
constexpr uint32_t kDataCsid = 5;
constexpr uint32_t kVideoCsid = 6;
constexpr uint32_t kStreamCsid = 8;  // play / publish, as FFmpeg sends them
constexpr double kTxConnect = 1, kTxReleaseStream = 2, kTxFcPublish = 3, kTxCreateStream = 4;
constexpr uint32_t kPlayBufferMs = 1000;

// onStatus codes that end a session whatever their level says.
bool is_refusal(const std::string& code) {
  return code == "NetConnection.Connect.Rejected" || code == "NetConnection.Connect.Failed" ||
         code == "NetStream.Publish.BadName" || code == "NetStream.Publish.Denied" ||
         code == "NetStream.Play.StreamNotFound" || code == "NetStream.Play.Failed" ||
         code == "NetStream.Failed";
}

// An AMF0 body that starts with the string `name`.
bool starts_with_name(core::ByteView body, std::string_view name) {
  return body.size() >= 3 + name.size() && body[0] == 0x02 && size_t(body[1] << 8 | body[2]) == name.size() &&
         core::as_chars(body.subspan(3, name.size())) == name;
}
}  // namespace

class RtmpClient::Session final : public core::TcpConn::Handler {
 public:
  using User = RtmpClient::Handler;

  Session(core::Loop& loop, User* user, const RtmpClientOptions& o, Url url, RtmpTarget target)
      : loop_(loop),
        user_(user),
        opts_(o),
        url_(std::move(url)),
        target_(std::move(target)),
        connector_(loop),
        response_timer_(loop),
        reader_(protocol::ChunkReaderLimits{o.max_message_size, 16, 256}) {
    if (opts_.flash_ver.empty())
      opts_.flash_ver = o.mode == RtmpMode::kPlay ? "LNX 9,0,124,2" : "FMLE/3.0 (compatible; weir)";
  }

  void start() {
    core::ConnectOptions co;
    co.timeout_ms = opts_.connect_timeout_ms;
    if (url_.secure()) co.tls = opts_.tls;
    connector_.connect(url_.host, url_.port, co, [this](core::Result<core::TcpConn*> r) { on_connected(std::move(r)); });
  }

  // The owner is gone: close, call nothing, free once nothing refers to us.
  void detach() {
    user_ = nullptr;
    detached_ = true;
    ended_ = true;
    response_timer_.stop();
    connector_.cancel();
    if (conn_) conn_->close();  // on_closed() frees
    else if (depth_ == 0) delete this;
  }

  core::Status send(const core::MediaPacket& pkt);
  bool ready() const { return state_ == State::kReady; }
  size_t queued() const { return conn_ ? conn_->pending_bytes() : 0; }

  Stats stats_;

 private:
  enum class State { kConnecting, kHandshake, kConnect, kCreateStream, kStarting, kReady, kEnded };

  ~Session() override = default;

  // Calls the user; false if the session must stop (the user is gone, or
  // this was freed: then touch nothing).
  template <class F>
  bool call_user(F&& f) {
    if (!user_) return false;
    ++depth_;
    f(*user_);
    --depth_;
    if (user_) return true;
    if (depth_ == 0 && !conn_) delete this;
    return false;
  }

  const char* phase() const {
    switch (state_) {
      case State::kConnecting: return "connecting";
      case State::kHandshake: return "the handshake";
      case State::kConnect: return "connect";
      case State::kCreateStream: return "createStream";
      case State::kStarting: return opts_.mode == RtmpMode::kPlay ? "play" : "publish";
      default: return "the session";
    }
  }
  void arm_response() {
    if (!opts_.response_timeout_ms) return;
    response_timer_.start(opts_.response_timeout_ms, [this] {
      finish(Status::errorf("rtmp: no answer to {} within {} ms", phase(), opts_.response_timeout_ms));
    });
  }
  void queue(const core::Slice& s) {
    stats_.bytes_sent += s.size();
    conn_->append(s);
  }
  void command(uint32_t csid, uint32_t stream_id, std::string_view name, double tx, const std::vector<AmfValue>& args) {
    queue(protocol::make_command(out_chunk_size_, csid, stream_id, name, tx, args));
  }

  void on_connected(core::Result<core::TcpConn*> r);
  void send_connect();
  Status on_message(RtmpMessage&& m);
  Status on_media(RtmpMessage&& m);
  Status on_data(const RtmpMessage& m);
  Status on_command(const RtmpMessage& m);
  Status on_status(const AmfValue& info);
  Status become_ready();
  void finish(Status why);

  // TcpConn::Handler
  void on_read(core::ByteView data) override;
  void on_read_end(int uv_status) override;
  void on_drained() override {
    if (opts_.mode == RtmpMode::kPublish && state_ == State::kReady) call_user([](User& h) { h.on_drained(); });
  }
  void on_timeout(const char* what) override {
    finish(opts_.mode == RtmpMode::kPlay
               ? Status::errorf("rtmp: stalled: nothing from the server for {} ms", opts_.stall_timeout_ms)
               : Status::errorf("rtmp: stalled: the server took nothing for {} ms", opts_.stall_timeout_ms));
  }
  void on_closed() override {
    if (detached_) {
      if (depth_ == 0) delete this;
      return;
    }
    finish(Status::error("rtmp: connection closed"));
  }

  core::Loop& loop_;
  User* user_;
  RtmpClientOptions opts_;
  Url url_;
  RtmpTarget target_;
  core::Connector connector_;
  core::Timer response_timer_;
  protocol::HandshakeClient handshake_;
  protocol::ChunkReader reader_;
  State state_ = State::kConnecting;
  uint32_t out_chunk_size_ = kInitialChunkSize;
  protocol::RtmpPeerDuties duties_;  // acknowledgements and ping responses
  uint32_t stream_id_ = 0;
  int depth_ = 0;
  bool detached_ = false;
  bool ended_ = false;
};

// Session flow ---------------------------------------------------------------------

void RtmpClient::Session::on_connected(core::Result<core::TcpConn*> r) {
  if (!r) return finish(Status::errorf("rtmp: {}", r.error()));
  core::TcpConn* c = *r;
  c->set_handler(this);
  c->start_reading();
  state_ = State::kHandshake;
  arm_response();
  core::ByteWriter out(1 + protocol::kHandshakeSize);
  handshake_.start(out, /*digest=*/true);
  queue(out.finish());
  conn_->flush();
}

void RtmpClient::Session::send_connect() {
  if (opts_.mode == RtmpMode::kPublish && opts_.chunk_size != kInitialChunkSize) {
    // Before anything else, as OBS and FFmpeg do: the server reads every
    // later message with the new size.
    queue(protocol::make_set_chunk_size(out_chunk_size_, opts_.chunk_size));
    out_chunk_size_ = opts_.chunk_size;
  }
  AmfValue obj = AmfValue::object({{"app", AmfValue::string(target_.app)}});
  if (opts_.mode == RtmpMode::kPublish) obj.set("type", AmfValue::string("nonprivate"));
  obj.set("flashVer", AmfValue::string(opts_.flash_ver));
  obj.set("tcUrl", AmfValue::string(target_.tc_url));
  obj.set("fpad", AmfValue::boolean(false));
  obj.set("capabilities", AmfValue::number(15));
  obj.set("audioCodecs", AmfValue::number(4071));
  obj.set("videoCodecs", AmfValue::number(252));
  obj.set("videoFunction", AmfValue::number(1));
  obj.set("objectEncoding", AmfValue::number(0));
  // Enhanced RTMP v1: the codecs we take beyond the legacy set.
  obj.set("fourCcList", AmfValue::strict_array({AmfValue::string("av01"), AmfValue::string("vp09"),
                                                AmfValue::string("hvc1"), AmfValue::string("avc1")}));
  command(kCommandCsid, 0, "connect", kTxConnect, {obj});
  state_ = State::kConnect;
  arm_response();
}

void RtmpClient::Session::on_read(core::ByteView data) {
  if (ended_) return;
  stats_.bytes_received += data.size();
  if (!call_user([n = data.size()](User& h) { h.on_bytes(n); })) return;
  if (ended_) return;
  if (state_ == State::kHandshake) {
    core::ByteWriter out(protocol::kHandshakeSize + 512);
    auto used = handshake_.feed(data, out);
    if (!used) return finish(Status::errorf("rtmp handshake: {}", used.error()));
    if (out.size()) queue(out.finish());
    data = data.subspan(*used);
    if (handshake_.done()) send_connect();
    conn_->flush();
    if (!handshake_.done() || data.empty()) return;
  }
  Status st = reader_.feed(data, [this](RtmpMessage&& m) { return on_message(std::move(m)); });
  if (ended_) return;
  if (!st) return finish(Status::errorf("rtmp: {}", st.message()));
  if (core::Slice ack = duties_.ack_due(reader_.bytes_received(), out_chunk_size_); !ack.empty()) queue(ack);
  conn_->flush();
}

Status RtmpClient::Session::on_message(RtmpMessage&& m) {
  if (ended_) return Status::error("session ended");
  if (protocol::is_stream_message(m.type_id)) {
    return protocol::route_stream_message(
        std::move(m), [this](RtmpMessage&& x) { return on_media(std::move(x)); },
        [this](const RtmpMessage& x) { return on_data(x); });
  }
  switch (m.type_id) {
    case rtmp_type::kCommandAmf0:
    case rtmp_type::kCommandAmf3:
      return on_command(m);
    case rtmp_type::kWindowAckSize:
    case rtmp_type::kUserControl: {
      auto reply = duties_.on_control(m, out_chunk_size_);
      if (!reply) return reply.status();
      if (!reply->empty()) queue(*reply);
      if (m.type_id != rtmp_type::kUserControl || opts_.mode != RtmpMode::kPlay || state_ != State::kReady)
        return Status::ok();
      auto uc = protocol::parse_user_control(m);
      if (uc && uc->event == protocol::UserControlEvent::kStreamEof && uc->value == stream_id_) {
        finish(Status::error("stream ended (StreamEOF)"));
        return Status::error("session ended");
      }
      return Status::ok();
    }
    default:
      return Status::ok();  // Set Chunk Size (applied by the reader), Abort, Ack, bandwidth
  }
}

Status RtmpClient::Session::on_media(RtmpMessage&& m) {
  if (opts_.mode != RtmpMode::kPlay || m.payload.empty()) return Status::ok();  // empty: RTMP "silence"
  uint8_t track = 0;
  auto pkt = protocol::make_media_packet(m.type_id, m.timestamp, std::move(m.payload), &track);
  if (!pkt) return pkt.status();
  if (track != 0) return Status::ok();  // E-RTMP multitrack: the default track only, as ingest
  ++stats_.packets;
  if (!call_user([&pkt](User& h) { h.on_packet(*pkt); })) return Status::error("session ended");
  return Status::ok();
}

Status RtmpClient::Session::on_data(const RtmpMessage& m) {
  if (opts_.mode != RtmpMode::kPlay) return Status::ok();
  auto pkt = protocol::make_data_packet(m);
  if (!pkt) return Status::errorf("data message: {}", pkt.error());
  if (!*pkt || starts_with_name((*pkt)->body.view(), "|RtmpSampleAccess")) return Status::ok();
  ++stats_.packets;
  if (!call_user([&pkt](User& h) { h.on_packet(**pkt); })) return Status::error("session ended");
  return Status::ok();
}

Status RtmpClient::Session::on_command(const RtmpMessage& m) {
  auto c = protocol::parse_command(m);
  if (!c) return Status::errorf("command: {}", c.error());
  const double tx = c->transaction_id;
  if (c->name == "_result") {
    if (tx == kTxConnect && state_ == State::kConnect) {
      const AmfValue name = AmfValue::string(target_.stream);
      if (opts_.mode == RtmpMode::kPublish) {
        command(kCommandCsid, 0, "releaseStream", kTxReleaseStream, {AmfValue::null(), name});
        command(kCommandCsid, 0, "FCPublish", kTxFcPublish, {AmfValue::null(), name});
      }
      command(kCommandCsid, 0, "createStream", kTxCreateStream, {AmfValue::null()});
      state_ = State::kCreateStream;
      arm_response();
    } else if (tx == kTxCreateStream && state_ == State::kCreateStream) {
      stream_id_ = !c->args.empty() && c->args[0].is_number() ? uint32_t(c->args[0].number()) : 1;
      const AmfValue name = AmfValue::string(target_.stream);
      if (opts_.mode == RtmpMode::kPlay) {
        command(kStreamCsid, stream_id_, "play", 0, {AmfValue::null(), name, AmfValue::number(-2000)});
        queue(protocol::make_set_buffer_length(out_chunk_size_, stream_id_, kPlayBufferMs));
      } else {
        command(kStreamCsid, stream_id_, "publish", 0, {AmfValue::null(), name, AmfValue::string("live")});
      }
      state_ = State::kStarting;
      arm_response();
    }
    return Status::ok();
  }
  if (c->name == "_error") {
    // Servers that do not know releaseStream / FCPublish answer _error: fine.
    if (tx == kTxReleaseStream || tx == kTxFcPublish) return Status::ok();
    const AmfValue info = c->args.empty() ? AmfValue() : c->args[0];
    std::string code(info.get_string("code", "_error"));
    stats_.status_code = code;
    const char* what = tx == kTxConnect ? "connect" : tx == kTxCreateStream ? "createStream" : "a command";
    finish(Status::errorf("{}: {} (answer to {})", code, info.get_string("description"), what));
    return Status::error("session ended");
  }
  if (c->name == "onStatus") return on_status(c->args.empty() ? AmfValue() : c->args[0]);
  return Status::ok();  // onBWDone, onFCPublish, _checkbw, ...
}

Status RtmpClient::Session::on_status(const AmfValue& info) {
  std::string code(info.get_string("code"));
  stats_.status_code = code;
  const bool play = opts_.mode == RtmpMode::kPlay;
  if (state_ == State::kStarting && code == (play ? "NetStream.Play.Start" : "NetStream.Publish.Start"))
    return become_ready();
  if (play && code == "NetStream.Play.UnpublishNotify") {
    finish(Status::errorf("stream ended ({})", code));
    return Status::error("session ended");
  }
  if (info.get_string("level") == "error" || is_refusal(code)) {
    finish(Status::errorf("{}: {}", code.empty() ? "onStatus error" : code, info.get_string("description")));
    return Status::error("session ended");
  }
  return Status::ok();  // Play.Reset, Publish.Idle, ...
}

Status RtmpClient::Session::become_ready() {
  state_ = State::kReady;
  response_timer_.stop();
  if (opts_.stall_timeout_ms) {
    if (opts_.mode == RtmpMode::kPlay) conn_->set_idle_timeout(opts_.stall_timeout_ms);
    else conn_->set_send_timeout(opts_.stall_timeout_ms);
  }
  if (!call_user([](User& h) { h.on_ready(); })) return Status::error("session ended");
  return Status::ok();
}

void RtmpClient::Session::on_read_end(int uv_status) {
  std::string why = conn_ && !conn_->tls_error().empty() ? conn_->tls_error()
                    : uv_status == UV_EOF ? fmt::format("the server closed the connection during {}", phase())
                                          : fmt::format("socket: {}", uv_strerror(uv_status));
  if (uv_status == UV_EOF && state_ == State::kReady) why = "the server closed the connection";
  finish(Status::errorf("rtmp: {}", why));
}

void RtmpClient::Session::finish(Status why) {
  if (ended_) return;
  ended_ = true;
  state_ = State::kEnded;
  response_timer_.stop();
  connector_.cancel();
  if (conn_) conn_->close();
  call_user([&why](User& h) { h.on_closed(why); });  // may free this: nothing after
}

// Publish ----------------------------------------------------------------------------

Status RtmpClient::Session::send(const core::MediaPacket& pkt) {
  if (opts_.mode != RtmpMode::kPublish) return Status::error("rtmp: send() on a playing client");
  if (state_ != State::kReady) return Status::errorf("rtmp: not publishing ({})", ended_ ? "ended" : phase());
  const size_t waiting = conn_->pending_bytes();
  if (waiting >= opts_.max_queued_bytes) {
    ++stats_.refused;
    return Status::errorf("rtmp: send queue full ({} bytes waiting, cap {}): packet not sent", waiting,
                          opts_.max_queued_bytes);
  }
  core::Slice payload = pkt.body;
  uint32_t csid = pkt.is_video() ? kVideoCsid : pkt.is_audio() ? kAudioCsid : kDataCsid;
  if (pkt.is_data() && pkt.is_config()) {
    // Metadata goes out as @setDataFrame (what encoders send; the server
    // keeps it for every viewer).
    core::ByteWriter w(payload.size() + 16);
    protocol::amf0_encode(w, AmfValue::string("@setDataFrame"));
    w.bytes(payload.view());
    payload = w.finish();
  }
  const size_t n = payload.size();
  if (n >= 0xFFFFFF) return Status::errorf("rtmp: a packet of {} bytes is over RTMP's message size", n);
  // fmt 0 header, then an fmt 3 header before each further chunk, around
  // slices of the body: the body is never copied.
  const uint32_t cs = out_chunk_size_;
  const size_t chunks = n == 0 ? 1 : (n + cs - 1) / cs;
  const uint32_t ts32 = uint32_t(pkt.dts);
  uint8_t h[protocol::kRtmpMaxFmt0HeaderSize];
  core::ByteWriter hw(protocol::kRtmpMaxFmt0HeaderSize + (chunks - 1) * protocol::kRtmpMaxFmt3HeaderSize);
  const size_t h0 = protocol::write_fmt0_header(h, csid, ts32, uint32_t(n), pkt.flv_tag_type(), stream_id_);
  hw.bytes(core::ByteView(h, h0));
  size_t h3 = 0;
  for (size_t i = 1; i < chunks; ++i) {
    h3 = protocol::write_fmt3_header(h, csid, ts32);
    hw.bytes(core::ByteView(h, h3));
  }
  core::Slice heads = hw.finish();
  conn_->append(heads.sub(0, h0));
  conn_->append(payload.sub(0, cs));
  for (size_t i = 1; i < chunks; ++i) {
    conn_->append(heads.sub(h0 + (i - 1) * h3, h3));
    conn_->append(payload.sub(i * cs, cs));
  }
  stats_.bytes_sent += heads.size() + n;
  ++stats_.packets;
  conn_->flush();
  return Status::ok();
}

// RtmpClient ---------------------------------------------------------------------------

RtmpClient::RtmpClient(core::Loop& loop, Handler& handler, RtmpClientOptions options)
    : loop_(loop), handler_(handler), options_(std::move(options)) {}

RtmpClient::~RtmpClient() { close(); }

Status RtmpClient::start(std::string_view url) {
  if (s_) return Status::error("rtmp: already started");
  auto u = parse_url(url);
  if (!u) return u.status();
  auto t = rtmp_target(*u);
  if (!t) return t.status();
  if (u->secure() && !options_.tls) return Status::error("rtmp: rtmps:// needs a TLS context (RtmpClientOptions::tls)");
  s_ = new Session(loop_, &handler_, options_, std::move(*u), std::move(*t));
  s_->start();
  return Status::ok();
}

Status RtmpClient::send(const core::MediaPacket& pkt) {
  if (!s_) return Status::error("rtmp: not started");
  return s_->send(pkt);
}

void RtmpClient::close() {
  if (!s_) return;
  idle_stats_ = s_->stats_;
  Session* s = std::exchange(s_, nullptr);
  s->detach();
}

bool RtmpClient::ready() const { return s_ && s_->ready(); }
size_t RtmpClient::queued_bytes() const { return s_ ? s_->queued() : 0; }
const RtmpClient::Stats& RtmpClient::stats() const { return s_ ? s_->stats_ : idle_stats_; }

}  // namespace weir::client
