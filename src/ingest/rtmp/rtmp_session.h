// RtmpSession: one RTMP connection, from handshake to close. After `connect`
// it becomes a publisher (feeding a StreamHub) or a player (its socket is
// written by an origin StreamWriter with the shared RTMP framing; the session
// keeps reading the player's acks, pings and commands).
//
// Thread: its loop only. Ownership: owns its TcpConn (closed through it) and
// frees itself from on_closed(). While publishing or playing it is listed in
// the origin's ClientRegistry (the admin API's DELETE closes it through close()). Any protocol error closes this session only,
// with one log line giving the peer and the reason.
//
// Bounds: partly received messages are capped per session
// (rtmp.max_reassembly_bytes) and across the process (the origin's ingest
// budget); the session's own replies (pings, _error, onStatus) may queue at
// most kMaxQueuedReplies bytes before the client reads them (overflow
// action: close), and a socket that takes nothing for rtmp.send_timeout_ms
// closes the session in any role (players: the app's viewer_send_timeout_ms).
#pragma once

#include <memory>
#include <string>

#include "core/loop.h"
#include "core/tcp_conn.h"
#include "core/timer.h"
#include "origin/client_registry.h"
#include "origin/hub_publisher.h"
#include "origin/metrics.h"
#include "origin/play_request.h"
#include "origin/stream_writer.h"
#include "protocol/amf_value.h"
#include "protocol/rtmp_chunk_reader.h"
#include "protocol/rtmp_handshake.h"
#include "protocol/rtmp_messages.h"

namespace weir::origin {
class Origin;
class StreamHub;
}

namespace weir::ingest::rtmp {

class RtmpSession final : public core::TcpConn::Handler,
                          public core::Closable,
                          public origin::StreamWriter::Owner {
 public:
  static constexpr size_t kMaxQueuedReplies = 1 << 20;
  static constexpr size_t kMaxEchoedName = 64;  // of an unknown command, in its _error reply

  static void accept(core::Loop& loop, origin::Origin& origin, core::TcpConn* conn);

  // TcpConn::Handler
  void on_read(core::ByteView data) override;
  void on_read_end(int uv_status) override;
  void on_drained() override;
  void on_timeout(const char* what) override;
  void on_closed() override;
  // Closable
  void close_for_shutdown() override { close("server shutting down"); }
  // StreamWriter::Owner
  void on_writer_done(const std::string& why) override;

 private:
  // kPublishing / kPlaying: admission (and for play, the stream) pending.
  enum class Role { kNone, kPublishing, kPublisher, kPlaying, kPlayer };

  RtmpSession(core::Loop& loop, origin::Origin& origin, core::TcpConn* conn);
  ~RtmpSession() override;

  core::Status on_message(protocol::RtmpMessage&& m);
  core::Status on_command(const protocol::RtmpMessage& m);
  core::Status on_media(protocol::RtmpMessage&& m);
  core::Status on_data(const protocol::RtmpMessage& m);

  core::Status cmd_connect(const protocol::Command& c);
  core::Status cmd_create_stream(const protocol::Command& c);
  core::Status cmd_publish(const protocol::Command& c, uint32_t stream_id);
  core::Status cmd_play(const protocol::Command& c, uint32_t stream_id);
  core::Status cmd_pause(const protocol::Command& c, uint32_t stream_id);
  void end_role(const char* why);
  void start_publishing(uint32_t stream_id);
  void start_playing(const std::shared_ptr<origin::StreamHub>& hub);
  // Registers the session in the origin's client registry (publishing or playing).
  void register_client(origin::ClientRole role);
  // The admission request for app_/stream_ with the app's and the stream
  // name's query parameters; a malformed query is an error.
  core::Result<origin::AdmissionRequest> admission_request(origin::Direction d) const;

  void send_result(double txid, protocol::AmfValue obj, protocol::AmfValue info);
  void send_status(uint32_t stream_id, const char* level, const char* code, const std::string& description);
  // Closes after what is queued has been written (for final onStatus replies).
  void close_after_flush(const std::string& why);
  void close(const std::string& why);

  core::Loop& loop_;
  origin::Origin& origin_;
  core::TcpConn* conn_;
  const uint64_t id_;
  std::string peer_;

  protocol::HandshakeServer handshake_;
  // Counts a connection that ended before the handshake completed.
  void handshake_failed(origin::Metrics::HandshakeFailure why);
  protocol::ChunkReader reader_;
  uint32_t out_chunk_size_ = 128;
  protocol::RtmpPeerDuties duties_;  // acknowledgements and ping responses

  bool connected_ = false;
  std::string app_, app_query_, tc_url_;
  double object_encoding_ = 0;
  Role role_ = Role::kNone;
  std::string stream_, stream_query_;

  origin::HubPublisher publisher_;           // active() while publishing
  std::shared_ptr<origin::StreamHub> hub_;  // the stream played
  std::unique_ptr<origin::StreamWriter> writer_;
  std::unique_ptr<origin::StreamWriter> retired_writer_;  // finished; freed with the session
  origin::PlayRequest play_;
  core::Timer final_timer_;  // close_after_flush's deadline
  origin::ClientRegistry::Handle client_;  // active while publishing or playing (end_role ends it)

  bool closing_ = false;
  bool close_when_flushed_ = false;
  std::string close_reason_;
};

}  // namespace weir::ingest::rtmp
