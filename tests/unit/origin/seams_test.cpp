// The origin's seams with running loops: HubPublisher (publish, automatic
// flush, kick, end), stream observers, Admission (synchronous and
// asynchronous checks, cancellation) and PlayRequest (wait, cancel, a request
// destroyed while its wake-up is queued).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "core/loop.h"
#include "core/timer.h"
#include "origin/consumer_handle.h"
#include "origin/hub_publisher.h"
#include "origin/origin.h"
#include "origin/play_request.h"
#include "origin/stream_hub.h"
#include "test_packets.h"

using namespace weir;
using namespace weir::origin;
using namespace std::chrono_literals;
using test::audio;
using test::video;

namespace {

// An Origin on two running loops.
struct LiveOrigin {
  core::Config cfg;
  core::LoopGroup loops{2};
  std::unique_ptr<Origin> origin;
  explicit LiveOrigin(int64_t grace_ms = 5000, int64_t wait_ms = 0, std::function<void(Origin&)> setup = nullptr,
                      bool takeover = false) {
    core::AppConfig app;
    app.allow_takeover = takeover;
    app.reconnect_grace_ms = grace_ms;
    app.play_wait_ms = wait_ms;
    app.hls.enabled = false;
    cfg.apps["live"] = app;
    origin = std::make_unique<Origin>(cfg, loops);
    if (setup) setup(*origin);
    loops.start([this](core::Loop& l) { origin->at(l.index()).start(); });
  }
  ~LiveOrigin() {
    origin->registry().end_all("test over");
    loops.stop();
  }
  // Runs fn on loop i and waits for it.
  template <class F>
  auto on(size_t i, F fn) {
    std::promise<decltype(fn())> p;
    auto f = p.get_future();
    REQUIRE(loops.at(i).post([&] {
      if constexpr (std::is_void_v<decltype(fn())>) {
        fn();
        p.set_value();
      } else {
        p.set_value(fn());
      }
    }));
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    return f.get();
  }
};

AdmissionRequest request(Direction d, std::string stream = "s") {
  AdmissionRequest r;
  r.direction = d;
  r.protocol = AccessProtocol::kRtmp;
  r.app = "live";
  r.stream = std::move(stream);
  r.client = "127.0.0.1:5000";
  return r;
}

// A viewer on one loop that counts what it reads.
struct Counter : Consumer {
  ConsumerHandle h{*this};
  std::atomic<int> packets{0};
  std::atomic<bool> ended{false};
  std::atomic<int> packets_at_end{-1};
  void on_packets() override {
    std::vector<PacketRef> out;
    while (h.read(out, 1 << 20) == ReadResult::kOk) {
      packets += int(out.size());
      out.clear();
    }
  }
  void on_stream_end(const std::string&) override {
    packets_at_end = packets.load();
    ended = true;
  }
};

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 3000ms) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

}  // namespace

TEST_CASE("HubPublisher: packets reach another loop's viewer without an explicit flush") {
  LiveOrigin o;
  std::unique_ptr<HubPublisher> pub;
  Counter viewer;
  o.on(0, [&] {
    pub = std::make_unique<HubPublisher>(*o.origin, o.loops.at(0), HubPublisher::Source{"test", "peer"}, nullptr);
    REQUIRE(pub->start_admitted("live", "s").hub);
    pub->publish(video(0, true));
  });
  o.on(1, [&] {
    REQUIRE(viewer.h.attach(o.origin->registry().find("live", "s"), {}));
    viewer.on_packets();
  });
  CHECK(viewer.packets == 1);
  // No flush() call: the loop flushes once this iteration's callbacks are done.
  o.on(0, [&] {
    for (int i = 1; i < 10; ++i) pub->publish(audio(i * 20));
  });
  CHECK(eventually([&] { return viewer.packets == 10; }));
  CHECK(o.origin->metrics().publishers_open == 1);
  o.on(0, [&] { pub.reset(); });  // destroying it ends the publish: the stream enters its grace
  CHECK(o.origin->registry().find("live", "s")->state() == StreamHub::State::kGrace);
  CHECK(o.origin->metrics().publishers_open == 0);
  o.on(1, [&] { viewer.h.release(); });
}

