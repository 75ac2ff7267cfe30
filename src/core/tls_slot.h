// TlsSlot: the server TLS context a listener hands to each connection it
// accepts. A reload re-reads the certificate and key (tls.cert_file,
// tls.key_file) and sets the new context here: connections accepted after
// that use it; connections already open keep the context they started with
// (each TlsSession holds its own reference).
//
// Thread: get() on any loop, set() on the main thread (the reloader); both
// under mu_. The slot outlives every listener that holds it (shared_ptr).
#pragma once

#include <memory>
#include <mutex>

#include "core/tls.h"

namespace weir::core {

class TlsSlot {
 public:
  explicit TlsSlot(std::shared_ptr<const TlsContext> ctx) : ctx_(std::move(ctx)) {}
  std::shared_ptr<const TlsContext> get() const {
    std::lock_guard<std::mutex> lk(mu_);
    return ctx_;
  }
  void set(std::shared_ptr<const TlsContext> ctx) {
    std::lock_guard<std::mutex> lk(mu_);
    ctx_ = std::move(ctx);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const TlsContext> ctx_;  // guarded by mu_; never null
};

}  // namespace weir::core
