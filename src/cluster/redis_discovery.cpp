#include "cluster/redis_discovery.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>
#include <vector>

#include "cluster/discovery_keys.h"
#include "core/net.h"
#include "origin/stream_hub.h"

namespace weir::cluster {

namespace {
RedisClient::Options client_options(const core::ClusterRedisConfig& cfg) {
  RedisClient::Options o;
  if (auto hp = core::split_host_port(cfg.address)) {
    o.host = hp->host;
    o.port = hp->port;
  } else {
    o.host = cfg.address;  // checked at load; a bad one fails to resolve (logged)
  }
  o.timeout_ms = uint64_t(cfg.timeout_ms);
  o.max_queued = size_t(cfg.max_queued);
  o.username = cfg.username;
  o.password = cfg.password;
  return o;
}
}  // namespace

RedisDiscovery::RedisDiscovery(core::Loop& loop, const core::ClusterRedisConfig& cfg, std::string advertise_url)
    : loop_(loop),
      cfg_(cfg),
      url_(cfg.advertise ? std::move(advertise_url) : std::string()),
      client_(std::make_unique<RedisClient>(loop, client_options(cfg))),
      refresh_(loop) {}

RedisDiscovery::~RedisDiscovery() = default;

void RedisDiscovery::start() {
  client_->start();
  const uint64_t period = refresh_period_ms(cfg_.ttl_ms);
  if (!url_.empty()) refresh_.start(period, [this] { refresh(); }, period);
  spdlog::info("cluster: discovery through Redis at {} ({}), keys {}<app>/<stream>, ttl {} ms", cfg_.address,
               url_.empty() ? "lookups only" : "advertising " + url_, cfg_.key_prefix, cfg_.ttl_ms);
}

void RedisDiscovery::run(std::function<void()> task) {
  if (core::Loop::current() == &loop_) return task();
  in_flight_++;
  if (!loop_.post([this, task = std::move(task)] {
        in_flight_--;
        task();
      })) {
    in_flight_--;
    posts_refused_++;
  }
}

void RedisDiscovery::advertise(const std::shared_ptr<origin::StreamHub>& s) {
  std::string key = stream_key(cfg_.key_prefix, s->app(), s->name());
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!live_.insert(key).second) return;
  }
  run([this, key] { record(key); });
}

void RedisDiscovery::on_stream_published(const std::shared_ptr<origin::StreamHub>& s, const origin::PublishEvent& e) {
  if (!url_.empty() && e.protocol != "edge") advertise(s);
}

void RedisDiscovery::on_stream_resumed(const std::shared_ptr<origin::StreamHub>& s, const origin::PublishEvent& e) {
  // A local encoder taking over a stream this server pulled makes it ours.
  if (!url_.empty() && e.protocol != "edge") advertise(s);
}

void RedisDiscovery::on_stream_ended(const std::shared_ptr<origin::StreamHub>& s, const std::string&) {
  std::string key = stream_key(cfg_.key_prefix, s->app(), s->name());
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (live_.erase(key) == 0) return;
  }
  run([this, key] {
    client_->command({"EVAL", kDeleteIfOursLua, "1", key, url_}, [this, key](core::Result<RedisReply> r) {
      if (!r) {
        record_errors_++;
        unavailable("deleting " + key + ": " + r.error() + " (it expires after ttl_ms)");
      }
    });
  });
}

void RedisDiscovery::record(const std::string& key) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!live_.count(key)) return;  // ended meanwhile
  }
  client_->command({"SET", key, url_, "PX", std::to_string(cfg_.ttl_ms)}, [this, key](core::Result<RedisReply> r) {
    if (!r) {
      record_errors_++;
      unavailable("recording " + key + ": " + r.error() + " (retried at the next refresh)");
    }
  });
}

void RedisDiscovery::refresh() {
  std::vector<std::string> keys;
  {
    std::lock_guard<std::mutex> lk(mu_);
    keys.assign(live_.begin(), live_.end());
  }
  for (const std::string& k : keys) record(k);
}

