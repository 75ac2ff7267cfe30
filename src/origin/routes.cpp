#include "origin/routes.h"

#include <atomic>
#include <mutex>

#include "core/tcp_conn.h"
#include "core/timer.h"
#include "origin/http_play.h"
#include "origin/hls/hls_service.h"
#include "origin/metrics_text.h"
#include "origin/origin.h"
#include "origin/stream_hub.h"

namespace weir::origin {

namespace {

constexpr uint64_t kHealthTimeoutMs = 1000;

// /healthz: every loop must run a posted task within a second.
void handle_health(Origin& origin, http::ExchangeRef ex) {
  struct Probe {
    http::ExchangeRef ex;
    core::Loop* home;
    std::mutex mu;
    std::vector<bool> answered;
    size_t remaining;
    bool done = false;
    core::Timer timer;
    Probe(http::ExchangeRef e, core::Loop& h, size_t n) : ex(std::move(e)), home(&h), answered(n), remaining(n), timer(h) {}
  };
  core::Loop& home = *core::Loop::current();
  size_t n = origin.loops().size();
  auto probe = std::make_shared<Probe>(ex, home, n);
  auto finish = [](const std::shared_ptr<Probe>& p, bool ok) {
    if (p->done) return;
    p->done = true;
    p->timer.stop();
    if (!p->ex->alive()) return;
    if (ok) {
      p->ex->respond(200, {{"Content-Type", "text/plain"}, {"Cache-Control", "no-store"}}, "ok\n");
      return;
    }
    std::string stuck;
    std::lock_guard<std::mutex> lk(p->mu);
    for (size_t i = 0; i < p->answered.size(); ++i)
      if (!p->answered[i]) stuck += (stuck.empty() ? "" : ",") + std::to_string(i);
    p->ex->respond(503, {{"Content-Type", "text/plain"}, {"Cache-Control", "no-store"}},
                   "loops not answering: " + stuck + "\n");
  };
  probe->timer.start(kHealthTimeoutMs, [probe, finish] { finish(probe, false); });
  for (size_t i = 0; i < n; ++i) {
    bool posted = origin.loops().at(i).post([probe, i, finish] {
      bool all = false;
      {
        std::lock_guard<std::mutex> lk(probe->mu);
        probe->answered[i] = true;
        all = --probe->remaining == 0;
      }
      // Refused (the home loop is stopping or swamped): the probe's timer
      // answers 503, which is the truth.
      if (all) (void)probe->home->post([probe, finish] { finish(probe, true); });
    });
    if (!posted) return finish(probe, false);
  }
}

}  // namespace

std::shared_ptr<http::Router> build_routes(Origin& origin) {
  auto r = std::make_shared<http::Router>();
  Origin* o = &origin;
  r->add("GET", "/healthz", [o](http::ExchangeRef ex) { handle_health(*o, std::move(ex)); });
  r->add("GET", "/metrics", [o](http::ExchangeRef ex) {
    ex->respond(200, {{"Content-Type", "text/plain; version=0.0.4"}, {"Cache-Control", "no-store"}},
                metrics_text(*o));
  });
  r->add("GET", "/{app}/{stream}.flv", [o](http::ExchangeRef ex) { handle_flv_request(*o, std::move(ex)); });
  r->add("GET", "/{app}/{stream}.ts", [o](http::ExchangeRef ex) { handle_ts_request(*o, std::move(ex)); });
  origin.hls().add_routes(*r);
  return r;
}

}  // namespace weir::origin