TEST_CASE("HubPublisher: a takeover kicks the old publisher on its own loop") {
  LiveOrigin o(5000, 0, nullptr, /*takeover=*/true);
  std::unique_ptr<HubPublisher> a, b;
  std::atomic<int> kicked_on{-1};
  std::string why;
  o.on(0, [&] {
    a = std::make_unique<HubPublisher>(*o.origin, o.loops.at(0), HubPublisher::Source{"test", "a"},
                                       [&](const std::string& w) {
                                         kicked_on = core::Loop::current()->index();
                                         why = w;
                                         a.reset();  // the callback may destroy its publisher
                                       });
    REQUIRE(a->start_admitted("live", "s").hub);
  });
  o.on(1, [&] {
    b = std::make_unique<HubPublisher>(*o.origin, o.loops.at(1), HubPublisher::Source{"test", "b"}, nullptr);
    auto r = b->start_admitted("live", "s");
    REQUIRE(r.hub);
    CHECK_FALSE(r.created);
  });
  CHECK(eventually([&] { return kicked_on == 0; }));
  CHECK_THAT(why, Catch::Contains("taken over"));
  o.on(1, [&] { b.reset(); });
}

TEST_CASE("HubPublisher: ending a publish off its loop still runs the grace timer on that loop") {
  LiveOrigin o(/*grace_ms=*/150);
  std::shared_ptr<StreamHub> hub;
  PublisherRef handle;
  o.on(0, [&] {
    handle = std::make_shared<PublisherHandle>();
    handle->loop = &o.loops.at(0);
    auto r = o.origin->registry().publish("live", "s", handle);
    hub = r.hub;
  });
  REQUIRE(hub);
  hub->end_publish(handle, "ended from the main thread");  // not a loop thread
  CHECK(hub->state() == StreamHub::State::kGrace);
  CHECK(eventually([&] { return hub->state() == StreamHub::State::kEnded; }));
  // The registry drops the hub right after the state flips, on the same loop task.
  CHECK(eventually([&] { return o.origin->registry().find("live", "s") == nullptr; }));
}

TEST_CASE("observers are told published, config, lost, resumed and ended, in order") {
  struct Log : StreamObserver {
    std::mutex mu;
    std::vector<std::string> events;
    void add(std::string e) {
      std::lock_guard<std::mutex> lk(mu);
      events.push_back(std::move(e));
    }
    void on_stream_published(const std::shared_ptr<StreamHub>& s, const PublishEvent& e) override {
      add("published " + s->key() + " " + e.protocol);
    }
    void on_stream_resumed(const std::shared_ptr<StreamHub>& s, const PublishEvent& e) override {
      add("resumed " + e.peer);
    }
    void on_publisher_lost(const std::shared_ptr<StreamHub>&, const std::string& why) override { add("lost " + why); }
    void on_codec_config(const std::shared_ptr<StreamHub>&, const HubPacket& c) override {
      add(std::string("config ") + (c.media().is_video() ? "video" : "audio"));
    }
    void on_stream_ended(const std::shared_ptr<StreamHub>&, const std::string&) override { add("ended"); }
  } log;
  LiveOrigin o(5000, 0, [&](Origin& origin) { origin.add_observer(&log); });
  std::unique_ptr<HubPublisher> pub;
  o.on(0, [&] {
    pub = std::make_unique<HubPublisher>(*o.origin, o.loops.at(0), HubPublisher::Source{"rtmp", "a"}, nullptr);
    REQUIRE(pub->start_admitted("live", "s").hub);
    pub->publish(video(0, false, 30, true));
    pub->publish(video(0, false, 30, true));  // the same config again: not a change
    pub->publish(audio(0, 2, true));
    pub->publish(video(40, false, 31, true));  // a different one
    pub->end("encoder stopped");
    REQUIRE(pub->start_admitted("live", "s").hub);
  });
  o.origin->registry().find("live", "s")->end("operator");
  std::lock_guard<std::mutex> lk(log.mu);
  CHECK(log.events == std::vector<std::string>{"published live/s rtmp", "config video", "config audio",
                                                "config video", "lost encoder stopped", "resumed a", "ended"});
  o.on(0, [&] { pub.reset(); });
}

