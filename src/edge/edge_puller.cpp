#include "edge/edge_puller.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/loop.h"
#include "edge/upstream_pull.h"
#include "edge/via.h"
#include "origin/admission.h"
#include "origin/origin.h"

namespace weir::edge {

EdgePuller::EdgePuller(origin::Origin& origin, std::shared_ptr<const core::TlsContext> tls, std::string node_id)
    : origin_(origin), tls_(std::move(tls)), node_id_(std::move(node_id)) {}

EdgePuller::~EdgePuller() {
  std::lock_guard<std::mutex> lk(mu_);
  if (!pulls_.empty()) spdlog::warn("edge: {} pulls still open at exit", pulls_.size());
}

StreamLocator* EdgePuller::locator_for(const core::AppConfig& app) const {
  return app.upstream.discover ? locator_ : nullptr;
}

int64_t EdgePuller::serves(const core::AppConfig& app, std::string_view) const {
  const auto& up = app.upstream;
  const StreamLocator* loc = locator_for(app);
  if (up.urls.empty() && !loc) return 0;
  // The lookup, then each origin (the one found first) may take its connect
  // timeout in the first round.
  const int64_t origins = int64_t(up.urls.size()) + (loc ? 1 : 0);
  return std::min<int64_t>((loc ? loc->wait_ms() : 0) + up.connect_timeout_ms * origins + 500, 120000);
}

void EdgePuller::want(const std::string& app, const std::string& stream, const origin::AdmissionRequest& first) {
  core::Loop* here = core::Loop::current();
  core::Loop& loop = here ? *here : origin_.loops().at(0);
  // LoopCheck admitted the chain (well-formed, without this node).
  std::string via = via_with(first.param(kViaParam), node_id_);
  auto start = [this, app, stream, via = std::move(via), &loop] {
    auto* p = new UpstreamPull(*this, loop, app, stream, via);
    {
      std::lock_guard<std::mutex> lk(mu_);
      pulls_[p->key()] = p;
    }
    pulls_started_++;
    p->start();  // may end (and free) the pull before returning
  };
  if (here) return start();
  if (!loop.post(start)) origin_.sources().release(app, stream, "the server is stopping");
}

void EdgePuller::pull_ended(UpstreamPull* p, const std::string& failure) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = pulls_.find(p->key());
    if (it != pulls_.end() && it->second == p) pulls_.erase(it);
  }
  if (!failure.empty()) pulls_failed_++;
  const std::string& key = p->key();
  const size_t slash = key.find('/');
  origin_.sources().release(std::string_view(key).substr(0, slash), std::string_view(key).substr(slash + 1), failure);
}

void EdgePuller::stop_all() {
  std::vector<std::pair<core::Loop*, std::string>> open;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& [key, p] : pulls_) open.emplace_back(&p->loop(), key);
  }
  for (auto& [loop, key] : open) {
    (void)loop->post([this, key = key] {
      UpstreamPull* p = nullptr;
      {
        std::lock_guard<std::mutex> lk(mu_);
        auto it = pulls_.find(key);
        if (it != pulls_.end()) p = it->second;
      }
      if (p) p->stop("server shutting down");
    });
  }
  for (int i = 0; i < 300; ++i) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (pulls_.empty()) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& [key, p] : pulls_) spdlog::warn("edge {}: did not stop within 3 s", key);
}

void EdgePuller::write_metrics(std::string& out) const {
  size_t open = 0;
  {
    std::lock_guard<std::mutex> lk(mu_);
    open = pulls_.size();
  }
  out += fmt::format(
      "# HELP weir_edge_pulls Streams the edge pulls from an origin now.\n# TYPE weir_edge_pulls gauge\n"
      "weir_edge_pulls {}\n"
      "# HELP weir_edge_pulls_started_total Pulls started (one per stream wanted while not pulled).\n"
      "# TYPE weir_edge_pulls_started_total counter\nweir_edge_pulls_started_total {}\n"
      "# HELP weir_edge_pulls_failed_total Pulls that gave up: every origin failed before the stream started.\n"
      "# TYPE weir_edge_pulls_failed_total counter\nweir_edge_pulls_failed_total {}\n"
      "# HELP weir_edge_failovers_total Pulls that lost their origin and resumed from another.\n"
      "# TYPE weir_edge_failovers_total counter\nweir_edge_failovers_total {}\n",
      open, pulls_started_.load(), pulls_failed_.load(), failovers_total.load());
  health_.write_metrics(out);
}

}  // namespace weir::edge
