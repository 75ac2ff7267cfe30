// RedisClient against a real redis-server (Debian's, started by the test on a
// free loopback port) and against a peer that accepts TCP and never answers
// (a listening socket nobody reads: the stand-in for a hung Redis).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/discovery_keys.h"
#include "cluster/redis_client.h"
#include "../test_loop.h"
#include "../test_net.h"

using namespace weir;
using cluster::RedisClient;
using cluster::RedisReply;

namespace {

// redis-server on 127.0.0.1:port, no persistence; killed by the destructor.
class RedisServer {
 public:
  // `extra`: more redis-server arguments (e.g. --requirepass x).
  explicit RedisServer(uint16_t port, std::vector<std::string> extra = {}) : port_(port) {
    REQUIRE(::access("/usr/bin/redis-server", X_OK) == 0);  // Debian's redis-server (tools/dev.sh TEST_PKGS)
    std::vector<std::string> args{"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no", "--loglevel", "warning"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::execv("/usr/bin/redis-server", argv.data());
      ::_exit(127);
    }
    REQUIRE(test::wait_until([&] { return accepting(); }, 10000));
  }
  ~RedisServer() { stop(); }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool accepting() const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port_);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
  }

 private:
  uint16_t port_;
  pid_t pid_ = -1;
};

// Runs one command from the test thread and waits for its answer.
struct Call {
  std::atomic<bool> done{false};
  std::optional<core::Result<RedisReply>> result;
};

std::shared_ptr<Call> call(test::TestLoop& tl, RedisClient& c, std::vector<std::string> argv) {
  auto out = std::make_shared<Call>();
  tl.run([&c, out, argv = std::move(argv)]() mutable {
    c.command(std::move(argv), [out](core::Result<RedisReply> r) {
      out->result.emplace(std::move(r));
      out->done = true;
    });
  });
  return out;
}

core::Result<RedisReply> answer(test::TestLoop& tl, RedisClient& c, std::vector<std::string> argv, int ms = 5000) {
  auto out = call(tl, c, std::move(argv));
  REQUIRE(test::wait_until([&] { return out->done.load(); }, ms));
  return std::move(*out->result);
}

// Options with the connection fields set and no AUTH.
RedisClient::Options options(const char* host, uint16_t port, uint64_t timeout_ms, size_t max_queued) {
  RedisClient::Options o;
  o.host = host;
  o.port = port;
  o.timeout_ms = timeout_ms;
  o.max_queued = max_queued;
  return o;
}

}  // namespace

TEST_CASE("discovery keys, URL checks, refresh period and reconnect backoff") {
  CHECK(cluster::stream_key("weir:", "live", "sa") == "weir:live/sa");
  CHECK(cluster::stream_key("", "a", "b") == "a/b");
  CHECK(cluster::plausible_pull_url("rtmp://10.0.0.5:1935/{app}/{stream}"));
  CHECK(cluster::plausible_pull_url("rtmps://o/{app}/{stream}"));
  CHECK(cluster::plausible_pull_url("http://o:8080/live/s.flv"));
  CHECK_FALSE(cluster::plausible_pull_url(""));
  CHECK_FALSE(cluster::plausible_pull_url("srt://o:1/x"));
  CHECK_FALSE(cluster::plausible_pull_url("rtmp:///{app}/{stream}"));
  CHECK_FALSE(cluster::plausible_pull_url("rtmp://o/{app}/{stream} x"));
  CHECK_FALSE(cluster::plausible_pull_url(std::string("rtmp://o/\n")));
  CHECK_FALSE(cluster::plausible_pull_url("rtmp://o/" + std::string(cluster::kMaxUrlLength, 'a')));
  CHECK(cluster::refresh_period_ms(15000) == 5000);
  CHECK(cluster::refresh_period_ms(3000) == 1000);
  CHECK(cluster::reconnect_delay_ms(0) == 250);
  CHECK(cluster::reconnect_delay_ms(1) == 500);
  CHECK(cluster::reconnect_delay_ms(5) == 8000);
  CHECK(cluster::reconnect_delay_ms(40) == 8000);
}

