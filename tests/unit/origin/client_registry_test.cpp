#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/io_counters.h"
#include "core/loop.h"
#include "origin/admission.h"
#include "origin/client_registry.h"
#include "origin/origin.h"
#include "origin/stream_blocks.h"
#include "../test_loop.h"

using namespace weir;
using namespace weir::origin;

namespace {

ClientRegistry::Registration reg(AccessProtocol p, ClientRole r, std::string app, std::string stream, std::string remote) {
  return {p, r, std::move(app), std::move(stream), std::move(remote)};
}

}  // namespace

TEST_CASE("client registry: filters, paging in id order, bytes, events") {
  test::TestLoop tl;
  ClientRegistry clients;
  std::vector<std::pair<std::string, ClientEvent>> events;  // loop thread only
  clients.set_event_hook([&](const char* type, const ClientEvent& e) { events.emplace_back(type, e); });
  core::IoCounters io;
  std::vector<ClientRegistry::Handle> handles;
  tl.run([&] {
    handles.push_back(clients.add(tl.loop(), reg(AccessProtocol::kRtmp, ClientRole::kPublish, "live", "a", "127.0.0.1:1000"), &io, nullptr));
    handles.push_back(clients.add(tl.loop(), reg(AccessProtocol::kRtmp, ClientRole::kPlay, "live", "a", "127.0.0.2:1001"), nullptr, nullptr));
    handles.push_back(clients.add(tl.loop(), reg(AccessProtocol::kSrt, ClientRole::kPlay, "live", "b", "[::1]:1002"), nullptr, nullptr));
    handles.push_back(clients.add(tl.loop(), reg(AccessProtocol::kHttpFlv, ClientRole::kPlay, "other", "a", "127.0.0.2:1003"), nullptr, nullptr));
    handles.push_back(clients.add(tl.loop(), reg(AccessProtocol::kWsFlv, ClientRole::kPlay, "live", "a", "127.0.0.1:1004"), nullptr, nullptr));
    io.add_in(1000);
    io.add_out(10);
  });
  REQUIRE(clients.size() == 5);

  // Ids: URL-safe, unique, increasing in registration order.
  std::vector<std::string> ids;
  for (auto& h : handles) ids.push_back(h.id());
  for (size_t i = 0; i < ids.size(); ++i) {
    CHECK(ids[i].size() <= 64);
    CHECK(ids[i].find_first_not_of("0123456789abcdef") == std::string::npos);
    if (i) CHECK(ids[i - 1] < ids[i]);
  }

  auto all = clients.list({}, "", 100);
  REQUIRE(all.items.size() == 5);
  CHECK_FALSE(all.more);
  CHECK(all.items[0].bytes_in == 1000);
  CHECK(all.items[0].bytes_out == 10);
  CHECK(all.items[0].started_at_ms > 0);
  CHECK(all.items[1].bytes_in == 0);

  auto ids_of = [](const ClientRegistry::Page& p) {
    std::vector<std::string> out;
    for (const auto& c : p.items) out.push_back(c.id);
    return out;
  };
  CHECK(ids_of(clients.list({"live", "", "", "", ""}, "", 100)) == std::vector<std::string>{ids[0], ids[1], ids[2], ids[4]});
  CHECK(ids_of(clients.list({"", "a", "", "", ""}, "", 100)) == std::vector<std::string>{ids[0], ids[1], ids[3], ids[4]});
  CHECK(ids_of(clients.list({"", "", "rtmp", "", ""}, "", 100)) == std::vector<std::string>{ids[0], ids[1]});
  CHECK(ids_of(clients.list({"", "", "", "publish", ""}, "", 100)) == std::vector<std::string>{ids[0]});
  CHECK(ids_of(clients.list({"", "", "", "", "127.0.0.2"}, "", 100)) == std::vector<std::string>{ids[1], ids[3]});
  CHECK(ids_of(clients.list({"", "", "", "", "::1"}, "", 100)) == std::vector<std::string>{ids[2]});
  CHECK(ids_of(clients.list({"live", "a", "ws-flv", "play", "127.0.0.1"}, "", 100)) == std::vector<std::string>{ids[4]});

  // limit 2 walks through all of them with the last id as the cursor.
  std::vector<std::string> walked;
  std::string after;
  for (int pages = 0; pages < 10; ++pages) {
    auto p = clients.list({}, after, 2);
    for (auto& id : ids_of(p)) walked.push_back(id);
    if (!p.more) break;
    after = p.items.back().id;
  }
  CHECK(walked == ids);
  // A filtered walk: "more" is only set when a later client matches.
  auto p = clients.list({"", "", "", "play", ""}, "", 3);
  CHECK(ids_of(p) == std::vector<std::string>{ids[1], ids[2], ids[3]});
  CHECK(p.more);
  p = clients.list({"", "", "", "play", ""}, ids[3], 3);
  CHECK(ids_of(p) == std::vector<std::string>{ids[4]});
  CHECK_FALSE(p.more);

  auto counts = clients.counts();
  CHECK(counts[size_t(AccessProtocol::kRtmp) * 2] == 1);
  CHECK(counts[size_t(AccessProtocol::kRtmp) * 2 + 1] == 1);
  CHECK(counts[size_t(AccessProtocol::kSrt) * 2 + 1] == 1);

  // find, then end: gone from the list, a disconnected event with the final bytes.
  REQUIRE(clients.find(ids[0]));
  CHECK(clients.find(ids[0])->app == "live");
  CHECK_FALSE(clients.find("nope"));
  tl.run([&] {
    io.add_in(24);
    handles[0].end("peer closed");
    handles[0].end("again");  // idempotent
    handles.clear();          // the others end with "closed"
  });
  CHECK(clients.size() == 0);
  CHECK_FALSE(clients.find(ids[0]));
  for (uint64_t n : clients.counts()) CHECK(n == 0);
  tl.run([&] {
    REQUIRE(events.size() == 10);
    CHECK(events[0].first == "client.connected");
    CHECK(events[0].second.client.id == ids[0]);
    CHECK(events[5].first == "client.disconnected");
    CHECK(events[5].second.client.id == ids[0]);
    CHECK(events[5].second.reason == "peer closed");
    CHECK(events[5].second.client.bytes_in == 1024);
    CHECK(events[5].second.duration_ms >= 0);
    CHECK(events[9].second.reason == "closed");
  });
}

