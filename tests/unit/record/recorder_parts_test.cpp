// The recorder's own parts on real threads: stream patterns, asset paths and
// the segment writer (a real pool, a real loop, real files).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>

#include "core/config.h"
#include "core/loop.h"
#include "core/worker_pool.h"
#include "record/asset_store.h"
#include "record/record_service.h"
#include "record/segment_writer.h"

using namespace weir;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("weir-rec-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

core::Slice bytes_of(std::string s) { return core::Slice::copy_of(core::as_bytes(s)); }

template <class F>
void on_loop(core::Loop& loop, F f) {
  std::promise<void> done;
  loop.post([&] {
    f();
    done.set_value();
  });
  done.get_future().wait();
}

bool eventually(const std::function<bool()>& pred, int ms = 5000) {
  for (int i = 0; i < ms / 5; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

}  // namespace

TEST_CASE("record.streams patterns: comma lists, * wildcards") {
  using record::stream_matches;
  CHECK(stream_matches("*", "anything"));
  CHECK(stream_matches("cam*", "cam1"));
  CHECK_FALSE(stream_matches("cam*", "xcam1"));
  CHECK(stream_matches("a, b*c ,d", "bxxc"));
  CHECK(stream_matches("a,b,d", "d"));
  CHECK_FALSE(stream_matches("a,b,d", "e"));
  CHECK(stream_matches("*-hd", "show-hd"));
  CHECK_FALSE(stream_matches("", "x"));
  CHECK_FALSE(stream_matches(",,", "x"));
}

TEST_CASE("asset directories follow record.path, in UTC") {
  core::Config cfg;
  cfg.storage.root = "/data";
  core::WorkerPool pool(1, 8);
  record::RecordMetrics m;
  record::AssetStore store(cfg, pool, m);
  core::RecordConfig rc;
  rc.path = "{app}/{yyyy}/{mm}/{dd}/{hh}/{stream}-{asset}";
  // 2025-12-02T15:04:05Z
  CHECK(store.asset_dir(rc, "rec", "cam", "abc", 1764687845000) == "/data/rec/2025/12/02/15/cam-abc");
}

TEST_CASE("SegmentWriter writes init and fragments in order, fsyncs, closes") {
  fs::path dir = scratch("ok");
  core::LoopGroup loops(1);
  loops.start([](core::Loop&) {});
  core::WorkerPool pool(2, 1024);
  record::RecordMetrics m;
  std::atomic<int> closed{0};
  std::string failure;
  std::unique_ptr<record::SegmentWriter> w;
  on_loop(loops.at(0), [&] {
    w = std::make_unique<record::SegmentWriter>(pool, loops.at(0), record::SegmentWriter::Options{},
                                                m, [&](const std::string& why) { failure = why; });
    w->open_segment((dir / "sub" / "seg-000001.mp4").string(), bytes_of("INIT"));
    for (int i = 0; i < 100; ++i) w->append(bytes_of("frag" + std::to_string(i) + ";"));
    w->close_segment([&](bool ok) { closed = ok ? 1 : -1; });
  });
  REQUIRE(eventually([&] { return closed != 0; }));
  CHECK(closed == 1);
  std::ifstream in(dir / "sub" / "seg-000001.mp4");
  std::string got((std::istreambuf_iterator<char>(in)), {});
  std::string want = "INIT";
  for (int i = 0; i < 100; ++i) want += "frag" + std::to_string(i) + ";";
  CHECK(got == want);
  CHECK(m.fragments_written == 100);
  CHECK(m.segments_written == 1);
  on_loop(loops.at(0), [&] {
    CHECK(w->bytes_written() == want.size());
    CHECK_FALSE(w->failed());
    w.reset();
  });
  CHECK(failure == "");
  loops.stop();
  fs::remove_all(dir);
}

TEST_CASE("SegmentWriter fails its recording when the path cannot be created") {
  fs::path dir = scratch("blocked");
  std::ofstream(dir / "file") << "x";
  core::LoopGroup loops(1);
  loops.start([](core::Loop&) {});
  core::WorkerPool pool(1, 64);
  record::RecordMetrics m;
  std::atomic<bool> failed{false};
  std::string why;
  std::atomic<int> closed{0};
  std::unique_ptr<record::SegmentWriter> w;
  on_loop(loops.at(0), [&] {
    w = std::make_unique<record::SegmentWriter>(pool, loops.at(0), record::SegmentWriter::Options{}, m,
                                                [&](const std::string& r) {
                                                  why = r;
                                                  failed = true;
                                                });
    w->open_segment((dir / "file" / "seg-000001.mp4").string(), bytes_of("INIT"));
    w->append(bytes_of("frag"));
  });
  REQUIRE(eventually([&] { return failed.load(); }));
  CHECK_THAT(why, Catch::Contains("file"));
  CHECK(m.failed_open_error == 1);
  on_loop(loops.at(0), [&] {
    CHECK(w->failed());
    // Later calls are refused at once and say so.
    w->close_segment([&](bool ok) { closed = ok ? 1 : -1; });
    CHECK(closed == -1);
    w.reset();
  });
  loops.stop();
  fs::remove_all(dir);
}

TEST_CASE("SegmentWriter: past its byte cap the recording fails (overflow action), nothing more is queued") {
  fs::path dir = scratch("cap");
  core::LoopGroup loops(1);
  loops.start([](core::Loop&) {});
  core::WorkerPool pool(1, 64);
  record::RecordMetrics m;
  std::atomic<bool> failed{false};
  std::string why;
  // Hold the only pool thread so nothing drains.
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<bool> holding{false};
  on_loop(loops.at(0), [&] {
    REQUIRE(pool.submit(loops.at(0), [gate, &holding]() -> core::Status {
      holding = true;
      gate.wait();
      return core::Status::ok();
    }, nullptr));
  });
  REQUIRE(eventually([&] { return holding.load(); }));
  std::unique_ptr<record::SegmentWriter> w;
  on_loop(loops.at(0), [&] {
    record::SegmentWriter::Options opt;
    opt.max_queued_bytes = 1000;
    w = std::make_unique<record::SegmentWriter>(pool, loops.at(0), opt, m, [&](const std::string& r) {
      why = r;
      failed = true;
    });
    w->open_segment((dir / "seg-000001.mp4").string(), bytes_of("INIT"));
    for (int i = 0; i < 20 && !w->failed(); ++i) w->append(bytes_of(std::string(100, 'x')));
    CHECK(w->failed());
    CHECK(w->queued_bytes() <= 1000);
  });
  CHECK(failed);
  CHECK_THAT(why, Catch::Contains("writer queue full"));
  CHECK(m.failed_queue_full == 1);
  release.set_value();
  on_loop(loops.at(0), [&] { w.reset(); });
  loops.stop();
  fs::remove_all(dir);
}
