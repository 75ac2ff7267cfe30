#include "origin/admission.h"

#include <spdlog/spdlog.h>

#include "core/loop.h"
#include "origin/access_check.h"
#include "origin/origin.h"
#include "origin/registry.h"
#include "origin/signed_url_check.h"
#include "origin/stream_blocks.h"
#include "origin/stream_hub.h"

namespace weir::origin {

std::string_view access_protocol_name(AccessProtocol p) {
  switch (p) {
    case AccessProtocol::kRtmp: return "rtmp";
    case AccessProtocol::kSrt: return "srt";
    case AccessProtocol::kHttpFlv: return "http-flv";
    case AccessProtocol::kWsFlv: return "ws-flv";
    case AccessProtocol::kHttpTs: return "http-ts";
    case AccessProtocol::kHlsPlaylist: return "hls-playlist";
    case AccessProtocol::kHlsSegment: return "hls-segment";
    case AccessProtocol::kHlsPart: return "hls-part";
    case AccessProtocol::kHlsKey: return "hls-key";
    case AccessProtocol::kVod: return "vod";
    case AccessProtocol::kSnapshot: return "snapshot";
  }
  return "?";
}

int http_status(Refusal r) {
  switch (r) {
    case Refusal::kNone: return 200;
    case Refusal::kBadRequest: return 400;
    case Refusal::kUnauthorized: return 401;
    case Refusal::kForbidden: return 403;
    case Refusal::kNotFound: return 404;
    case Refusal::kConflict: return 409;
    case Refusal::kUnavailable: return 503;
    case Refusal::kLoopDetected: return 508;
  }
  return 500;
}

std::string_view AdmissionRequest::param(std::string_view key) const {
  const std::string* v = protocol::find_query_param(params, key);
  return v ? std::string_view(*v) : std::string_view();
}

std::string_view AdmissionRequest::client_ip() const { return peer_ip(client); }

std::string_view peer_ip(std::string_view c) {
  if (!c.empty() && c.front() == '[') {
    size_t close = c.find(']');
    return close == std::string_view::npos ? c : c.substr(1, close - 1);
  }
  size_t colon = c.rfind(':');
  return colon == std::string_view::npos ? c : c.substr(0, colon);
}

void AdmissionCheck::check_later(const AdmissionRequest&, core::Loop&, Done done) {
  done(AdmissionDecision::deny(Refusal::kUnavailable, std::string(name()) + " cannot answer"));
}

namespace {

// Names valid and the app configured: what every protocol checked on its own.
class StreamNameCheck final : public AdmissionCheck {
 public:
  explicit StreamNameCheck(Origin& origin) : origin_(origin) {}
  std::string_view name() const override { return "stream-name"; }
  std::optional<AdmissionDecision> check_now(const AdmissionRequest& req) override {
    if (core::Status st = validate_stream_path(req.app, req.stream); !st)
      return AdmissionDecision::deny(Refusal::kBadRequest, st.message());
    if (!origin_.config().find_app(req.app))
      return AdmissionDecision::deny(Refusal::kNotFound, "app '" + req.app + "' is not configured");
    return AdmissionDecision::allow();
  }

 private:
  Origin& origin_;
};

// A live stream has one publisher, unless the app allows takeover. The
// registry enforces it again atomically at publish; this answers early (SRT
// can then refuse in the handshake).
class PublishConflictCheck final : public AdmissionCheck {
 public:
  explicit PublishConflictCheck(Origin& origin) : origin_(origin) {}
  std::string_view name() const override { return "publish-conflict"; }
  std::optional<AdmissionDecision> check_now(const AdmissionRequest& req) override {
    if (req.direction != Direction::kPublish) return AdmissionDecision::allow();
    const core::AppConfig* app = origin_.config().find_app(req.app);
    if (app && app->allow_takeover) return AdmissionDecision::allow();
    auto hub = origin_.registry().find(req.app, req.stream);
    if (hub && hub->state() == StreamHub::State::kLive && hub->stats().live)
      return AdmissionDecision::deny(Refusal::kConflict,
                                     "stream " + req.app + "/" + req.stream + " is already being published");
    return AdmissionDecision::allow();
  }

