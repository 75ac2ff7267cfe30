#include "loadgen/rtmp_player.h"

#include "loadgen/runner.h"
#include "protocol/amf_value.h"
#include "protocol/rtmp_aggregate.h"
#include "protocol/rtmp_messages.h"

namespace weir::loadgen {

using core::Status;
using protocol::AmfValue;
namespace rtmp_type = protocol::rtmp_type;

namespace {
constexpr uint32_t kOutChunkSize = 128;  // we never send Set Chunk Size
constexpr uint32_t kCommandCsid = 3;
constexpr uint32_t kPlayCsid = 8;
constexpr double kTxConnect = 1;
constexpr double kTxCreateStream = 2;
}  // namespace

RtmpPlayer::RtmpPlayer(Runner& runner, PlayerStats& stats) : Player(runner, stats) {
  const Url& u = runner.options().url;
  auto p = split_rtmp_path(u);  // checked by parse_options
  if (p) path_ = *p;
  tc_url_ = "rtmp://" + u.authority() + "/" + path_.app;
}

void RtmpPlayer::on_connected() {
  core::ByteWriter out(1 + protocol::kHandshakeSize);
  handshake_.start(out, /*digest=*/true);
  conn_->send(out.finish());
}

void RtmpPlayer::on_data(core::ByteView data, int64_t now_us) {
  if (!handshake_.done()) {
    core::ByteWriter out(protocol::kHandshakeSize + 512);
    auto used = handshake_.feed(data, out);
    if (!used) return fail("rtmp handshake: " + used.error());
    data = data.subspan(*used);
    if (handshake_.done()) {
      reader_ = std::make_unique<protocol::ChunkReader>();
      AmfValue obj = AmfValue::object({
          {"app", AmfValue::string(path_.app)},
          {"flashVer", AmfValue::string("LNX 9,0,124,2")},
          {"tcUrl", AmfValue::string(tc_url_)},
          {"fpad", AmfValue::boolean(false)},
          {"capabilities", AmfValue::number(15)},
          {"audioCodecs", AmfValue::number(4071)},
          {"videoCodecs", AmfValue::number(252)},
          {"videoFunction", AmfValue::number(1)},
      });
      core::Slice cmd = protocol::make_command(kOutChunkSize, kCommandCsid, 0, "connect", kTxConnect, {obj});
      out.bytes(cmd.view());
    }
    if (out.size()) conn_->send(out.finish());
    if (!handshake_.done() || data.empty()) return;
  }
  Status st = reader_->feed(data, [this, now_us](protocol::RtmpMessage&& m) { return on_message(std::move(m), now_us); });
  if (ending_) return;
  if (!st) return fail("rtmp: " + st.message());
  if (ack_window_ && reader_->bytes_received() - last_ack_ >= ack_window_) {
    last_ack_ = reader_->bytes_received();
    conn_->send(protocol::make_acknowledgement(kOutChunkSize, uint32_t(last_ack_)));
  }
}

Status RtmpPlayer::on_message(protocol::RtmpMessage&& m, int64_t now_us) {
  if (ending_) return Status::error("closing");
  switch (m.type_id) {
    case rtmp_type::kAudio:
    case rtmp_type::kVideo:
      on_flv_body(m.type_id, m.timestamp, m.payload.view(), now_us);
      return Status::ok();
    case rtmp_type::kAggregate:
      return protocol::for_each_aggregate_part(m, [this, now_us](protocol::RtmpMessage&& part) {
        if (part.type_id == rtmp_type::kAudio || part.type_id == rtmp_type::kVideo)
          on_flv_body(part.type_id, part.timestamp, part.payload.view(), now_us);
        return Status::ok();
      });
    case rtmp_type::kWindowAckSize: {
      auto w = protocol::parse_u32_control(m);
      if (w) ack_window_ = *w;
      return Status::ok();
    }
    case rtmp_type::kUserControl: {
      auto uc = protocol::parse_user_control(m);
      if (uc && uc->event == protocol::UserControlEvent::kPingRequest)
        conn_->send(protocol::make_user_control(kOutChunkSize, protocol::UserControlEvent::kPingResponse, uc->value));
      return Status::ok();
    }
    case rtmp_type::kCommandAmf0:
    case rtmp_type::kCommandAmf3:
      return on_command(m);
    default:
      return Status::ok();  // chunk size (applied by the reader), bandwidth, data messages
  }
}

Status RtmpPlayer::on_command(const protocol::RtmpMessage& m) {
  auto c = protocol::parse_command(m);
  if (!c) return Status::ok();  // not ours to judge
  const std::string& name = c->name;
  if (name == "_result" && c->transaction_id == kTxConnect) {
    conn_->send(protocol::make_command(kOutChunkSize, kCommandCsid, 0, "createStream", kTxCreateStream,
                                       {AmfValue::null()}));
  } else if (name == "_result" && c->transaction_id == kTxCreateStream) {
    stream_id_ = c->args.empty() ? 1 : uint32_t(c->args[0].number());
    core::ByteWriter out(256);
    out.bytes(protocol::make_command(kOutChunkSize, kPlayCsid, stream_id_, "play", 0,
                                     {AmfValue::null(), AmfValue::string(path_.stream), AmfValue::number(-2000)})
                  .view());
    out.bytes(protocol::make_set_buffer_length(kOutChunkSize, stream_id_, 1000).view());
    conn_->send(out.finish());
  } else if (name == "_error") {
    std::string code = c->args.empty() ? "" : std::string(c->args[0].get_string("code"));
    return Status::errorf("server answered _error ({}) to transaction {}", code, c->transaction_id);
  } else if (name == "onStatus") {
    std::string code = c->args.empty() ? "" : std::string(c->args[0].get_string("code"));
    if (code == "NetStream.Play.Start") mark_connected();
    else if (code == "NetStream.Play.StreamNotFound" || code == "NetStream.Play.Failed")
      return Status::errorf("play refused: {}", code);
  }
  return Status::ok();
}

}  // namespace weir::loadgen