TEST_CASE("client registry: close runs the callback on the client's loop, never after the client ended") {
  test::TestLoop tl;
  ClientRegistry clients;
  std::atomic<int> closed{0};
  std::string why;  // loop thread
  ClientRegistry::Handle h;
  ClientRegistry::Handle gone;
  tl.run([&] {
    h = clients.add(tl.loop(), reg(AccessProtocol::kRtmp, ClientRole::kPlay, "live", "s", "127.0.0.1:1"), nullptr,
                    [&](const std::string& w) {
                      CHECK(tl.loop().on_loop_thread());
                      why = w;
                      closed++;
                      h.end(w);  // as a session's close() does
                    });
    gone = clients.add(tl.loop(), reg(AccessProtocol::kRtmp, ClientRole::kPlay, "live", "s", "127.0.0.1:2"), nullptr,
                       [&](const std::string&) { FAIL("closed after it ended"); });
  });
  const std::string gone_id = gone.id();
  tl.run([&] {
    // Posted now; the client ends before the task runs (same loop, later task).
    CHECK(clients.close(gone_id, "x") == ClientRegistry::CloseResult::kPosted);
    gone.end("left by itself");
  });
  CHECK(clients.close(h.id(), "closed by the API") == ClientRegistry::CloseResult::kPosted);
  CHECK(test::wait_until([&] { return closed.load() == 1; }));
  tl.run([&] { CHECK(why == "closed by the API"); });
  CHECK(clients.size() == 0);
  CHECK(clients.close(gone_id, "x") == ClientRegistry::CloseResult::kNotFound);
}

