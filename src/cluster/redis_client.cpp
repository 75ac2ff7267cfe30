#include "cluster/redis_client.h"

#include <arpa/inet.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libuv.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cluster/discovery_keys.h"

namespace weir::cluster {

namespace {
// The numeric host hiredis is given (it calls getaddrinfo, which parses a
// numeric address without any lookup).
std::string numeric_host(const core::SocketAddress& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.family() == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr, buf, sizeof(buf));
  else
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr, buf, sizeof(buf));
  return buf;
}
}  // namespace

RedisClient::RedisClient(core::Loop& loop, Options o)
    : loop_(loop), opts_(std::move(o)), resolver_(loop), connect_timer_(loop), deadline_(loop), later_(loop),
      backoff_(loop) {}

RedisClient::~RedisClient() {
  if (state_ != State::kIdle && state_ != State::kClosed) close("destroyed");
}

uint64_t RedisClient::now_ms() const { return uv_now(loop_.uv()); }

void RedisClient::start() {
  if (state_ != State::kIdle) return;
  loop_.track(this);
  connect();
}

void RedisClient::connect() {
  state_ = State::kResolving;
  connect_timer_.start(opts_.timeout_ms, [this] {
    drop("no connection within " + std::to_string(opts_.timeout_ms) + " ms");
  });
  resolver_.resolve(opts_.host, opts_.port, [this](core::Result<core::Resolver::Addresses> r) { resolved(std::move(r)); });
}

void RedisClient::resolved(core::Result<core::Resolver::Addresses> r) {
  if (!r) return drop(r.error());
  if (r->empty()) return drop("no address for " + opts_.host);
  const core::SocketAddress& a = r->front();
  redisAsyncContext* c = redisAsyncConnect(numeric_host(a).c_str(), int(a.port()));
  if (!c) return drop("out of memory");
  if (c->c.err) {
    std::string e = c->c.errstr;
    redisAsyncFree(c);
    return drop("connect: " + e);
  }
  if (redisLibuvAttach(c, loop_.uv()) != REDIS_OK) {
    // The adapter sets its cleanup before a failed uv_poll_init leaves no data.
    if (!c->ev.data) c->ev.cleanup = nullptr;
    redisAsyncFree(c);
    return drop("cannot watch the socket");
  }
  c->data = this;
  redisAsyncSetConnectCallback(c, &RedisClient::on_connect);
  redisAsyncSetDisconnectCallback(c, &RedisClient::on_disconnect);
  ctx_ = c;
  state_ = State::kConnecting;
}

void RedisClient::on_connect(const redisAsyncContext* c, int status) {
  auto* self = static_cast<RedisClient*>(c->data);
  if (!self) return;
  if (status != REDIS_OK) {
    // hiredis frees the context when this returns.
    self->ctx_ = nullptr;
    // The context's own error text: hiredis copies it to c->errstr only later.
    return self->drop(std::string("connect: ") + (c->c.errstr[0] ? c->c.errstr : "failed"));
  }
  self->connected();
}

void RedisClient::connected() {
  if (opts_.password.empty()) return authenticated();
  // The connect timer goes on running: it bounds the AUTH too. Sent from a
  // timer, not inside onConnect, where a failed send must not free the context.
  state_ = State::kAuthenticating;
  later_.start(0, [this] { send_auth(); });
}

void RedisClient::send_auth() {
  if (state_ != State::kAuthenticating || !ctx_) return;
  std::vector<const char*> args{"AUTH"};
  std::vector<size_t> lens{4};
  if (!opts_.username.empty()) {
    args.push_back(opts_.username.data());
    lens.push_back(opts_.username.size());
  }
  args.push_back(opts_.password.data());
  lens.push_back(opts_.password.size());
  if (redisAsyncCommandArgv(ctx_, &RedisClient::on_auth_reply, nullptr, int(args.size()), args.data(), lens.data()) !=
      REDIS_OK)
    drop("AUTH: not sent");
}

void RedisClient::on_auth_reply(redisAsyncContext* c, void* reply, void* /*privdata*/) {
  auto* self = static_cast<RedisClient*>(c->data);
  // A NULL reply: hiredis is freeing the context (onDisconnect follows).
  if (!self || !reply || self->state_ != State::kAuthenticating) return;
  const auto* r = static_cast<const redisReply*>(reply);
  if (r->type == REDIS_REPLY_ERROR)
    return self->drop("AUTH refused: " + std::string(r->str, std::min<size_t>(r->len, 200)));
  self->authenticated();
}

void RedisClient::authenticated() {
  state_ = State::kUp;
  connect_timer_.stop();
  if (failures_ > 0) spdlog::info("cluster: Redis at {} is back", address());
  else spdlog::info("cluster: connected to Redis at {}", address());
  failures_ = 0;
  stats_.up = true;
  // Not from inside onConnect: hiredis goes on using the context after it.
  later_.start(0, [this] { flush(); });
}

void RedisClient::on_disconnect(const redisAsyncContext* c, int status) {
  auto* self = static_cast<RedisClient*>(c->data);
  if (!self) return;
  // hiredis frees the context when this returns.
  self->ctx_ = nullptr;
  self->drop(std::string("connection lost") + (c->c.errstr[0] ? std::string(": ") + c->c.errstr : ""));
}