TEST_CASE("RedisClient: commands against redis-server, compare-and-delete, reconnect after a restart") {
  const uint16_t port = test::free_port();
  auto server = std::make_unique<RedisServer>(port);
  test::TestLoop tl;
  std::unique_ptr<RedisClient> c;
  tl.run([&] {
    c = std::make_unique<RedisClient>(tl.loop(), options("localhost", port, 500, 64));
    c->start();
  });
  // Issued while connecting: waits for the connection.
  auto set = answer(tl, *c, {"SET", "weir:live/sa", "rtmp://a/{app}/{stream}", "PX", "5000"});
  REQUIRE(set.is_ok());
  CHECK(set->type == RedisReply::Type::kStatus);
  CHECK(set->str == "OK");
  CHECK(c->stats().up.load());
  auto get = answer(tl, *c, {"GET", "weir:live/sa"});
  REQUIRE(get.is_ok());
  CHECK(get->type == RedisReply::Type::kString);
  CHECK(get->str == "rtmp://a/{app}/{stream}");
  auto ttl = answer(tl, *c, {"PTTL", "weir:live/sa"});
  REQUIRE(ttl.is_ok());
  CHECK(ttl->type == RedisReply::Type::kInteger);
  CHECK(ttl->integer > 4000);
  CHECK(ttl->integer <= 5000);
  CHECK(answer(tl, *c, {"GET", "weir:live/none"})->type == RedisReply::Type::kNil);

  // Compare-and-delete: another origin's value stays, ours goes.
  auto other = answer(tl, *c, {"EVAL", cluster::kDeleteIfOursLua, "1", "weir:live/sa", "rtmp://b/{app}/{stream}"});
  REQUIRE(other.is_ok());
  CHECK(other->integer == 0);
  CHECK(answer(tl, *c, {"GET", "weir:live/sa"})->type == RedisReply::Type::kString);
  auto ours = answer(tl, *c, {"EVAL", cluster::kDeleteIfOursLua, "1", "weir:live/sa", "rtmp://a/{app}/{stream}"});
  REQUIRE(ours.is_ok());
  CHECK(ours->integer == 1);
  CHECK(answer(tl, *c, {"GET", "weir:live/sa"})->type == RedisReply::Type::kNil);

  // An error reply is an error, the connection stays up.
  auto bad = answer(tl, *c, {"NOSUCHCOMMAND"});
  REQUIRE_FALSE(bad.is_ok());
  CHECK_THAT(bad.error(), Catch::StartsWith("Redis: ERR"));
  CHECK(c->stats().up.load());

  // Redis goes away: the connection is lost, commands are refused at once.
  server->stop();
  REQUIRE(test::wait_until([&] { return !c->stats().up.load(); }, 3000));
  auto t0 = std::chrono::steady_clock::now();
  auto down = answer(tl, *c, {"GET", "weir:live/sa"});
  REQUIRE_FALSE(down.is_ok());
  CHECK_THAT(down.error(), Catch::Contains("Redis unavailable"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(600));
  CHECK(c->stats().refused.load() + c->stats().errors.load() >= 1);

  // Back on the same port: the client reconnects by itself (backoff <= 8 s).
  server = std::make_unique<RedisServer>(port);
  REQUIRE(test::wait_until([&] { return c->stats().up.load(); }, 10000));
  CHECK(answer(tl, *c, {"SET", "k", "v"}).is_ok());
  CHECK(c->stats().disconnects.load() >= 1);
  tl.run([&] { c.reset(); });
}

TEST_CASE("RedisClient: AUTH with a password (requirepass) and with an ACL user; a wrong one never goes up") {
  const uint16_t port = test::free_port();
  RedisServer server(port, {"--requirepass", "s3cret pass"});
  test::TestLoop tl;
  std::unique_ptr<RedisClient> good, acl, wrong, none;
  tl.run([&] {
    RedisClient::Options o = options("127.0.0.1", port, 500, 64);
    o.password = "s3cret pass";
    good = std::make_unique<RedisClient>(tl.loop(), o);
    o.username = "default";  // Redis 6: AUTH default <requirepass>
    acl = std::make_unique<RedisClient>(tl.loop(), o);
    o.username.clear();
    o.password = "wrong";
    wrong = std::make_unique<RedisClient>(tl.loop(), o);
    none = std::make_unique<RedisClient>(tl.loop(), options("127.0.0.1", port, 500, 64));
    for (auto* c : {good.get(), acl.get(), wrong.get(), none.get()}) c->start();
  });
  // Issued while connecting and authenticating: waits for both.
  auto set = answer(tl, *good, {"SET", "weir:live/auth", "v"});
  REQUIRE(set.is_ok());
  CHECK(set->str == "OK");
  CHECK(good->stats().up.load());
  auto get = answer(tl, *acl, {"GET", "weir:live/auth"});
  REQUIRE(get.is_ok());
  CHECK(get->str == "v");
  // A wrong password: AUTH refused, the client backs off and is never up.
  auto refused = answer(tl, *wrong, {"GET", "weir:live/auth"});
  REQUIRE_FALSE(refused.is_ok());
  CHECK_THAT(refused.error(), Catch::Contains("AUTH refused"));
  CHECK_FALSE(wrong->stats().up.load());
  CHECK(wrong->stats().disconnects.load() >= 1);
  // No password at all: connected, but Redis refuses the command itself.
  auto noauth = answer(tl, *none, {"GET", "weir:live/auth"});
  REQUIRE_FALSE(noauth.is_ok());
  CHECK_THAT(noauth.error(), Catch::Contains("NOAUTH"));
  tl.run([&] {
    good.reset();
    acl.reset();
    wrong.reset();
    none.reset();
  });
}

TEST_CASE("RedisClient: a peer that accepts and never answers trips the deadline; the queue is capped") {
  test::RawListener silent(64);  // the kernel completes the handshake; nobody ever reads or answers
  test::TestLoop tl;
  std::unique_ptr<RedisClient> c;
  tl.run([&] {
    c = std::make_unique<RedisClient>(tl.loop(), options("127.0.0.1", silent.port, 300, 16));
    c->start();
  });
  // 16 wait; the 17th is refused at once (overflow action: refuse).
  std::vector<std::shared_ptr<Call>> calls;
  for (int i = 0; i < 16; ++i) calls.push_back(call(tl, *c, {"GET", "k" + std::to_string(i)}));
  auto over = call(tl, *c, {"GET", "over"});
  REQUIRE(over->done.load());
  REQUIRE_FALSE(over->result->is_ok());
  CHECK_THAT(over->result->error(), Catch::Contains("queue full"));
  CHECK(c->stats().refused.load() == 1);

  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(test::wait_until([&] { return calls.back()->done.load(); }, 3000));
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took < std::chrono::milliseconds(1000));
  for (auto& k : calls) {
    REQUIRE(k->done.load());
    REQUIRE_FALSE(k->result->is_ok());
    CHECK_THAT(k->result->error(), Catch::Contains("no answer within 300 ms"));
  }
  CHECK_FALSE(c->stats().up.load());
  CHECK(c->stats().errors.load() == 16);
  // Down (backing off): the next command is refused at once, naming why.
  auto next = call(tl, *c, {"GET", "k"});
  REQUIRE(next->done.load());
  CHECK_THAT(next->result->error(), Catch::Contains("no answer within 300 ms"));
  tl.run([&] { c.reset(); });
}

TEST_CASE("RedisClient: nobody listening fails fast and keeps retrying") {
  const uint16_t port = test::free_port();
  test::TestLoop tl;
  std::unique_ptr<RedisClient> c;
  tl.run([&] {
    c = std::make_unique<RedisClient>(tl.loop(), options("127.0.0.1", port, 500, 16));
    c->start();
  });
  auto r = answer(tl, *c, {"GET", "k"}, 2000);
  REQUIRE_FALSE(r.is_ok());
  CHECK_THAT(r.error(), Catch::Contains("Redis unavailable"));
  REQUIRE(test::wait_until([&] { return c->stats().disconnects.load() >= 2; }, 3000));  // retried after 250 ms
  // Closing fails nothing twice and refuses afterwards.
  tl.run([&] { c->close("test"); });
  auto after = answer(tl, *c, {"GET", "k"});
  CHECK_THAT(after.error(), Catch::Contains("closed"));
  tl.run([&] { c.reset(); });
}