namespace {
// Answers after `ms` on the loop, allowing or refusing.
struct SlowCheck : AdmissionCheck {
  bool allow;
  uint64_t ms;
  std::atomic<int> asked{0};
  SlowCheck(bool a, uint64_t m) : allow(a), ms(m) {}
  std::string_view name() const override { return "slow"; }
  std::optional<AdmissionDecision> check_now(const AdmissionRequest&) override { return std::nullopt; }
  void check_later(const AdmissionRequest& req, core::Loop& loop, Done done) override {
    ++asked;
    auto* t = new core::Timer(loop);
    bool a = allow && req.param("token") == "good";
    t->start(ms, [t, a, done] {
      done(a ? AdmissionDecision::allow() : AdmissionDecision::deny(Refusal::kForbidden, "bad token"));
      delete t;
    });
  }
};
}  // namespace

TEST_CASE("admission: built-in checks answer at once with the refusal kind") {
  LiveOrigin o;
  auto ask = [&](AdmissionRequest r) {
    return o.on(0, [&] {
      AdmissionDecision got;
      bool called = false;
      auto t = o.origin->admission().check(r, [&](const AdmissionDecision& d) {
        got = d;
        called = true;
      });
      CHECK(called);  // synchronous: before check() returned
      return got;
    });
  };
  CHECK(ask(request(Direction::kPlay)).allowed());
  auto bad = request(Direction::kPlay, "../x");
  CHECK(ask(bad).refusal == Refusal::kBadRequest);
  auto other = request(Direction::kPublish);
  other.app = "nope";
  auto d = ask(other);
  CHECK(d.refusal == Refusal::kNotFound);
  CHECK(d.check == "stream-name");
  std::unique_ptr<HubPublisher> pub;
  o.on(0, [&] {
    pub = std::make_unique<HubPublisher>(*o.origin, o.loops.at(0), HubPublisher::Source{"test", "a"}, nullptr);
    REQUIRE(pub->start_admitted("live", "s").hub);
  });
  auto twice = ask(request(Direction::kPublish));
  CHECK(twice.refusal == Refusal::kConflict);
  CHECK(o.origin->admission().check_now(request(Direction::kPublish)).decision.refusal == Refusal::kConflict);
  o.on(0, [&] { pub.reset(); });
}

namespace {
// Refuses every request that has a "deny" parameter, at once.
struct ParamCheck : AdmissionCheck {
  std::string name_;
  explicit ParamCheck(std::string n) : name_(std::move(n)) {}
  std::string_view name() const override { return name_; }
  std::optional<AdmissionDecision> check_now(const AdmissionRequest& r) override {
    if (r.param("deny").empty()) return AdmissionDecision::allow();
    return AdmissionDecision::deny(Refusal::kLoopDetected, name_ + " refused it");
  }
};
}  // namespace

TEST_CASE("admission: a request check runs before the stream-state checks, a plain one after them") {
  LiveOrigin o(5000, 0, [](Origin& origin) {
    origin.admission().add(std::make_unique<ParamCheck>("last"));
    origin.admission().add_request_check(std::make_unique<ParamCheck>("request-1"));
    origin.admission().add_request_check(std::make_unique<ParamCheck>("request-2"));
  });
  std::unique_ptr<HubPublisher> pub;
  o.on(0, [&] {
    pub = std::make_unique<HubPublisher>(*o.origin, o.loops.at(0), HubPublisher::Source{"test", "a"}, nullptr);
    REQUIRE(pub->start_admitted("live", "s").hub);
  });
  auto r = request(Direction::kPublish);
  // Live already: the conflict check refuses a plain publish...
  CHECK(o.origin->admission().check_now(r).decision.check == "publish-conflict");
  // ...but a request check that refuses it answers first (in the order added).
  r.params.emplace_back("deny", "1");
  auto d = o.origin->admission().check_now(r).decision;
  CHECK(d.check == "request-1");
  CHECK(d.refusal == Refusal::kLoopDetected);
  // A bad name is still refused before any of them (built-in form checks first).
  auto bad = request(Direction::kPublish, "../x");
  bad.params.emplace_back("deny", "1");
  CHECK(o.origin->admission().check_now(bad).decision.check == "stream-name");
  // A play (no conflict) meets request-1 before the plain check added first.
  auto play = request(Direction::kPlay);
  play.params.emplace_back("deny", "1");
  CHECK(o.origin->admission().check_now(play).decision.check == "request-1");
  o.on(0, [&] { pub.reset(); });
}