void RedisClient::command(std::vector<std::string> argv, Done done) {
  if (state_ == State::kClosed || state_ == State::kIdle || state_ == State::kBackoff) {
    stats_.refused++;
    return done(core::Status::errorf("Redis unavailable ({})", state_ == State::kClosed ? "closed" : last_error_));
  }
  if (pending_.size() >= opts_.max_queued) {
    stats_.refused++;
    return done(core::Status::errorf("Redis queue full ({} commands waiting)", pending_.size()));
  }
  pending_.push_back(Pending{next_id_++, now_ms() + opts_.timeout_ms, std::move(argv), false, std::move(done)});
  stats_.waiting = pending_.size();
  if (pending_.size() == 1) arm_deadline();
  if (state_ == State::kUp && !later_.active()) (void)send(pending_.back());
}

void RedisClient::flush() {
  // send() may drop the connection, which empties pending_.
  for (size_t i = 0; i < pending_.size() && state_ == State::kUp; ++i)
    if (!pending_[i].sent && !send(pending_[i])) return;
}

bool RedisClient::send(Pending& p) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  args.reserve(p.argv.size());
  lens.reserve(p.argv.size());
  for (const std::string& a : p.argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAsyncCommandArgv(ctx_, &RedisClient::on_reply, reinterpret_cast<void*>(uintptr_t(p.id)), int(args.size()),
                            args.data(), lens.data()) != REDIS_OK) {
    drop(std::string("send: ") + (ctx_ && ctx_->c.errstr[0] ? ctx_->c.errstr : "refused by hiredis"));
    return false;
  }
  p.sent = true;
  p.argv.clear();
  stats_.commands++;
  return true;
}

void RedisClient::on_reply(redisAsyncContext* c, void* reply, void* privdata) {
  auto* self = static_cast<RedisClient*>(c->data);
  // A NULL reply: hiredis is freeing the context (onDisconnect follows).
  if (!self || !reply) return;
  self->replied(uint64_t(reinterpret_cast<uintptr_t>(privdata)), reply);
}

void RedisClient::replied(uint64_t id, const void* raw) {
  auto it = pending_.begin();
  while (it != pending_.end() && it->id != id) ++it;
  if (it == pending_.end()) return;  // failed already (deadline)
  Done done = std::move(it->done);
  const bool was_oldest = it == pending_.begin();
  pending_.erase(it);
  stats_.waiting = pending_.size();
  if (was_oldest) arm_deadline();
  const auto* r = static_cast<const redisReply*>(raw);
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING: out.type = RedisReply::Type::kString; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_STATUS: out.type = RedisReply::Type::kStatus; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_INTEGER: out.type = RedisReply::Type::kInteger; out.integer = r->integer; break;
    case REDIS_REPLY_ARRAY: out.type = RedisReply::Type::kArray; out.integer = int64_t(r->elements); break;
    case REDIS_REPLY_ERROR:
      stats_.errors++;
      return done(core::Status::errorf("Redis: {}", std::string(r->str, std::min<size_t>(r->len, 200))));
    default: out.type = RedisReply::Type::kNil; break;
  }
  done(std::move(out));
}

void RedisClient::arm_deadline() {
  if (pending_.empty() || state_ == State::kClosed) return deadline_.stop();
  const uint64_t now = now_ms(), at = pending_.front().deadline_ms;
  deadline_.start(at > now ? at - now : 0, [this] { on_deadline(); });
}

void RedisClient::on_deadline() {
  if (pending_.empty()) return;
  if (pending_.front().deadline_ms > now_ms()) return arm_deadline();
  drop("no answer within " + std::to_string(opts_.timeout_ms) + " ms");
}

void RedisClient::drop(const std::string& why) {
  if (state_ == State::kClosed || state_ == State::kBackoff) return;
  state_ = State::kBackoff;
  last_error_ = why;
  stats_.up = false;
  stats_.disconnects++;
  release_connection();
  const uint64_t wait = reconnect_delay_ms(failures_++);
  if (auto n = log_limit_.allow(int64_t(now_ms())))
    spdlog::warn("cluster: Redis at {} unavailable: {}; reconnecting in {} ms, edges use upstream.urls meanwhile{}",
                 address(), why, wait, *n > 1 ? fmt::format(" ({} similar lines left out)", *n - 1) : "");
  backoff_.start(wait, [this] { connect(); });
  fail_all("Redis unavailable (" + why + ")");
}

void RedisClient::fail_all(const std::string& why) {
  std::deque<Pending> failed;
  failed.swap(pending_);
  stats_.waiting = 0;
  stats_.errors += failed.size();
  for (Pending& p : failed) p.done(core::Status::error(why));
}

void RedisClient::close(const std::string& why) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  stats_.up = false;
  loop_.untrack(this);
  backoff_.stop();
  release_connection();
  fail_all("closed: " + why);
}

void RedisClient::release_connection() {
  connect_timer_.stop();
  later_.stop();
  deadline_.stop();
  resolver_.cancel();
  if (redisAsyncContext* c = ctx_) {
    ctx_ = nullptr;
    c->data = nullptr;
    redisAsyncFree(c);  // never inside onConnect (see the header); deferred by hiredis inside a reply callback
  }
}

}  // namespace weir::cluster
