#include "core/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <climits>

#include <fmt/format.h>

namespace weir::core {

namespace {

// OpenSSL's queued errors of this thread, oldest first, as reasons.
std::string drain_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    out += reason ? reason : fmt::format("error {:#x}", e);
  }
  return out.empty() ? "unknown error" : out;
}

bool is_ip_literal(const std::string& s) {
  uint8_t buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

SSL_CTX* new_ctx(const SSL_METHOD* method) {
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (!ctx) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Renegotiation is a CPU-exhaustion lever and nothing here needs it.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  // Idle connections (a viewer between packets) give their 2 x 16 KiB record
  // buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

}  // namespace

// Context ------------------------------------------------------------------------

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<std::shared_ptr<const TlsContext>> TlsContext::client(const TlsClientOptions& o) {
  ERR_clear_error();
  SSL_CTX* ctx = new_ctx(TLS_client_method());
  if (!ctx) return Status::errorf("tls: client context: {}", drain_errors());
  std::shared_ptr<const TlsContext> out(new TlsContext(ctx, false, o.verify_peer));
  if (!o.verify_peer) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    return out;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) != 1)
      return Status::errorf("tls: CA file '{}': {}", o.ca_file, drain_errors());
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return Status::errorf("tls: system CA store: {}", drain_errors());
  }
  return out;
}

Result<std::shared_ptr<const TlsContext>> TlsContext::server(const TlsServerOptions& o) {
  ERR_clear_error();
  SSL_CTX* ctx = new_ctx(TLS_server_method());
  if (!ctx) return Status::errorf("tls: server context: {}", drain_errors());
  std::shared_ptr<const TlsContext> out(new TlsContext(ctx, true, false));
  if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) != 1)
    return Status::errorf("tls: certificate file '{}': {}", o.cert_file, drain_errors());
  if (SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return Status::errorf("tls: key file '{}': {}", o.key_file, drain_errors());
  if (SSL_CTX_check_private_key(ctx) != 1)
    return Status::errorf("tls: key file '{}' does not match certificate '{}': {}", o.key_file, o.cert_file,
                          drain_errors());
  return out;
}

// Session --------------------------------------------------------------------------

TlsSession::TlsSession(std::shared_ptr<const TlsContext> ctx, SSL* ssl, BIO* in, BIO* out)
    : ctx_(std::move(ctx)), ssl_(ssl), in_(in), out_(out) {}

TlsSession::~TlsSession() { SSL_free(ssl_); }  // frees both BIOs

namespace {
Status make_ssl(const std::shared_ptr<const TlsContext>& ctx, SSL*& ssl, BIO*& in, BIO*& out) {
  ERR_clear_error();
  ssl = SSL_new(ctx->native());
  in = BIO_new(BIO_s_mem());
  out = BIO_new(BIO_s_mem());
  if (!ssl || !in || !out) {
    std::string why = drain_errors();
    SSL_free(ssl);
    BIO_free(in);
    BIO_free(out);
    return Status::errorf("tls: new session: {}", why);
  }
  // An empty input BIO means "wait for more", not end of stream.
  BIO_set_mem_eof_return(in, -1);
  BIO_set_mem_eof_return(out, -1);
  SSL_set_bio(ssl, in, out);
  return Status::ok();
}
}  // namespace

Result<std::unique_ptr<TlsSession>> TlsSession::client(std::shared_ptr<const TlsContext> ctx,
                                                       std::string_view server_name) {
  if (!ctx || ctx->is_server()) return Status::error("tls: client session needs a client context");
  SSL* ssl = nullptr;
  BIO *in = nullptr, *out = nullptr;
  if (Status st = make_ssl(ctx, ssl, in, out); !st) return st;
  std::unique_ptr<TlsSession> s(new TlsSession(ctx, ssl, in, out));
  SSL_set_connect_state(ssl);
  std::string name(server_name);
  const bool ip = is_ip_literal(name);
  // RFC 6066 3: SNI carries host names only, never address literals.
  if (!ip && !name.empty() && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1)
    return Status::errorf("tls: server name '{}': {}", name, drain_errors());
  if (ctx->verifies_peer()) {
    if (name.empty()) return Status::error("tls: peer verification needs a server name");
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) : SSL_set1_host(ssl, name.c_str());
    if (ok != 1) return Status::errorf("tls: server name '{}': {}", name, drain_errors());
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  }
  return s;
}