TEST_CASE("client registry: concurrent register and unregister on two loops while listing") {
  core::LoopGroup loops(2);
  loops.start([](core::Loop&) {});
  {
    ClientRegistry clients;
    std::atomic<int> connected{0}, disconnected{0};
    clients.set_event_hook([&](const char* type, const ClientEvent&) {
      (std::string(type) == "client.connected" ? connected : disconnected)++;
    });
    constexpr int kRounds = 2000;
    std::vector<std::promise<void>> done(2);
    for (int l = 0; l < 2; ++l) {
      core::Loop& loop = loops.at(size_t(l));
      // Each round is its own task, so listings interleave with them.
      auto handles = std::make_shared<std::vector<ClientRegistry::Handle>>();
      for (int i = 0; i < kRounds; ++i) {
        REQUIRE(loop.post([&clients, &loop, handles, i, &done, l] {
          handles->push_back(clients.add(loop, reg(AccessProtocol::kSrt, ClientRole::kPlay, "live", std::to_string(i),
                                                   "10.0.0." + std::to_string(l) + ":5"),
                                         nullptr, nullptr));
          if (handles->size() > 8) handles->erase(handles->begin());  // 9 live per loop at most (before the erase)
          if (i == kRounds - 1) {
            handles->clear();
            done[size_t(l)].set_value();
          }
        }));
      }
    }
    size_t listings = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (auto& d : done) {
      auto f = d.get_future();
      while (f.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        auto page = clients.list({}, "", 1000);
        CHECK(page.items.size() <= 18);
        std::set<std::string> ids;
        for (const auto& c : page.items) CHECK(ids.insert(c.id).second);
        ++listings;
      }
    }
    CHECK(listings > 0);
    CHECK(clients.size() == 0);
    CHECK(connected.load() == 2 * kRounds);
    CHECK(disconnected.load() == 2 * kRounds);
  }
  loops.stop();
}

TEST_CASE("stream blocks: the admission check refuses blocked publishes until the time passes") {
  StreamBlocks blocks;
  const int64_t now = core::wall_clock_ms();
  CHECK_FALSE(blocks.blocked_until("live", "s", now));
  REQUIRE(blocks.block("live", "s", now + 60000));
  CHECK(blocks.blocked_until("live", "s", now) == now + 60000);
  CHECK_FALSE(blocks.blocked_until("live", "s", now + 60000));  // expired at its time
  CHECK_FALSE(blocks.blocked_until("live", "t", now));

  auto check = make_stream_block_check(blocks);
  AdmissionRequest req;
  req.direction = Direction::kPublish;
  req.app = "live";
  req.stream = "s";
  auto d = check->check_now(req);
  REQUIRE(d);
  CHECK(d->refusal == Refusal::kForbidden);
  CHECK(d->reason.rfind("blocked by the operator until 20", 0) == 0);
  req.direction = Direction::kPlay;  // plays go on
  CHECK(check->check_now(req)->allowed());
  req.direction = Direction::kPublish;
  req.stream = "t";
  CHECK(check->check_now(req)->allowed());

  // block_s=0 lifts it; expired blocks are dropped on the next block().
  REQUIRE(blocks.block("live", "s", now));
  req.stream = "s";
  CHECK(check->check_now(req)->allowed());
  REQUIRE(blocks.block("live", "u", now + 1000));
  CHECK(blocks.size() == 1);
}

TEST_CASE("stream blocks: the table is bounded") {
  StreamBlocks blocks;
  const int64_t later = core::wall_clock_ms() + 600000;
  for (size_t i = 0; i < StreamBlocks::kMaxBlocks; ++i) REQUIRE(blocks.block("live", std::to_string(i), later));
  CHECK_FALSE(blocks.block("live", "one-more", later));
  CHECK(blocks.block("live", "7", later + 1));  // an existing block is still updated
}

TEST_CASE("the origin refuses a blocked publish in its admission chain") {
  core::Config cfg;
  cfg.apps["live"] = core::AppConfig{};
  core::LoopGroup loops(1);
  Origin origin(cfg, loops);
  AdmissionRequest req;
  req.direction = Direction::kPublish;
  req.protocol = AccessProtocol::kSrt;
  req.app = "live";
  req.stream = "s";
  req.client = "127.0.0.1:5";
  CHECK(origin.admission().check_now(req).decision.allowed());
  REQUIRE(origin.blocks().block("live", "s", core::wall_clock_ms() + 60000));
  auto p = origin.admission().check_now(req);
  CHECK(p.decision.refusal == Refusal::kForbidden);
  CHECK(p.decision.check == "operator-block");
}
