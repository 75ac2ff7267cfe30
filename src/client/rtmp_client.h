// RtmpClient: one outbound RTMP session that plays or publishes a stream, on
// core's Connector (rtmp://, and rtmps:// through the TLS layer).
//
// Session: handshake (with the Flash Player digest, falling back to the
// simple one if the server answers without), connect {app, tcUrl, flashVer,
// Enhanced RTMP fourCcList so servers send HEVC/AV1/VP9}, then
//  - play: createStream, play(stream, -2000) and Set Buffer Length 1000 ms;
//    ready at NetStream.Play.Start;
//  - publish: Set Chunk Size (options.chunk_size, sent right after the
//    handshake), releaseStream, FCPublish, createStream, publish(stream,
//    "live") as encoders do; ready at NetStream.Publish.Start.
// Throughout: Acknowledgements at the window the server asks for, Ping
// Responses, the server's Set Chunk Size applied by the ChunkReader.
// URL split (app of several elements, app or stream queries): protocol/url.h.
//
// Play: every audio/video message becomes a core::MediaPacket through
// protocol::make_media_packet (the conversion RTMP ingest uses; E-RTMP
// tracks other than 0 are dropped, as ingest drops them; an empty "silence"
// message is skipped); onMetaData (also inside @setDataFrame) and other named
// data messages through protocol::make_data_packet (onMetaData flagged
// kConfig); the server's |RtmpSampleAccess is not stream data and is dropped.
// The packet shares the message's bytes: no copy per packet.
// Publish: send() chunks a packet with fmt 0/3 headers around slices of its
// body (no copy of the body); a data packet flagged kConfig (onMetaData) goes
// out as @setDataFrame.
//
// Ends (on_closed, once, with the reason): a refusal carries the server's
// code and description ("NetConnection.Connect.Rejected: app 'x' is not
// configured", "NetStream.Publish.BadName: ...", "NetStream.Play.
// StreamNotFound: ...", an _error to createStream); NetStream.Play.
// UnpublishNotify or a StreamEOF for our stream after play started: "stream
// ended (...)"; timeouts: connect (lookup + TCP + TLS), response (connected
// -> ready: handshake and each command answer), stall (play: no byte from the
// server; publish: the socket took nothing while bytes waited); socket errors
// and protocol errors.
//
// Limits: incoming messages as the ChunkReader bounds them (max message size
// options.max_message_size). Publish: send() refuses a packet while
// options.max_queued_bytes or more wait unsent (overflow action: the packet
// is not sent, send() says so and stats().refused counts it; the caller
// drops up to its next keyframe or closes; on_drained() says when the queue
// has emptied).
//
// Thread: one loop; every call and every callback on it.
// Ownership: RAII. The owner holds the client; destroying it (or close())
// closes the connection and no callback runs after. Callbacks may destroy
// the client (on_closed included).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/buffer.h"
#include "core/loop.h"
#include "core/media_packet.h"
#include "core/status.h"

namespace weir::core {
class TlsContext;
}

namespace weir::client {

enum class RtmpMode { kPlay, kPublish };

struct RtmpClientOptions {
  RtmpMode mode = RtmpMode::kPlay;
  uint64_t connect_timeout_ms = 10000;   // lookup, TCP connect, TLS handshake
  uint64_t response_timeout_ms = 10000;  // connected -> ready (0: none)
  uint64_t stall_timeout_ms = 10000;     // after ready (0: none), see above
  uint32_t chunk_size = 60000;           // publish: our outgoing chunk size
  size_t max_queued_bytes = 8 << 20;     // publish: send() refuses from here
  uint32_t max_message_size = 16 << 20;  // largest incoming message accepted
  // Required for rtmps:// (a client context); ignored for rtmp://.
  std::shared_ptr<const core::TlsContext> tls;
  // connect's flashVer; empty: "LNX 9,0,124,2" to play (what FFmpeg sends),
  // "FMLE/3.0 (compatible; weir)" to publish.
  std::string flash_ver;
};

class RtmpClient {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // NetStream.Play.Start / NetStream.Publish.Start.
    virtual void on_ready() {}
    // Play: one audio, video or data packet, in arrival order. It may be kept.
    virtual void on_packet(const core::MediaPacket& pkt) {}
    // Every read from the socket, before it is parsed: n bytes from the
    // server (first-byte time, byte counts).
    virtual void on_bytes(size_t n) {}
    // Publish: everything sent has reached the kernel after a send() could
    // not write all at once.
    virtual void on_drained() {}
    // The session ended; why.ok() never (close() and destruction are silent).
    // The last callback.
    virtual void on_closed(const core::Status& why) = 0;
  };

  struct Stats {
    uint64_t bytes_received = 0;
    uint64_t bytes_sent = 0;     // chunk stream bytes queued (commands and media)
    uint64_t packets = 0;        // play: delivered; publish: accepted by send()
    uint64_t refused = 0;        // publish: send() refused over max_queued_bytes
    std::string status_code;     // code of the last onStatus/_error received
  };

  RtmpClient(core::Loop& loop, Handler& handler, RtmpClientOptions options = {});
  ~RtmpClient();
  RtmpClient(const RtmpClient&) = delete;
  RtmpClient& operator=(const RtmpClient&) = delete;

  // Starts the session: rtmp[s]://host[:port]/app/stream[?query]. A bad URL
  // (or rtmps:// without a TLS context, or a second start) is returned here;
  // everything later comes through the handler.
  core::Status start(std::string_view url);
  // Publish, once ready. See "Limits" above.
  core::Status send(const core::MediaPacket& pkt);
  // Ends the session without a callback.
  void close();

  bool ready() const;
  // Bytes waiting in the socket's queue (not yet taken by the kernel).
  size_t queued_bytes() const;
  const Stats& stats() const;

 private:
  class Session;
  Session* s_ = nullptr;  // frees itself once detached and its conn is closed
  core::Loop& loop_;
  Handler& handler_;
  RtmpClientOptions options_;
  Stats idle_stats_;
};

}  // namespace weir::client
