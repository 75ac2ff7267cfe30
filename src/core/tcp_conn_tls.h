// Internal to TcpConn (tcp_conn.cpp, tcp_conn_tls.cpp): the TLS state of one
// conn. Not part of the public API; include core/tcp_conn.h and core/tls.h.
#pragma once

#include <uv.h>

#include <memory>
#include <vector>

#include "core/tcp_conn.h"
#include "core/timer.h"
#include "core/tls.h"

namespace weir::core {

struct TcpConn::TlsState {
  std::unique_ptr<TlsSession> session;
  // Plaintext appended before the handshake completed, in order, with what
  // keeps it alive; encrypted once the handshake is done.
  std::vector<uv_buf_t> held_bufs;
  std::vector<Ref<const RefCounted>> held_holds;
  // Delivers plaintext the session still holds when reading resumes after
  // stop_reading() (no socket read would). Freed with the conn, so it never
  // fires after the conn is gone.
  std::unique_ptr<Timer> resume;
};

}  // namespace weir::core
