// tls_accept: wraps a listener's accept callback so that every accepted
// connection runs TLS (server side, core/tls.h) under whatever handler `next`
// installs. Used by the RTMPS, HTTPS and admin-API-over-TLS listeners: the
// protocols above run unchanged.
//
// A connection whose TLS cannot start (out of memory in OpenSSL) is closed at
// once with a log line; a failed handshake ends it through its handler
// (on_read_end(UV_EPROTO), TcpConn::tls_error() says why).
//
// Thread: the returned callback runs on the listener's loop. `slot` is
// shared by every loop; each connection takes the context current when it is
// accepted (core/tls_slot.h: a reload swaps it).
#pragma once

#include <memory>
#include <string>

#include "core/tcp_listener.h"
#include "core/tls.h"
#include "core/tls_slot.h"

namespace weir::core {

TcpListener::OnAccept tls_accept(std::shared_ptr<const TlsSlot> slot, std::string what, TcpListener::OnAccept next);

}  // namespace weir::core
