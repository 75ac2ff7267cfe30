#include "server/reloader.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>

#include <spdlog/spdlog.h>

#include "core/config_diff.h"
#include "origin/origin.h"

namespace weir::server {

namespace {

constexpr int64_t kBarrierWaitMs = 2000;

}  // namespace

void Reloader::keep_restart_only(core::Config& next, const core::Config& running) {
  next.workers = running.workers;
  next.log.format = running.log.format;
  next.rtmp.chunk_size = running.rtmp.chunk_size;
  next.srt = running.srt;
  next.storage = running.storage;
  next.snapshot = running.snapshot;
  next.events.max_queued = running.events.max_queued;
  next.events.max_attempts = running.events.max_attempts;
  next.events.timeout_ms = running.events.timeout_ms;
  next.limits.ingest_buffer_bytes = running.limits.ingest_buffer_bytes;
  next.cluster.node_id = running.cluster.node_id;
  next.cluster.redis = running.cluster.redis;
  next.transcode.threads = running.transcode.threads;
  next.transcode.max_queued_packets = running.transcode.max_queued_packets;
}

namespace {

// "config FILE: apps.live.hls.segment_ms (line 7): must be ..." -> the key.
std::string first_key(const std::string& message) {
  size_t at = message.find(": ");
  if (at == std::string::npos) return {};
  at += 2;
  size_t end = at;
  while (end < message.size() && (std::isalnum(static_cast<unsigned char>(message[end])) || message[end] == '_' ||
                                  message[end] == '.' || message[end] == '*' || message[end] == '-'))
    ++end;
  if (end == at || message.find('.', at) >= end) return {};
  return message.substr(at, end - at);
}

}  // namespace

const std::vector<std::string> Reloader::kRestartOnly = {
    "workers", "log.format", "rtmp.chunk_size", "srt", "storage", "snapshot", "events.max_queued", "events.max_attempts",
    "events.timeout_ms", "limits.ingest_buffer_bytes", "cluster.node_id", "cluster.redis",
    "transcode.threads", "transcode.max_queued_packets"};

nlohmann::json ReloadOutcome::to_json() const {
  return {{"result", ok ? "ok" : "refused"}, {"generation", generation},      {"changed", changed},
          {"restart_required", restart_required}, {"restarted", restarted}, {"warnings", warnings},
          {"listeners", listeners}};
}

Reloader::Reloader(std::string path, char** env, origin::Origin& origin, ListenerSet& listeners)
    : path_(std::move(path)), env_(env), origin_(origin), listeners_(listeners), main_thread_(pthread_self()) {}

ReloadOutcome Reloader::reload(const std::string& why) {
  ReloadOutcome o;
  core::ConfigStore& store = origin_.config_store();
  const std::shared_ptr<const core::Config> running = store.current();
  o.generation = store.generation();
  auto loaded = core::load_config_file(path_, env_);
  if (!loaded) {
    o.error = loaded.error();
    o.field = first_key(o.error);
  } else {
    core::Config next = std::move(*loaded);
    o.changed = core::changed_keys(*running, next);
    for (const auto& key : o.changed)
      for (const auto& prefix : kRestartOnly)
        if (core::key_under(key, prefix) || core::key_under(prefix, key)) {
          o.restart_required.push_back(key);
          break;
        }
    keep_restart_only(next, *running);
    auto shared = std::make_shared<const core::Config>(std::move(next));
    auto plan = listeners_.prepare(shared);
    if (!plan) {
      o.error = plan.error();
      o.field = first_key("x: " + o.error);
    } else {
      o.ok = true;
      o.restarted = plan->changing();
      if (o.changed.size() > o.restart_required.size()) {
        o.generation = store.install(shared);
        origin_.config_installed(*shared);
        if (shared->log.level != running->log.level)
          spdlog::set_level(spdlog::level::from_str(shared->log.level));
      }
      o.warnings = listeners_.apply(std::move(*plan));
      // Loop code holds config() references only until it returns to its
      // loop: once every loop has passed this point, a retired generation
      // nobody keeps can go.
      if (barrier()) store.release_retired();
    }
  }
  for (int k = 0; k < ListenerSet::kKinds; ++k) {
    std::string b = listeners_.bound(ListenerSet::Kind(k));
    if (!b.empty()) o.listeners[ListenerSet::key_of(ListenerSet::Kind(k))] = std::move(b);
  }
  if (o.ok) {
    spdlog::info("reload ({}): ok, config generation {}; changed: [{}]; listeners restarted: [{}]{}{}", why,
                 o.generation, fmt::join(o.changed, ", "), fmt::join(o.restarted, ", "),
                 o.restart_required.empty() ? "" : "; kept until a restart: ",
                 fmt::join(o.restart_required, ", "));
    for (const auto& w : o.warnings) spdlog::warn("reload ({}): {}", why, w);
  } else {
    spdlog::error("reload ({}) refused, the running config stays: {}", why, o.error);
  }
  if (observer_) observer_(o);
  return o;
}

bool Reloader::barrier() {
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    size_t done = 0;
  };
  auto shared = std::make_shared<Shared>();
  core::LoopGroup& loops = origin_.loops();
  size_t posted = 0;
  for (size_t i = 0; i < loops.size(); ++i) {
    if (loops.at(i).post([shared] {
          std::lock_guard<std::mutex> lk(shared->mu);
          ++shared->done;
          shared->cv.notify_all();
        }))
      ++posted;
  }
  if (posted != loops.size()) return false;
  std::unique_lock<std::mutex> lk(shared->mu);
  return shared->cv.wait_for(lk, std::chrono::milliseconds(kBarrierWaitMs), [&] { return shared->done == posted; });
}

bool Reloader::request(core::Loop& loop, Done done) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (closed_ || waiting_.size() >= kMaxWaiting) return false;
    waiting_.push_back({&loop, std::move(done)});
  }
  // main() sigwait()s for SIGHUP (blocked in every thread) and calls serve_requests().
  pthread_kill(main_thread_, SIGHUP);
  return true;
}

bool Reloader::serve_requests() {
  std::vector<Waiting> waiting;
  {
    std::lock_guard<std::mutex> lk(mu_);
    waiting.swap(waiting_);
  }
  if (waiting.empty()) return false;
  answer(std::move(waiting), reload("api"));
  return true;
}

void Reloader::close(const std::string& why) {
  std::vector<Waiting> waiting;
  {
    std::lock_guard<std::mutex> lk(mu_);
    closed_ = true;
    waiting.swap(waiting_);
  }
  ReloadOutcome o;
  o.stopping = true;
  o.error = why;
  answer(std::move(waiting), o);
}

void Reloader::answer(std::vector<Waiting> waiting, const ReloadOutcome& o) {
  for (auto& w : waiting) {
    auto done = std::make_shared<Done>(std::move(w.done));
    if (!w.loop->post([done, o] { (*done)(o); }))
      spdlog::warn("reload: loop {} refused the answer to a waiting API request (its queue is full)", w.loop->index());
  }
}

}  // namespace weir::server
