#include "origin/client_registry.h"

#include <chrono>
#include <random>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/loop.h"

namespace weir::origin {

std::string_view client_role_name(ClientRole r) { return r == ClientRole::kPublish ? "publish" : "play"; }

std::string_view ClientInfo::remote_ip() const { return peer_ip(remote); }

// Fixed at add() but for the fields marked otherwise.
struct ClientRegistry::Entry {
  ClientInfo info;  // bytes_* unused: read from io
  core::Loop* loop = nullptr;
  const core::IoCounters* io = nullptr;  // valid while `live`
  int64_t started_steady_ms = 0;
  // Loop thread only: cleared by end(); the posted close task checks them.
  bool live = true;
  CloseFn close;
};

namespace {
size_t slot(AccessProtocol p, ClientRole r) { return size_t(p) * 2 + (r == ClientRole::kPlay ? 1 : 0); }

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint32_t random_boot() {
  std::random_device rd;
  return uint32_t(rd());
}
}  // namespace

ClientRegistry::ClientRegistry() : boot_(random_boot()) {}
ClientRegistry::~ClientRegistry() = default;

ClientRegistry::Handle& ClientRegistry::Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    end("closed");
    reg_ = o.reg_;
    entry_ = std::move(o.entry_);
    o.reg_ = nullptr;
  }
  return *this;
}

void ClientRegistry::Handle::end(std::string_view why) {
  if (!entry_) return;
  auto e = std::move(entry_);
  entry_.reset();
  if (reg_) reg_->end(*e, why);
}

const std::string& ClientRegistry::Handle::id() const {
  static const std::string kNone;
  return entry_ ? entry_->info.id : kNone;
}

ClientRegistry::Handle ClientRegistry::add(core::Loop& loop, Registration r, const core::IoCounters* io, CloseFn close) {
  auto e = std::make_shared<Entry>();
  e->info.protocol = r.protocol;
  e->info.role = r.role;
  e->info.app = std::move(r.app);
  e->info.stream = std::move(r.stream);
  e->info.remote = std::move(r.remote);
  e->info.started_at_ms = core::wall_clock_ms();
  e->info.loop = loop.index();
  e->loop = &loop;
  e->io = io;
  e->started_steady_ms = steady_ms();
  e->close = std::move(close);
  ClientInfo info;
  {
    std::lock_guard<std::mutex> lk(mu_);
    // 8 hex digits of the process's random prefix, 16 of a counter: ids sort
    // in registration order, so a cursor walk meets late clients last.
    e->info.id = fmt::format("{:08x}{:016x}", boot_, next_seq_++);
    entries_.emplace(e->info.id, e);
    info = snapshot_locked(*e);
  }
  open_[slot(r.protocol, r.role)].fetch_add(1, std::memory_order_relaxed);
  if (hook_) hook_("client.connected", ClientEvent{info, true, {}, 0});
  Handle h;
  h.reg_ = this;
  h.entry_ = std::move(e);
  return h;
}

void ClientRegistry::end(Entry& e, std::string_view why) {
  ClientInfo info;
  {
    std::lock_guard<std::mutex> lk(mu_);
    info = snapshot_locked(e);
    entries_.erase(e.info.id);
  }
  e.live = false;
  e.close = nullptr;  // may hold captures of the session
  e.io = nullptr;
  open_[slot(info.protocol, info.role)].fetch_sub(1, std::memory_order_relaxed);
  if (hook_)
    hook_("client.disconnected",
          ClientEvent{std::move(info), false, std::string(why), steady_ms() - e.started_steady_ms});
}

ClientInfo ClientRegistry::snapshot_locked(const Entry& e) const {
  ClientInfo c = e.info;
  if (e.io) {
    c.bytes_in = e.io->in();
    c.bytes_out = e.io->out();
  }
  return c;
}

std::optional<ClientInfo> ClientRegistry::find(std::string_view id) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return snapshot_locked(*it->second);
}

ClientRegistry::Page ClientRegistry::list(const ClientFilter& f, std::string_view after, size_t limit) const {
  Page page;
  std::lock_guard<std::mutex> lk(mu_);
  auto it = after.empty() ? entries_.begin() : entries_.upper_bound(after);
  for (; it != entries_.end(); ++it) {
    const ClientInfo& c = it->second->info;
    if (!f.app.empty() && c.app != f.app) continue;
    if (!f.stream.empty() && c.stream != f.stream) continue;
    if (!f.protocol.empty() && access_protocol_name(c.protocol) != f.protocol) continue;
    if (!f.role.empty() && client_role_name(c.role) != f.role) continue;
    if (!f.ip.empty() && c.remote_ip() != f.ip) continue;
    if (page.items.size() == limit) {
      page.more = true;
      break;
    }
    page.items.push_back(snapshot_locked(*it->second));
  }
  return page;
}

ClientRegistry::CloseResult ClientRegistry::close(std::string_view id, std::string why) {
  std::shared_ptr<Entry> e;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return CloseResult::kNotFound;
    e = it->second;
  }
  // On the client's loop, `live` and `close` change only on that thread: if
  // the client is still registered when the task runs, its session is alive.
  bool posted = e->loop->post([e, why = std::move(why)] {
    if (!e->live || !e->close) return;
    CloseFn fn = e->close;  // the session's close() ends the handle, which clears e->close
    fn(why);
  });
  return posted ? CloseResult::kPosted : CloseResult::kRefused;
}

std::vector<uint64_t> ClientRegistry::counts() const {
  std::vector<uint64_t> out(kCountSlots);
  for (size_t i = 0; i < kCountSlots; ++i) out[i] = open_[i].load(std::memory_order_relaxed);
  return out;
}

std::map<std::string, uint64_t, std::less<>> ClientRegistry::players_by_stream() const {
  std::map<std::string, uint64_t, std::less<>> out;
  std::lock_guard<std::mutex> lk(mu_);
  for (const auto& [id, e] : entries_)
    if (e->info.role == ClientRole::kPlay) ++out[e->info.app + "/" + e->info.stream];
  return out;
}

size_t ClientRegistry::size() const {
  std::lock_guard<std::mutex> lk(mu_);
  return entries_.size();
}

}  // namespace weir::origin
