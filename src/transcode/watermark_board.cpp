#include "transcode/watermark_board.h"

namespace weir::transcode {

namespace {
std::string key_of(const std::string& app, const std::string& stream) { return app + "/" + stream; }

WatermarkSlot::State from_config(const core::WatermarkConfig& cfg) {
  return {std::make_shared<const WatermarkSpec>(watermark_from_config(cfg)), "config"};
}
}  // namespace

std::shared_ptr<WatermarkSlot> WatermarkBoard::slot(const std::string& app, const std::string& stream,
                                                    const core::WatermarkConfig& cfg) {
  std::lock_guard<std::mutex> lk(mu_);
  auto& s = slots_[key_of(app, stream)];
  if (!s) s = std::make_shared<WatermarkSlot>(from_config(cfg));
  return s;
}

WatermarkSlot::State WatermarkBoard::current(const std::string& app, const std::string& stream,
                                             const core::WatermarkConfig& cfg) const {
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = slots_.find(key_of(app, stream));
    if (it != slots_.end()) return it->second->get();
  }
  return from_config(cfg);
}

bool WatermarkBoard::set(const std::string& app, const std::string& stream, const core::WatermarkConfig& cfg,
                         std::shared_ptr<const WatermarkSpec> spec) {
  std::shared_ptr<WatermarkSlot> s;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = slots_.find(key_of(app, stream));
    if (it == slots_.end()) {
      if (slots_.size() >= kMaxEntries) return false;
      it = slots_.emplace(key_of(app, stream), std::make_shared<WatermarkSlot>(from_config(cfg))).first;
    }
    s = it->second;
  }
  s->set({std::move(spec), "api"});
  return true;
}

void WatermarkBoard::forget(const std::string& app, const std::string& stream) {
  std::lock_guard<std::mutex> lk(mu_);
  slots_.erase(key_of(app, stream));
}

size_t WatermarkBoard::size() const {
  std::lock_guard<std::mutex> lk(mu_);
  return slots_.size();
}

}  // namespace weir::transcode
