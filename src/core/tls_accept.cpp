#include "core/tls_accept.h"

#include <spdlog/spdlog.h>

namespace weir::core {

TcpListener::OnAccept tls_accept(std::shared_ptr<const TlsSlot> slot, std::string what, TcpListener::OnAccept next) {
  if (!slot) return next;
  return [slot = std::move(slot), what = std::move(what), next = std::move(next)](TcpConn* c) {
    if (Status st = c->start_tls_server(slot->get()); !st) {
      spdlog::warn("{} {}: closed: TLS did not start: {}", what, c->peer(), st.message());
      c->close();
      return;
    }
    next(c);
  };
}

}  // namespace weir::core
