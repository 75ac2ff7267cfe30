// TLS for TcpConn (OpenSSL, memory BIOs): TlsContext holds the settings of one
// side (an SSL_CTX), TlsSession the state of one connection. TcpConn runs a
// session as a layer under its handler (TcpConn::start_tls_client/_server):
// plaintext appended to the conn is encrypted at flush, received bytes are
// decrypted before Handler::on_read, so every protocol runs over TLS unchanged.
//
// TlsContext: built once (reads certificate and key files: call it at
// start-up or from a config reload, never on a loop thread), then immutable
// and shared by any number of connections on any thread (shared_ptr<const>).
// TlsSession: one per connection, used by that connection's loop thread
// only; it does no I/O (bytes go in and out through the calls below).
// Bounds: the session buffers at most one socket read of ciphertext (the
// conn stops reading while its handler does) and the ciphertext of what the
// conn was asked to send (bounded by whoever appends it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/buffer.h"
#include "core/status.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace weir::core {

struct TlsClientOptions {
  // Verify the server's certificate chain and its name (the connection's
  // server name). Off only for tests and peers you pin some other way.
  bool verify_peer = true;
  // PEM file of trusted CAs; empty: the system's default store.
  std::string ca_file;
};

struct TlsServerOptions {
  std::string cert_file;  // PEM: the certificate, then its chain
  std::string key_file;   // PEM: its private key
};

class TlsContext {
 public:
  // TLS 1.2 or later. Errors name the file and OpenSSL's reason.
  static Result<std::shared_ptr<const TlsContext>> client(const TlsClientOptions& options);
  static Result<std::shared_ptr<const TlsContext>> server(const TlsServerOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  bool is_server() const { return server_; }
  bool verifies_peer() const { return verify_; }
  SSL_CTX* native() const { return ctx_; }

 private:
  TlsContext(SSL_CTX* ctx, bool server, bool verify) : ctx_(ctx), server_(server), verify_(verify) {}
  SSL_CTX* ctx_;
  bool server_;
  bool verify_;
};

class TlsSession {
 public:
  // Client: `server_name` goes out as SNI (unless it is an IP literal) and,
  // with verification on, must match the certificate (DNS name or IP address).
  static Result<std::unique_ptr<TlsSession>> client(std::shared_ptr<const TlsContext> ctx,
                                                    std::string_view server_name);
  static Result<std::unique_ptr<TlsSession>> server(std::shared_ptr<const TlsContext> ctx);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Ciphertext from the peer.
  void put_input(ByteView ciphertext);
  // Advances the handshake with the input so far (the client's first call
  // produces its hello). Ok while it needs more input; an error (protocol,
  // certificate, name) is final and says why.
  Status handshake();
  bool handshake_done() const { return done_; }
  // Decrypts into out[0..cap): the byte count, 0 when the input so far holds
  // no more plaintext (or the peer sent close_notify: peer_closed()).
  Result<size_t> read(uint8_t* out, size_t cap);
  // Encrypts all of `plaintext` (handshake_done() only).
  Status write(ByteView plaintext);
  // Queues a close_notify alert.
  void shutdown();
  // Ciphertext waiting to go to the peer; take_output moves n <= pending of it out.
  size_t output_pending() const;
  void take_output(uint8_t* out, size_t n);
  // Received bytes not yet returned by read() (ciphertext or plaintext).
  bool input_buffered() const;
  bool peer_closed() const { return peer_closed_; }
  // "certificate verify failed: self-signed certificate", "hostname mismatch", ...
  const std::string& error() const { return error_; }

 private:
  TlsSession(std::shared_ptr<const TlsContext> ctx, SSL* ssl, BIO* in, BIO* out);
  Status fail(int ssl_error, const char* what);

  std::shared_ptr<const TlsContext> ctx_;
  SSL* ssl_;
  BIO* in_;   // owned by ssl_
  BIO* out_;  // owned by ssl_
  bool done_ = false;
  bool peer_closed_ = false;
  bool failed_ = false;
  std::string error_;
};

}  // namespace weir::core
