#include "core/connections_per_ip.h"

namespace weir::core {

ConnectionsPerIp::Slot& ConnectionsPerIp::Slot::operator=(Slot&& o) noexcept {
  if (this != &o) {
    release();
    owner_ = o.owner_;
    key_ = std::move(o.key_);
    o.owner_ = nullptr;
  }
  return *this;
}

void ConnectionsPerIp::Slot::release() {
  if (!owner_) return;
  owner_->release(key_);
  owner_ = nullptr;
}

std::string ConnectionsPerIp::key_of(std::string_view peer) {
  std::string_view host = peer;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    host = close == std::string_view::npos ? host.substr(1) : host.substr(1, close - 1);
  } else if (host.find(':') != host.rfind(':')) {
    // A bare IPv6 address (two or more colons, no brackets): no port.
  } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (size_t pct = host.find('%'); pct != std::string_view::npos) host = host.substr(0, pct);  // zone id
  if (auto ip = parse_ip(host)) return std::string(reinterpret_cast<const char*>(ip->bytes.data()), ip->bytes.size());
  return std::string(host);
}

std::optional<ConnectionsPerIp::Slot> ConnectionsPerIp::try_acquire(std::string_view peer) {
  Slot s;
  const int64_t cap = this->cap();
  if (cap <= 0) return std::optional<Slot>(std::move(s));
  std::string key = key_of(peer);
  {
    std::lock_guard lk(mu_);
    int64_t& n = open_[key];
    if (n >= cap) {
      refused_.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    ++n;
  }
  s.owner_ = this;
  s.key_ = std::move(key);
  return std::optional<Slot>(std::move(s));
}

bool ConnectionsPerIp::at_cap(std::string_view peer) {
  const int64_t cap = this->cap();
  if (cap <= 0) return false;
  std::string key = key_of(peer);
  std::lock_guard lk(mu_);
  auto it = open_.find(key);
  return it != open_.end() && it->second >= cap;
}

int64_t ConnectionsPerIp::count(std::string_view peer) {
  std::string key = key_of(peer);
  std::lock_guard lk(mu_);
  auto it = open_.find(key);
  return it == open_.end() ? 0 : it->second;
}

size_t ConnectionsPerIp::addresses() {
  std::lock_guard lk(mu_);
  return open_.size();
}

std::optional<uint64_t> ConnectionsPerIp::log_allowed(int64_t now_ms) {
  std::lock_guard lk(mu_);
  return log_limiter_.allow(now_ms);
}

void ConnectionsPerIp::release(const std::string& key) {
  std::lock_guard lk(mu_);
  auto it = open_.find(key);
  if (it == open_.end()) return;
  if (--it->second <= 0) open_.erase(it);
}

}  // namespace weir::core