TEST_CASE("admission: an asynchronous check holds the request and can be cancelled") {
  SlowCheck* slow = nullptr;
  LiveOrigin o(5000, 0, [&](Origin& origin) {
    auto c = std::make_unique<SlowCheck>(true, 50);
    slow = c.get();
    origin.admission().add(std::move(c));
  });
  std::atomic<int> answers{0};
  std::atomic<bool> allowed{false};
  Admission::Ticket kept, dropped;
  o.on(0, [&] {
    auto good = request(Direction::kPlay);
    good.params.emplace_back("token", "good");
    kept = o.origin->admission().check(good, [&](const AdmissionDecision& d) {
      ++answers;
      allowed = d.allowed();
    });
    auto partial = o.origin->admission().check_now(good);
    CHECK(partial.pending);
    CHECK(partial.next == o.origin->admission().size() - 1);  // after the built-in checks
    dropped = o.origin->admission().check(good, [&](const AdmissionDecision&) { ++answers; });
    dropped.cancel();
  });
  CHECK(eventually([&] { return answers == 1; }));
  std::this_thread::sleep_for(100ms);
  CHECK(answers == 1);  // the cancelled one never answered
  CHECK(allowed);
  CHECK(slow->asked == 2);
  o.on(0, [&] {
    kept = Admission::Ticket();
  });
}

TEST_CASE("HubPublisher: an admission refusal comes back as the publish result") {
  LiveOrigin o(5000, 0, [](Origin& origin) { origin.admission().add(std::make_unique<SlowCheck>(true, 10)); });
  std::promise<HubPublisher::StartResult> got;
  std::unique_ptr<HubPublisher> pub;
  o.on(0, [&] {
    pub = std::make_unique<HubPublisher>(*o.origin, o.loops.at(0), HubPublisher::Source{"test", "a"}, nullptr);
    pub->start(request(Direction::kPublish), [&](const HubPublisher::StartResult& r) { got.set_value(r); });
  });
  auto f = got.get_future();
  REQUIRE(f.wait_for(3s) == std::future_status::ready);
  auto r = f.get();
  CHECK_FALSE(r.hub);
  CHECK(r.refusal == Refusal::kForbidden);
  CHECK(r.reason == "bad token");
  CHECK(o.origin->registry().find("live", "s") == nullptr);
  CHECK(o.origin->metrics().publish_refused_total == 1);
  o.on(0, [&] { pub.reset(); });
}

TEST_CASE("PlayRequest: waits for a publisher, or answers not found after the app's wait") {
  LiveOrigin o(5000, /*wait_ms=*/300);
  std::unique_ptr<PlayRequest> waiting, lonely;
  std::atomic<bool> got_hub{false};
  std::atomic<int> lonely_refusal{-1};
  o.on(1, [&] {
    waiting = std::make_unique<PlayRequest>(*o.origin);
    waiting->start(request(Direction::kPlay), [&](PlayRequest::Outcome out) { got_hub = out.hub != nullptr; });
    lonely = std::make_unique<PlayRequest>(*o.origin);
    lonely->start(request(Direction::kPlay, "never"),
                  [&](PlayRequest::Outcome out) { lonely_refusal = int(out.refusal); });
    CHECK(waiting->pending());
  });
  std::unique_ptr<HubPublisher> pub;
  o.on(0, [&] {
    pub = std::make_unique<HubPublisher>(*o.origin, o.loops.at(0), HubPublisher::Source{"test", "a"}, nullptr);
    REQUIRE(pub->start_admitted("live", "s").hub);
  });
  CHECK(eventually([&] { return got_hub.load(); }));
  CHECK(eventually([&] { return lonely_refusal == int(Refusal::kNotFound); }));
  o.on(1, [&] {
    CHECK_FALSE(waiting->pending());
    waiting.reset();
    lonely.reset();
  });
  o.on(0, [&] { pub.reset(); });
}