void RedisDiscovery::unavailable(const std::string& why) {
  if (auto n = log_limit_.allow(int64_t(uv_now(loop_.uv()))))
    spdlog::warn("cluster: Redis unavailable: {}{}", why,
                 *n > 1 ? fmt::format(" ({} similar lines left out)", *n - 1) : "");
}

void RedisDiscovery::locate(core::Loop& loop, const std::string& app, const std::string& stream,
                            std::function<void(edge::Located)> done) {
  std::string key = stream_key(cfg_.key_prefix, app, stream);
  auto ask = [this, key, &loop, done] {
    client_->command({"GET", key}, [this, key, &loop, done](core::Result<RedisReply> r) {
      edge::Located out;
      if (!r) {
        out.why = r.error();
        unavailable("lookup of " + key + ": " + r.error() + "; the edge uses upstream.urls");
      } else if (r->type == RedisReply::Type::kNil) {
        out.result = edge::Located::Result::kNotFound;
      } else if (r->type == RedisReply::Type::kString && plausible_pull_url(r->str)) {
        out.result = edge::Located::Result::kFound;
        out.url = std::move(r->str);
      } else {
        out.why = "key " + key + " holds no pull URL";
        unavailable(out.why);
      }
      (out.result == edge::Located::Result::kFound      ? found_
       : out.result == edge::Located::Result::kNotFound ? not_found_
                                                        : unavailable_)++;
      if (&loop == &loop_) return done(std::move(out));
      if (!loop.post([done, out] { done(out); })) posts_refused_++;  // the pull's loop is stopping
    });
  };
  if (core::Loop::current() == &loop_) return ask();
  if (!loop_.post(std::move(ask))) {
    posts_refused_++;
    unavailable_++;
    done({edge::Located::Result::kUnavailable, {}, "the discovery loop refused the lookup"});
  }
}

void RedisDiscovery::wait_idle(int64_t ms) {
  for (int64_t waited = 0; waited < ms; waited += 10) {
    if (in_flight_.load() == 0 && client_->stats().waiting.load() == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  spdlog::warn("cluster: {} Redis commands not answered at shutdown (their keys expire after ttl_ms)",
               client_->stats().waiting.load() + in_flight_.load());
}

void RedisDiscovery::write_metrics(std::string& out) const {
  const RedisStats& st = client_->stats();
  size_t live = 0;
  {
    std::lock_guard<std::mutex> lk(mu_);
    live = live_.size();
  }
  auto one = [&out](const char* name, const char* type, const char* help, uint64_t v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, v);
  };
  one("weir_cluster_redis_up", "gauge", "1 while the connection to cluster.redis.address is up.", st.up.load() ? 1 : 0);
  one("weir_cluster_redis_commands_total", "counter", "Commands sent to Redis.", st.commands.load());
  one("weir_cluster_redis_errors_total", "counter",
      "Redis commands that failed: error reply, no answer within timeout_ms, connection lost.", st.errors.load());
  one("weir_cluster_redis_commands_refused_total", "counter",
      "Redis commands not sent: Redis down (backoff) or max_queued waiting.", st.refused.load());
  one("weir_cluster_redis_disconnects_total", "counter",
      "Redis connections lost or not made (each followed by a reconnect with backoff).", st.disconnects.load());
  one("weir_cluster_advertised_streams", "gauge", "Streams published here and recorded in Redis.", live);
  one("weir_cluster_record_errors_total", "counter", "Records (SET) and deletions of stream keys that failed.",
      record_errors_.load());
  one("weir_cluster_posts_refused_total", "counter",
      "Work a loop refused to take (stopping or full): records wait for the refresh, lookups fall back.",
      posts_refused_.load());
  out += fmt::format(
      "# HELP weir_cluster_lookups_total Edge lookups of a stream in Redis, by result.\n"
      "# TYPE weir_cluster_lookups_total counter\n"
      "weir_cluster_lookups_total{{result=\"found\"}} {}\nweir_cluster_lookups_total{{result=\"not_found\"}} {}\n"
      "weir_cluster_lookups_total{{result=\"unavailable\"}} {}\n",
      found_.load(), not_found_.load(), unavailable_.load());
}

}  // namespace weir::cluster
