// Router matching without sockets: Exchanges made with no connection answer
// nothing, so the tests record which handler ran and with what parameters.
#include <catch2/catch.hpp>

#include <map>
#include <stdexcept>

#include "core/loop.h"
#include "origin/http/router.h"

using namespace weir;
using namespace weir::origin::http;

namespace {

struct Hit {
  std::string route;
  std::map<std::string, std::string> params;
};

ExchangeRef request(core::Loop& loop, std::string method, std::string path) {
  protocol::HttpRequest req;
  req.method = std::move(method);
  req.path = std::move(path);
  return std::make_shared<Exchange>(nullptr, std::move(req), "127.0.0.1:1", loop);
}

// A router whose handlers record their name and the parameters they see.
struct Recorder {
  Router r;
  Hit hit;
  Router::Handler h(std::string name, std::vector<std::string> keys = {}) {
    return [this, name, keys](ExchangeRef ex) {
      hit.route = name;
      hit.params.clear();
      for (auto& k : keys) hit.params[k] = std::string(ex->param(k));
    };
  }
  Hit get(core::Loop& loop, std::string path, std::string method = "GET") {
    hit = {};
    r.dispatch(request(loop, std::move(method), std::move(path)));
    return hit;
  }
};

void add_stream_routes(Recorder& rec) {
  rec.r.add("GET", "/{app}/{stream}.flv", rec.h("flv", {"app", "stream"}));
  rec.r.add("GET", "/{app}/{stream}.ts", rec.h("ts", {"app", "stream"}));
  rec.r.add("GET", "/{app}/{stream}/seg{msn:u64}.ts", rec.h("seg", {"app", "stream", "msn"}));
  rec.r.add("GET", "/{app}/{stream}/part{msn:u64}.{part:u64}.m4s", rec.h("part", {"msn", "part"}));
  rec.r.add("GET", "/{app}/{stream}/llhls.m3u8", rec.h("ll", {"stream"}));
  rec.r.add("GET", "/{app}/{stream}.m3u8", rec.h("m3u8", {"stream"}));
  rec.r.add("GET", "/api/streams", rec.h("list"));
  rec.r.add("GET", "/api/streams/{app}/{stream}", rec.h("one", {"app", "stream"}));
  rec.r.add("DELETE", "/api/streams/{app}/{stream}", rec.h("kick", {"app", "stream"}));
}

}  // namespace

TEST_CASE("router: patterns bind parameters, including dots inside names") {
  core::Loop loop(0);
  Recorder rec;
  add_stream_routes(rec);
  auto h = rec.get(loop, "/live/cam.1.flv");
  CHECK(h.route == "flv");
  CHECK(h.params["app"] == "live");
  CHECK(h.params["stream"] == "cam.1");
  h = rec.get(loop, "/live/s/part1796215279.3.m4s");
  CHECK(h.route == "part");
  CHECK(h.params["msn"] == "1796215279");
  CHECK(h.params["part"] == "3");
  CHECK(rec.get(loop, "/live/s/seg12.ts").params["msn"] == "12");
  CHECK(rec.get(loop, "/live/s.ts").route == "ts");
  CHECK(rec.get(loop, "/live/s/llhls.m3u8").route == "ll");
  CHECK(rec.get(loop, "/live/s.m3u8").route == "m3u8");
}

TEST_CASE("router: typed parameters refuse what does not fit") {
  core::Loop loop(0);
  Recorder rec;
  add_stream_routes(rec);
  CHECK(rec.get(loop, "/live/s/segx.ts").route.empty());
  CHECK(rec.get(loop, "/live/s/seg99999999999999999999999.ts").route.empty());  // > 2^64
  CHECK(rec.get(loop, "/live/s/seg-1.ts").route.empty());
  CHECK(rec.get(loop, "/live/s/part1..m4s").route.empty());
  CHECK(rec.get(loop, "/live//x.flv").route.empty());  // empty parameter
  CHECK(rec.get(loop, "/live/s/x.flv").route.empty());  // too many segments
}

