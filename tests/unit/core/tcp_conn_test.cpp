// TcpConn's promise that flush() never calls its handler back: a write error
// found inside flush() reaches on_read_end on a later turn of the loop, so a
// caller (often the handler itself, or a writer it owns) is never destroyed
// under its own feet.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "net_test_support.h"

using namespace weir;
using namespace weir::test;

namespace {

// Never reads, so the peer's reset is found by a write, not by a read.
class WriteOnlyHandler final : public core::TcpConn::Handler {
 public:
  void on_read(core::ByteView) override {}
  void on_read_end(int status) override {
    end_status = status;
    ended = true;
    conn_->close();
  }
  void on_closed() override { closed = true; }
  core::TcpConn* conn() { return conn_; }

  std::atomic<bool> ended{false};
  std::atomic<bool> closed{false};
  std::atomic<int> end_status{0};
};

}  // namespace

TEST_CASE("a write error inside flush() reaches the handler on a later loop turn, not from inside flush()") {
  TestLoop tl;
  std::atomic<core::TcpConn*> accepted{nullptr};
  WriteOnlyHandler h;
  uint16_t port = listen_on(tl, [&](core::TcpConn* c) {
    c->set_handler(&h);
    accepted = c;
  });

  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(wait_until([&] { return accepted.load() != nullptr; }));
  // Abortive close: the server side gets a RST, and its next send fails.
  linger lg{1, 0};
  REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
  ::close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  bool flushed = true, ended_inside = true, closing_after = false;
  tl.run([&] {
    core::TcpConn* c = h.conn();
    REQUIRE(c);
    c->append(core::Slice::copy_of(core::as_bytes(std::string(64 * 1024, 'x'))));
    flushed = c->flush();
    ended_inside = h.ended.load();
    // A second flush on the failed conn is refused without another report.
    c->append(core::Slice::copy_of(core::as_bytes("more")));
    CHECK_FALSE(c->flush());
    closing_after = c->closing();
  });
  CHECK_FALSE(flushed);
  CHECK_FALSE(ended_inside);
  CHECK_FALSE(closing_after);
  REQUIRE(wait_until([&] { return h.ended.load(); }));
  CHECK(h.end_status.load() < 0);
  REQUIRE(wait_until([&] { return h.closed.load(); }));
}