 private:
  Origin& origin_;
};

}  // namespace

// Shared by the ticket and the callbacks in flight. Loop thread only (the
// loop check() was called on).
struct Admission::Ticket::State {
  const Admission* admission = nullptr;
  core::Loop* loop = nullptr;
  AdmissionRequest req;
  std::function<void(const AdmissionDecision&)> done;
  size_t next = 0;
  bool finished = false;
};

void Admission::Ticket::cancel() {
  if (!state_) return;
  state_->finished = true;
  state_->done = nullptr;
  state_.reset();
}

bool Admission::Ticket::pending() const { return state_ && !state_->finished; }

Admission::Admission(Origin& origin) : origin_(origin) {
  checks_.push_back(std::make_unique<StreamNameCheck>(origin));
  checks_.push_back(std::make_unique<AccessCheck>(origin));  // before anything that answers per token or stream
  checks_.push_back(std::make_unique<SignedUrlCheck>(origin));  // before anything that tells about the stream
  state_checks_at_ = checks_.size();  // request checks go here (add_request_check)
  checks_.push_back(make_stream_block_check(origin.blocks()));
  checks_.push_back(std::make_unique<PublishConflictCheck>(origin));
}

Admission::~Admission() = default;

void Admission::add(std::unique_ptr<AdmissionCheck> check) { checks_.push_back(std::move(check)); }

void Admission::add_request_check(std::unique_ptr<AdmissionCheck> check) {
  checks_.insert(checks_.begin() + std::ptrdiff_t(state_checks_at_++), std::move(check));
}

Admission::Partial Admission::check_now(const AdmissionRequest& req) const {
  Partial p;
  for (size_t i = 0; i < checks_.size(); ++i) {
    std::optional<AdmissionDecision> d = checks_[i]->check_now(req);
    if (!d) {
      p.pending = true;
      p.next = i;
      return p;
    }
    if (!d->allowed()) {
      p.decision = std::move(*d);
      p.decision.check = std::string(checks_[i]->name());
      p.next = i;
      origin_.metrics().admission_denied_total++;  // the caller logs it, with its protocol's code
      return p;
    }
  }
  p.next = checks_.size();
  return p;
}

Admission::Ticket Admission::check(AdmissionRequest req, std::function<void(const AdmissionDecision&)> done,
                                   size_t from) const {
  Ticket t;
  t.state_ = std::make_shared<Ticket::State>();
  auto& st = *t.state_;
  st.admission = this;
  st.loop = core::Loop::current();
  st.req = std::move(req);
  st.done = std::move(done);
  st.next = from;
  run(t.state_);
  return t;
}

void Admission::finish(const std::shared_ptr<Ticket::State>& st, AdmissionDecision d) {
  if (st->finished) return;
  st->finished = true;
  if (!d.allowed()) {
    st->admission->origin_.metrics().admission_denied_total++;
    spdlog::info("admission: {} {} of {}/{} by {} refused by {}: {}", access_protocol_name(st->req.protocol),
                 st->req.direction == Direction::kPublish ? "publish" : "play", st->req.app, st->req.stream,
                 st->req.client, d.check, d.reason);
  }
  if (auto cb = std::move(st->done)) cb(d);
}

void Admission::run(const std::shared_ptr<Ticket::State>& st) {
  const Admission& self = *st->admission;
  while (!st->finished && st->next < self.checks_.size()) {
    AdmissionCheck& check = *self.checks_[st->next];
    std::optional<AdmissionDecision> d = check.check_now(st->req);
    if (!d) {
      // Asks elsewhere: continue when it answers (on this loop), unless the
      // ticket was cancelled meanwhile.
      std::weak_ptr<Ticket::State> weak = st;
      const size_t index = st->next;
      check.check_later(st->req, *st->loop, [weak, index](AdmissionDecision answer) {
        auto s = weak.lock();
        if (!s || s->finished || s->next != index) return;
        if (!answer.allowed()) {
          answer.check = std::string(s->admission->checks_[index]->name());
          return finish(s, std::move(answer));
        }
        ++s->next;
        run(s);  // (a check may answer from inside check_later: then this recurses, once per check)
      });
      return;
    }
    if (!d->allowed()) {
      d->check = std::string(check.name());
      return finish(st, std::move(*d));
    }
    ++st->next;
  }
  finish(st, AdmissionDecision::allow());
}

}  // namespace weir::origin
