#include "origin/http_admission.h"

#include "origin/origin.h"
#include "origin/play_request.h"
#include "origin/stream_hub.h"

namespace weir::origin {

std::optional<AdmissionRequest> http_admission_request(const http::ExchangeRef& ex, Direction direction,
                                                       AccessProtocol protocol, std::string app, std::string stream) {
  AdmissionRequest req;
  req.direction = direction;
  req.protocol = protocol;
  req.app = std::move(app);
  req.stream = std::move(stream);
  req.client = ex->peer();
  req.referer = std::string(ex->request().header("referer"));
  req.origin = std::string(ex->request().header("origin"));
  if (core::Status st = protocol::append_query_params(ex->request().query, req.params); !st) {
    ex->respond_text(400, "query: " + st.message());
    return std::nullopt;
  }
  return req;
}

namespace {

// kUnauthorized (a signed URL without a token) answers 403, not 401: a 401
// must carry a WWW-Authenticate challenge (RFC 9110 15.5.2), and a URL token
// is no HTTP authentication scheme a client could answer.
void refuse(const http::ExchangeRef& ex, Refusal r, const std::string& reason) {
  if (ex->alive()) ex->respond_text(r == Refusal::kUnauthorized ? 403 : http_status(r), reason);
}

// Keeps a check in flight alive until it answers or the client leaves. The
// callback holds the holder; answering (or cancelling) drops that reference.
struct AdmitHold {
  Admission::Ticket ticket;
  bool answered = false;
};
struct PlayHold {
  explicit PlayHold(Origin& o) : play(o) {}
  PlayRequest play;
};

}  // namespace

void admit_http(Origin& origin, const http::ExchangeRef& ex, AdmissionRequest req, std::function<void()> then) {
  auto hold = std::make_shared<AdmitHold>();
  std::shared_ptr<AdmitHold> local = hold;
  local->ticket = origin.admission().check(std::move(req), [ex, then = std::move(then), hold = std::move(hold)](
                                                               const AdmissionDecision& d) mutable {
    hold->answered = true;
    auto keep = std::move(hold);  // released when this callback returns
    if (!d.allowed()) return refuse(ex, d.refusal, d.reason);
    if (ex->alive()) then();
  });
  if (local->answered) return;  // the usual case: every check answered at once
  std::weak_ptr<AdmitHold> weak = local;
  ex->on_abort([weak] {
    if (auto h = weak.lock()) h->ticket.cancel();
  });
}

void play_http(Origin& origin, const http::ExchangeRef& ex, AdmissionRequest req,
               std::function<void(std::shared_ptr<StreamHub>)> then) {
  auto hold = std::make_shared<PlayHold>(origin);
  std::weak_ptr<PlayHold> weak = hold;
  ex->on_abort([weak] {
    if (auto h = weak.lock()) h->play.cancel();
  });
  PlayHold* raw = hold.get();
  raw->play.start(std::move(req), [ex, then = std::move(then), hold = std::move(hold)](PlayRequest::Outcome o) mutable {
    auto keep = std::move(hold);
    if (!o.hub) return refuse(ex, o.refusal, o.reason);
    if (ex->alive()) then(std::move(o.hub));
  });
}

}  // namespace weir::origin