Result<std::unique_ptr<TlsSession>> TlsSession::server(std::shared_ptr<const TlsContext> ctx) {
  if (!ctx || !ctx->is_server()) return Status::error("tls: server session needs a server context");
  SSL* ssl = nullptr;
  BIO *in = nullptr, *out = nullptr;
  if (Status st = make_ssl(ctx, ssl, in, out); !st) return st;
  std::unique_ptr<TlsSession> s(new TlsSession(ctx, ssl, in, out));
  SSL_set_accept_state(ssl);
  return s;
}

void TlsSession::put_input(ByteView ciphertext) {
  if (!ciphertext.empty()) BIO_write(in_, ciphertext.data(), int(ciphertext.size()));
}

Status TlsSession::fail(int ssl_error, const char* what) {
  if (failed_) return Status::error(error_);
  failed_ = true;
  long verify = SSL_get_verify_result(ssl_);
  if (ssl_error == SSL_ERROR_SSL && verify != X509_V_OK && !done_) {
    ERR_clear_error();
    error_ = fmt::format("{}: certificate verify failed: {}", what, X509_verify_cert_error_string(verify));
  } else if (ssl_error == SSL_ERROR_SSL) {
    error_ = fmt::format("{}: {}", what, drain_errors());
  } else if (ssl_error == SSL_ERROR_ZERO_RETURN) {
    error_ = fmt::format("{}: the peer closed the TLS session", what);
  } else {
    error_ = fmt::format("{}: {} (ssl error {})", what, drain_errors(), ssl_error);
  }
  return Status::error(error_);
}

Status TlsSession::handshake() {
  if (failed_) return Status::error(error_);
  if (done_) return Status::ok();
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    done_ = true;
    return Status::ok();
  }
  int e = SSL_get_error(ssl_, rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Status::ok();
  return fail(e, "tls handshake");
}

Result<size_t> TlsSession::read(uint8_t* out, size_t cap) {
  if (failed_) return Status::error(error_);
  if (!done_ || peer_closed_ || cap == 0) return size_t(0);
  ERR_clear_error();
  size_t n = 0;
  if (SSL_read_ex(ssl_, out, cap, &n) == 1) return n;
  int e = SSL_get_error(ssl_, 0);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return size_t(0);
  if (e == SSL_ERROR_ZERO_RETURN) {
    peer_closed_ = true;
    return size_t(0);
  }
  return fail(e, "tls read");
}

Status TlsSession::write(ByteView plaintext) {
  if (failed_) return Status::error(error_);
  if (!done_) return Status::error("tls write before the handshake completed");
  ERR_clear_error();
  size_t off = 0;
  while (off < plaintext.size()) {
    size_t n = 0;
    // A memory BIO never pushes back, so a write takes everything at once.
    if (SSL_write_ex(ssl_, plaintext.data() + off, plaintext.size() - off, &n) != 1)
      return fail(SSL_get_error(ssl_, 0), "tls write");
    off += n;
  }
  return Status::ok();
}

void TlsSession::shutdown() {
  if (!done_ || failed_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

size_t TlsSession::output_pending() const { return BIO_ctrl_pending(out_); }

void TlsSession::take_output(uint8_t* out, size_t n) {
  while (n > 0) {
    int got = BIO_read(out_, out, int(std::min<size_t>(n, INT_MAX)));
    if (got <= 0) return;
    out += got;
    n -= size_t(got);
  }
}

bool TlsSession::input_buffered() const { return BIO_ctrl_pending(in_) > 0 || SSL_pending(ssl_) > 0; }

}  // namespace weir::core
