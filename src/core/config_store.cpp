#include "core/config_store.h"

#include <algorithm>

namespace weir::core {

namespace {
Config named(Config c) {
  for (auto& [name, app] : c.apps) app.name = name;  // also for configs not made by load_config_*
  return c;
}
}  // namespace

ConfigStore::ConfigStore(Config first)
    : first_(std::make_shared<const Config>(named(std::move(first)))), current_(first_), raw_(first_.get()) {}

std::shared_ptr<const Config> ConfigStore::current() const {
  std::lock_guard<std::mutex> lk(mu_);
  return current_;
}

uint64_t ConfigStore::install(std::shared_ptr<const Config> next) {
  std::lock_guard<std::mutex> lk(mu_);
  if (current_ != first_) retired_.push_back(current_);
  current_ = std::move(next);
  raw_.store(current_.get(), std::memory_order_release);
  return generation_.fetch_add(1, std::memory_order_acq_rel) + 1;
}

size_t ConfigStore::release_retired() {
  std::vector<std::shared_ptr<const Config>> freed;
  std::lock_guard<std::mutex> lk(mu_);
  auto unused = [](const std::shared_ptr<const Config>& c) { return c.use_count() == 1; };
  auto it = std::stable_partition(retired_.begin(), retired_.end(), [&](const auto& c) { return !unused(c); });
  freed.assign(std::make_move_iterator(it), std::make_move_iterator(retired_.end()));
  retired_.erase(it, retired_.end());
  return retired_.size();
}

}  // namespace weir::core