TEST_CASE("router: the most specific route wins, whatever the order routes were added") {
  core::Loop loop(0);
  for (int order = 0; order < 2; ++order) {
    Recorder rec;
    auto literal = [&] { rec.r.add("GET", "/api/streams.flv", rec.h("literal")); };
    auto mixed = [&] { rec.r.add("GET", "/api/{stream}.flv", rec.h("mixed", {"stream"})); };
    auto param = [&] { rec.r.add("GET", "/{app}/{stream}.flv", rec.h("param", {"app"})); };
    if (order == 0) {
      literal();
      mixed();
      param();
    } else {
      param();
      mixed();
      literal();
    }
    CHECK(rec.get(loop, "/api/streams.flv").route == "literal");
    CHECK(rec.get(loop, "/api/other.flv").route == "mixed");
    CHECK(rec.get(loop, "/live/other.flv").route == "param");
  }
}

TEST_CASE("router: a repeated route, or a pattern that cannot be matched unambiguously, is refused at start") {
  Router r;
  r.add("GET", "/{app}/{stream}.flv", [](ExchangeRef) {});
  CHECK_THROWS_AS(r.add("GET", "/{a}/{b}.flv", [](ExchangeRef) {}), std::logic_error);
  CHECK_NOTHROW(r.add("POST", "/{a}/{b}.flv", [](ExchangeRef) {}));
  CHECK_THROWS_AS(r.add("GET", "/{a}{b}", [](ExchangeRef) {}), std::logic_error);
  CHECK_THROWS_AS(r.add("GET", "/{a}/{a}.x", [](ExchangeRef) {}), std::logic_error);
  CHECK_THROWS_AS(r.add("GET", "/{a:int}", [](ExchangeRef) {}), std::logic_error);
  CHECK_THROWS_AS(r.add("GET", "no-slash", [](ExchangeRef) {}), std::logic_error);
}

TEST_CASE("router: methods allowed for a path, and the fallback for 404 and 405") {
  core::Loop loop(0);
  Recorder rec;
  add_stream_routes(rec);
  CHECK(rec.r.methods_for("/api/streams/live/s") == std::vector<std::string>{"DELETE", "GET", "HEAD"});
  CHECK(rec.get(loop, "/api/streams/live/s", "HEAD").route == "one");
  int status = 0;
  std::string allow;
  rec.r.set_fallback([&](const ExchangeRef&, int s, const std::string& a) {
    status = s;
    allow = a;
  });
  rec.get(loop, "/api/streams/live/s", "PUT");
  CHECK(status == 405);
  CHECK(allow == "DELETE, GET, HEAD");
  rec.get(loop, "/nothing/here/at/all");
  CHECK(status == 404);
}

TEST_CASE("router: a group's guard runs before its handlers, and can hold or refuse them") {
  core::Loop loop(0);
  Recorder rec;
  std::vector<std::function<void()>> held;
  int refused = 0;
  auto admin = rec.r.group("admin", [&](const ExchangeRef& ex, std::function<void()> proceed) {
    if (ex->request().header("authorization") == "Bearer ok") return proceed();
    if (ex->request().header("authorization") == "Bearer later") return held.push_back(std::move(proceed));
    ++refused;
  });
  admin.add("GET", "/api/v1/streams", rec.h("guarded"));
  rec.r.add("GET", "/open", rec.h("open"));
  auto with_auth = [&](std::string value) {
    protocol::HttpRequest req;
    req.method = "GET";
    req.path = "/api/v1/streams";
    req.headers.emplace_back("authorization", std::move(value));
    return std::make_shared<Exchange>(nullptr, std::move(req), "127.0.0.1:1", loop);
  };
  rec.hit = {};
  rec.r.dispatch(with_auth("Bearer ok"));
  CHECK(rec.hit.route == "guarded");
  rec.hit = {};
  rec.r.dispatch(with_auth("Bearer nope"));
  CHECK(rec.hit.route.empty());
  CHECK(refused == 1);
  CHECK(rec.get(loop, "/open").route == "open");
  auto routes = rec.r.routes();
  REQUIRE(routes.size() == 2);
  CHECK(routes[0].group == "admin");
  CHECK(routes[1].group.empty());
}
