#include "origin/stream_sources.h"

#include "core/config.h"
#include "origin/registry.h"

namespace weir::origin {

namespace {
std::string make_key(std::string_view app, std::string_view stream) {
  std::string k(app);
  k += '/';
  k += stream;
  return k;
}
}  // namespace

int64_t StreamSources::serves(const core::AppConfig& cfg, std::string_view stream) const {
  for (StreamSource* s : sources_)
    if (int64_t ms = s->serves(cfg, stream); ms > 0) return ms;
  return 0;
}

StreamSources::Want StreamSources::want(const core::AppConfig& cfg, std::string_view app, std::string_view stream,
                                         const AdmissionRequest& first) {
  Want w;
  StreamSource* source = nullptr;
  for (StreamSource* s : sources_) {
    if (int64_t ms = s->serves(cfg, stream); ms > 0) {
      source = s;
      w.wait_ms = ms;
      break;
    }
  }
  if (!source) return w;
  std::string key = make_key(app, stream);
  {
    std::lock_guard<std::mutex> lk(mu_);
    w.asked = active_.insert(key).second;
  }
  if (w.asked) source->want(std::string(app), std::string(stream), first);
  return w;
}

void StreamSources::release(std::string_view app, std::string_view stream, const std::string& why) {
  std::string key = make_key(app, stream);
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (auto it = active_.find(key); it != active_.end()) active_.erase(it);
    if (!why.empty()) {
      auto [it, added] = failures_.insert_or_assign(key, why);
      if (added) failure_order_.push_back(key);
      while (failures_.size() > kMaxFailures && !failure_order_.empty()) {
        failures_.erase(failure_order_.front());
        failure_order_.pop_front();
      }
    } else if (auto it = failures_.find(key); it != failures_.end()) {
      failures_.erase(it);
      std::erase(failure_order_, key);
    }
  }
  if (!why.empty()) registry_.give_up_waiters(app, stream);
}

std::string StreamSources::last_failure(std::string_view app, std::string_view stream) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = failures_.find(make_key(app, stream));
  return it == failures_.end() ? std::string() : it->second;
}

std::vector<std::string> StreamSources::active() const {
  std::lock_guard<std::mutex> lk(mu_);
  return {active_.begin(), active_.end()};
}

}  // namespace weir::origin
