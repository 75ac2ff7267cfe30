#include "origin/registry.h"

#include <spdlog/spdlog.h>

#include "core/loop.h"
#include "origin/origin.h"
#include "origin/stream_hub.h"

namespace weir::origin {

namespace {
bool valid_part(std::string_view s) {
  if (s.empty() || s.size() > 128 || s.front() == '.') return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}
std::string make_key(std::string_view app, std::string_view name) {
  std::string k(app);
  k += '/';
  k += name;
  return k;
}
}  // namespace

core::Status validate_stream_path(std::string_view app, std::string_view name) {
  if (!valid_part(app)) return core::Status::errorf("illegal app name '{}'", app.substr(0, 64));
  if (!valid_part(name))
    return core::Status::errorf("illegal stream name '{}' (allowed: 1-128 of A-Z a-z 0-9 _ - ., not starting with .)",
                                name.substr(0, 64));
  return core::Status::ok();
}

Registry::PublishResult Registry::publish(std::string_view app, std::string_view name, PublisherRef publisher) {
  PublishResult r;
  if (auto st = validate_stream_path(app, name); !st) {
    r.refusal = PublishRefusal::kInvalidName;
    r.reason = st.message();
    return r;
  }
  std::shared_ptr<const core::Config> generation = origin_.config_ptr();
  const core::AppConfig* cfg = generation->find_app(app);
  if (!cfg) {
    r.refusal = PublishRefusal::kUnknownApp;
    r.reason = fmt::format("app '{}' is not configured", app);
    return r;
  }
  const PublisherRef keep = publisher;  // event.params points into it (the hub may drop it meanwhile)
  PublishEvent event{publisher->protocol, publisher->peer, false, &keep->params};
  StreamHub::Take take = StreamHub::Take::kFirst;
  {
    std::lock_guard<std::mutex> lk(mu_);
    std::string key = make_key(app, name);
    auto it = hubs_.find(key);
    if (it != hubs_.end()) {
      take = it->second->take_publisher(publisher);
      if (take == StreamHub::Take::kRefused) {
        r.refusal = PublishRefusal::kBadName;
        r.reason = fmt::format("stream {} is already being published", key);
        return r;
      }
      r.hub = it->second;
    } else {
      auto hub = std::make_shared<StreamHub>(origin_, std::string(app), std::string(name), *cfg, generation);
      (void)hub->take_publisher(std::move(publisher));
      hubs_.emplace(key, hub);
      wake_waiters_locked(key, hub);
      r.hub = std::move(hub);
    }
  }
  r.created = take == StreamHub::Take::kFirst;
  event.takeover = take == StreamHub::Take::kTakenOver;
  for (StreamObserver* o : origin_.observers()) {
    if (r.created) o->on_stream_published(r.hub, event);
    else o->on_stream_resumed(r.hub, event);
  }
  return r;
}

std::shared_ptr<StreamHub> Registry::find(std::string_view app, std::string_view name) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = hubs_.find(make_key(app, name));
  return it == hubs_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<StreamHub>> Registry::list() const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<std::shared_ptr<StreamHub>> out;
  for (auto& [k, h] : hubs_) out.push_back(h);
  return out;
}

void Registry::remove(const StreamHub* hub) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = hubs_.find(hub->key());
  if (it != hubs_.end() && it->second.get() == hub) hubs_.erase(it);
}

void Registry::end_all(const std::string& why) {
  for (auto& h : list()) h->end(why);
}

uint64_t Registry::wait_for(std::string_view app, std::string_view name, core::Loop& loop, WaitCallback cb) {
  std::lock_guard<std::mutex> lk(mu_);
  uint64_t id = next_wait_id_++;
  std::string key = make_key(app, name);
  auto it = hubs_.find(key);
  if (it != hubs_.end()) {
    // A refused post (loop stopping or its queue full) drops the callback:
    // the waiter's own timeout answers instead.
    if (!loop.post([cb = std::move(cb), hub = it->second] { cb(hub); }))
      spdlog::warn("registry: loop {} refused a wake-up for {}", loop.index(), key);
    return id;
  }
  waiters_[key].push_back(Waiter{id, &loop, std::move(cb)});
  return id;
}

void Registry::cancel_wait(uint64_t id) {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
    auto& v = it->second;
    size_t before = v.size();
    std::erase_if(v, [id](const Waiter& w) { return w.id == id; });
    if (v.size() != before) {
      if (v.empty()) waiters_.erase(it);
      return;
    }
  }
}

void Registry::give_up_waiters(std::string_view app, std::string_view name) {
  std::lock_guard<std::mutex> lk(mu_);
  const std::string key = make_key(app, name);
  if (hubs_.count(key)) return;  // published meanwhile: its waiters were woken with it
  wake_waiters_locked(key, nullptr);
}

void Registry::wake_waiters_locked(const std::string& key, const std::shared_ptr<StreamHub>& hub) {
  auto it = waiters_.find(key);
  if (it == waiters_.end()) return;
  for (auto& w : it->second) {
    if (!w.loop->post([cb = std::move(w.cb), hub] { cb(hub); }))
      spdlog::warn("registry: loop {} refused a wake-up for {}; that request times out instead", w.loop->index(), key);
  }
  waiters_.erase(it);
}

}  // namespace weir::origin
