#include "origin/stream_blocks.h"

#include "core/clock.h"
#include "origin/admission.h"
#include "origin/api/api_format.h"

namespace weir::origin {

namespace {
std::string key_of(std::string_view app, std::string_view stream) {
  std::string k;
  k.reserve(app.size() + 1 + stream.size());
  k.append(app).append("/").append(stream);
  return k;
}

class StreamBlockCheck final : public AdmissionCheck {
 public:
  explicit StreamBlockCheck(const StreamBlocks& blocks) : blocks_(blocks) {}
  std::string_view name() const override { return "operator-block"; }
  std::optional<AdmissionDecision> check_now(const AdmissionRequest& req) override {
    if (req.direction != Direction::kPublish) return AdmissionDecision::allow();
    auto until = blocks_.blocked_until(req.app, req.stream, core::wall_clock_ms());
    if (!until) return AdmissionDecision::allow();
    return AdmissionDecision::deny(Refusal::kForbidden, "blocked by the operator until " + api::rfc3339_ms(*until));
  }

 private:
  const StreamBlocks& blocks_;
};
}  // namespace

bool StreamBlocks::block(std::string_view app, std::string_view stream, int64_t until_ms) {
  const int64_t now = core::wall_clock_ms();
  std::lock_guard<std::mutex> lk(mu_);
  for (auto it = until_.begin(); it != until_.end();) it = it->second <= now ? until_.erase(it) : std::next(it);
  std::string key = key_of(app, stream);
  auto it = until_.find(key);
  if (it != until_.end()) {
    it->second = until_ms;
    return true;
  }
  if (until_.size() >= kMaxBlocks) return false;
  until_.emplace(std::move(key), until_ms);
  return true;
}

std::optional<int64_t> StreamBlocks::blocked_until(std::string_view app, std::string_view stream, int64_t now_ms) const {
  std::lock_guard<std::mutex> lk(mu_);
  if (until_.empty()) return std::nullopt;
  auto it = until_.find(key_of(app, stream));
  if (it == until_.end() || it->second <= now_ms) return std::nullopt;
  return it->second;
}

size_t StreamBlocks::size() const {
  std::lock_guard<std::mutex> lk(mu_);
  return until_.size();
}

std::unique_ptr<AdmissionCheck> make_stream_block_check(const StreamBlocks& blocks) {
  return std::make_unique<StreamBlockCheck>(blocks);
}

}  // namespace weir::origin
