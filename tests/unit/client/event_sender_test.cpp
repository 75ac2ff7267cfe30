// EventSender: the signature receivers verify, and the bounded queue of a
// receiver that is down (drop-oldest overflow, counted; retries counted).
#include "client/event_sender.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "core/loop.h"

using namespace weir;

TEST_CASE("event signature: t=UNIX,v1=HMAC-SHA256(secret, t.body)") {
  // Python: hmac.new(b"whsec", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
  CHECK(client::EventSender::signature("whsec", 1700000000, R"({"a":1})") ==
        "t=1700000000,v1=8ad37ba156048ae0e0a5533c75cdf26fee88b07f93cb57ee4c80adb053012032");
}

TEST_CASE("a receiver that is down: retried with backoff, its queue capped by dropping the oldest") {
  core::LoopGroup loops(1);
  loops.start([](core::Loop&) {});
  {
    client::EventSender::Options o;
    o.max_queued = 3;
    o.max_attempts = 100;
    o.backoff_ms = 20;
    o.max_backoff_ms = 20;
    o.timeout_ms = 1000;
    // Port 1 on loopback: connection refused at once.
    client::EventSender ev(loops.at(0), {{"http://127.0.0.1:1/hook", "s", ""}}, o);
    for (int i = 0; i < 10; ++i) ev.emit("test.event", "{\"i\":" + std::to_string(i) + "}");
    for (int i = 0; i < 500 && ev.stats().retries.load() < 3; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(ev.stats().emitted == 10);
    CHECK(ev.stats().dropped == 7);
    CHECK(ev.stats().retries >= 3);
    CHECK(ev.stats().delivered == 0);
    loops.stop();
  }
}