TEST_CASE("PlayRequest: destroyed while its wake-up is already queued, it is never called back") {
  // The RTMP session's play-wait once captured `this`: a session freed after
  // the stream's wake-up was posted, but before it ran, was called back.
  // Publishing and destroying in one task on the same loop puts the wake-up
  // in the queue behind that task. (ASan in the sanitizer build turns a
  // call into freed memory into a failure.)
  LiveOrigin o(5000, /*wait_ms=*/5000);
  std::atomic<int> calls{0};
  std::unique_ptr<HubPublisher> pub;
  o.on(0, [&] {
    auto* req = new PlayRequest(*o.origin);
    req->start(request(Direction::kPlay), [&calls, req](PlayRequest::Outcome) {
      ++calls;
      (void)req->pending();  // touches the request: freed memory if it ran after the delete below
    });
    pub = std::make_unique<HubPublisher>(*o.origin, o.loops.at(0), HubPublisher::Source{"test", "a"}, nullptr);
    REQUIRE(pub->start_admitted("live", "s").hub);  // the waiter's wake-up is posted to this loop now
    delete req;
  });
  o.on(0, [] {});  // the queued wake-up has run by now
  CHECK(calls == 0);
  o.on(0, [&] { pub.reset(); });
}

TEST_CASE("a stream ended while a loop refuses tasks still ends that loop's viewers") {
  // StreamHub::end posts the end to each loop with viewers. A loop whose task
  // queue is full refuses; its 500 ms sweep then finds the ended stream and
  // ends its mirror (before, its viewers waited forever and the mirror kept
  // the stream alive).
  LiveOrigin o;
  std::unique_ptr<HubPublisher> pub;
  Counter viewer;
  o.on(0, [&] {
    pub = std::make_unique<HubPublisher>(*o.origin, o.loops.at(0), HubPublisher::Source{"test", "a"}, nullptr);
    REQUIRE(pub->start_admitted("live", "s").hub);
    pub->publish(video(0, true));
  });
  o.on(1, [&] {
    REQUIRE(viewer.h.attach(o.origin->registry().find("live", "s"), {}));
    viewer.on_packets();
  });
  // Block loop 1 and fill its task queue.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  REQUIRE(o.loops.at(1).post([released] { released.wait(); }));
  while (o.loops.at(1).post([] {})) {
  }
  o.origin->registry().find("live", "s")->end("operator");
  release.set_value();
  CHECK(eventually([&] { return viewer.ended.load(); }, 5000ms));
  o.on(0, [&] { pub.reset(); });
}

TEST_CASE("a viewer on another loop reads every packet published before the stream ended") {
  // The publisher's last packets go through loop 1's inbox (its wake-up); the
  // end is a task posted to loop 1 in the same loop-0 task. The end must not
  // overtake the packets: it did in about half the runs (the viewer got none
  // of them), and an SRT edge lost the tail of each stream.
  LiveOrigin o(/*grace_ms=*/0);
  std::unique_ptr<HubPublisher> pub;
  Counter viewer;
  o.on(0, [&] {
    pub = std::make_unique<HubPublisher>(*o.origin, o.loops.at(0), HubPublisher::Source{"test", "a"}, nullptr);
    REQUIRE(pub->start_admitted("live", "s").hub);
    pub->publish(video(0, true));
  });
  o.on(1, [&] {
    REQUIRE(viewer.h.attach(o.origin->registry().find("live", "s"), {}));
    viewer.on_packets();
  });
  REQUIRE(viewer.packets == 1);
  o.on(0, [&] {
    for (int i = 1; i < 50; ++i) pub->publish(i % 2 ? audio(i * 20) : video(i * 20, false));
    pub->flush();
    pub.reset();  // no grace: the stream ends now
  });
  REQUIRE(eventually([&] { return viewer.ended.load(); }, 5000ms));
  CHECK(viewer.packets_at_end == 50);
}
