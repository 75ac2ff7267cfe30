#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/loop.h"

using namespace weir::core;

TEST_CASE("tasks posted from another thread run on the loop, in order") {
  LoopGroup group(2);
  std::atomic<int> started{0};
  group.start([&](Loop&) { started++; });
  CHECK(started == 2);
  std::vector<int> seen;
  std::atomic<bool> done{false};
  std::atomic<bool> right_thread{true};
  Loop& l = group.at(1);
  for (int i = 0; i < 100; ++i) {
    REQUIRE(l.post([&, i] {
      if (Loop::current() != &l || !l.on_loop_thread()) right_thread = false;
      seen.push_back(i);
      if (i == 99) done = true;
    }));
  }
  for (int i = 0; i < 200 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(done);
  CHECK(right_thread);
  REQUIRE(seen.size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(seen[size_t(i)] == i);
  group.stop();
  // A stopped loop refuses work instead of queueing it forever.
  CHECK_FALSE(l.post([] {}));
  CHECK(l.tasks_refused() >= 1);
}

namespace {
struct Probe : Closable {
  bool* closed;
  explicit Probe(bool* c) : closed(c) {}
  void close_for_shutdown() override { *closed = true; }
};
}  // namespace

TEST_CASE("stop closes every tracked object on its loop") {
  LoopGroup group(1);
  bool a = false, b = false;
  Probe pa(&a), pb(&b);
  group.start([&](Loop& l) {
    l.track(&pa);
    l.track(&pb);
  });
  group.stop();
  CHECK(a);
  CHECK(b);
}

#include <unistd.h>

#include "core/async_fs.h"

TEST_CASE("async file helpers write, read back, refuse oversize files and delete, off the loop") {
  LoopGroup group(1);
  group.start([](Loop&) {});
  char tmpl[] = "/tmp/weir-async-fs-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  std::string dir = std::string(tmpl) + "/a/b";
  std::string file = dir + "/seg1.ts";
  // Results are recorded on the loop thread and checked here (Catch2 is not
  // thread-safe).
  std::atomic<bool> done{false};
  std::vector<std::string> errors;
  std::string got, err_big, err_missing;
  Loop& l = group.at(0);
  auto fail = [&](const Status& st) {
    errors.push_back(st.message());
    done = true;
  };
  l.post([&] {
    mkdirs_async(l, dir, [&](Status st) {
      if (!st) return fail(st);
      write_file_async(l, file, Slice::copy_of(as_bytes("hello segment")), [&](Status w) {
        if (!w) return fail(w);
        read_file_async(l, file, 1024, [&](Result<Slice> r) {
          if (!r) return fail(r.status());
          got = std::string(as_chars(r->view()));
          read_file_async(l, file, 4, [&](Result<Slice> big) {
            err_big = big.is_ok() ? "" : big.error();
            unlink_async(l, file, [&](Status u) {
              if (!u) return fail(u);
              read_file_async(l, file, 1024, [&](Result<Slice> gone) {
                err_missing = gone.is_ok() ? "" : gone.error();
                done = true;
              });
            });
          });
        });
      });
    });
  });
  for (int i = 0; i < 400 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  group.stop();
  REQUIRE(done);
  CHECK(errors.empty());
  CHECK(got == "hello segment");
  CHECK_THAT(err_big, Catch::Contains("over the 4 byte limit"));
  CHECK_THAT(err_missing, Catch::Contains("open"));
  rmdir(dir.c_str());
  rmdir((std::string(tmpl) + "/a").c_str());
  rmdir(tmpl);
}
