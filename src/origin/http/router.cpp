#include "origin/http/router.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace weir::origin::http {

namespace {

bool method_matches(const std::string& route_method, std::string_view method) {
  return route_method == method || (method == "HEAD" && route_method == "GET");
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

bool is_u64(std::string_view s) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

void default_fallback(const ExchangeRef& ex, int status, const std::string& allow) {
  if (status == 405) {
    ex->respond(405, {{"Allow", allow}, {"Content-Type", "text/plain"}, {"Cache-Control", "no-store"}},
                "method not allowed\n");
    return;
  }
  // Not cached: RFC 9111 4.2.2 lets caches keep a 404 heuristically, and the
  // path may exist a moment later.
  ex->respond(404, {{"Content-Type", "text/plain"}, {"Cache-Control", "no-store"}}, "no such resource\n");
}

}  // namespace

std::vector<Router::Segment> Router::parse_pattern(const std::string& pattern) {
  auto fail = [&](const std::string& why) { throw std::logic_error("route pattern '" + pattern + "': " + why); };
  if (pattern.empty() || pattern.front() != '/') fail("must start with '/'");
  std::vector<Segment> out;
  std::vector<std::string> names;
  size_t pos = 1;
  while (true) {
    size_t slash = pattern.find('/', pos);
    std::string_view seg = std::string_view(pattern).substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    Segment s;
    size_t i = 0;
    while (i < seg.size()) {
      if (seg[i] == '{') {
        size_t close = seg.find('}', i);
        if (close == std::string_view::npos) fail("unclosed '{'");
        std::string_view spec = seg.substr(i + 1, close - i - 1);
        Token t;
        t.param = true;
        size_t colon = spec.find(':');
        t.text = std::string(spec.substr(0, colon));
        if (colon != std::string_view::npos) {
          if (spec.substr(colon + 1) != "u64") fail("unknown parameter type '" + std::string(spec.substr(colon + 1)) + "'");
          t.u64 = true;
        }
        if (t.text.empty()) fail("empty parameter name");
        if (std::find(names.begin(), names.end(), t.text) != names.end()) fail("parameter '" + t.text + "' twice");
        if (!s.tokens.empty() && s.tokens.back().param) fail("two parameters without literal text between them");
        names.push_back(t.text);
        s.tokens.push_back(std::move(t));
        i = close + 1;
      } else {
        size_t next = seg.find('{', i);
        std::string_view lit = seg.substr(i, next == std::string_view::npos ? std::string_view::npos : next - i);
        if (lit.find('}') != std::string_view::npos) fail("stray '}'");
        s.literal_chars += lit.size();
        s.tokens.push_back(Token{false, false, std::string(lit)});
        i += lit.size();
      }
    }
    bool any_param = std::any_of(s.tokens.begin(), s.tokens.end(), [](const Token& t) { return t.param; });
    s.rank = !any_param ? 2 : s.literal_chars > 0 ? 1 : 0;
    out.push_back(std::move(s));
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return out;
}

Router& Router::add(std::string method, std::string pattern, Handler h) {
  add_route(std::move(method), std::move(pattern), std::move(h), 0);
  return *this;
}

Router::Group Router::group(std::string name, Guard guard) {
  guards_.emplace_back(std::move(name), std::move(guard));
  return Group(*this, guards_.size());
}

Router::Group& Router::Group::add(std::string method, std::string pattern, Handler h) {
  router_.add_route(std::move(method), std::move(pattern), std::move(h), guard_);
  return *this;
}

void Router::add_route(std::string method, std::string pattern, Handler h, size_t guard) {
  Route r{std::move(method), std::move(pattern), {}, std::move(h), guard};
  r.segments = parse_pattern(r.pattern);
  // The same literals and parameter types in the same places match the same
  // paths, whatever the parameters are called.
  auto shape = [](const Route& x) {
    std::string out;
    for (const Segment& s : x.segments) {
      out += '/';
      for (const Token& t : s.tokens) out += t.param ? (t.u64 ? "{u64}" : "{}") : t.text;
    }
    return out;
  };
  for (const Route& o : routes_)
    if (o.method == r.method && shape(o) == shape(r))
      throw std::logic_error("route " + r.method + " " + r.pattern + " repeats " + o.method + " " + o.pattern);
  routes_.push_back(std::move(r));
}

bool Router::match_segment(const std::vector<Token>& tokens, size_t i, std::string_view text, Params* params) {
  if (i == tokens.size()) return text.empty();
  const Token& t = tokens[i];
  if (!t.param) {
    if (text.substr(0, t.text.size()) != t.text) return false;
    return match_segment(tokens, i + 1, text.substr(t.text.size()), params);
  }
  // Shortest first: a parameter ends at the first place the rest matches.
  for (size_t n = 1; n <= text.size(); ++n) {
    std::string_view value = text.substr(0, n);
    if (t.u64 && !is_u64(value)) {
      if (n > 20 || !std::isdigit(static_cast<unsigned char>(value.back()))) return false;
      continue;
    }
    size_t mark = params ? params->size() : 0;
    if (params) params->emplace_back(t.text, std::string(value));
    if (match_segment(tokens, i + 1, text.substr(n), params)) return true;
    if (params) params->resize(mark);
  }
  return false;
}

bool Router::match(const Route& r, std::string_view path, Params* params) {
  if (path.empty() || path.front() != '/') return false;
  std::string_view rest = path.substr(1);
  for (size_t i = 0; i < r.segments.size(); ++i) {
    size_t slash = rest.find('/');
    bool last = i + 1 == r.segments.size();
    if (last != (slash == std::string_view::npos)) return false;
    std::string_view seg = rest.substr(0, slash);
    if (!match_segment(r.segments[i].tokens, 0, seg, params)) return false;
    rest = last ? std::string_view() : rest.substr(slash + 1);
  }
  return true;
}

bool Router::more_specific(const Route& a, const Route& b) {
  const size_t n = std::min(a.segments.size(), b.segments.size());
  for (size_t i = 0; i < n; ++i) {
    const Segment& x = a.segments[i];
    const Segment& y = b.segments[i];
    if (x.rank != y.rank) return x.rank > y.rank;
    if (x.literal_chars != y.literal_chars) return x.literal_chars > y.literal_chars;
  }
  if (a.segments.size() != b.segments.size()) return a.segments.size() > b.segments.size();
  // Same shape: the pattern text decides (literals differ, or it is a repeat).
  return a.pattern < b.pattern;
}

const Router::Route* Router::best(std::string_view path, std::string_view method) const {
  const Route* found = nullptr;
  for (const Route& r : routes_) {
    if (!method_matches(r.method, method) || !match(r, path, nullptr)) continue;
    if (!found || more_specific(r, *found)) found = &r;
  }
  return found;
}

std::vector<std::string> Router::methods_for(std::string_view path) const {
  std::vector<std::string> out;
  auto add = [&](const std::string& m) {
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  };
  for (const auto& r : routes_) {
    if (!match(r, path, nullptr)) continue;
    add(r.method);
    if (r.method == "GET") add("HEAD");
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Router::RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  for (const auto& r : routes_) out.push_back(RouteInfo{r.method, r.pattern, r.guard ? guards_[r.guard - 1].first : ""});
  return out;
}

void Router::dispatch(const ExchangeRef& ex) const {
  const auto& req = ex->request();
  if (const Route* r = best(req.path, req.method)) {
    Params params;
    match(*r, req.path, &params);
    ex->set_params(std::move(params));
    if (!r->guard) return r->handler(ex);
    // Routes live as long as the router, which outlives the loops' work. A
    // guard that lets the request through later finds it gone if the client
    // left meanwhile.
    const Handler& handler = r->handler;
    auto now = std::make_shared<bool>(true);
    guards_[r->guard - 1].second(ex, [ex, &handler, now] {
      if (*now || ex->alive()) handler(ex);
    });
    *now = false;
    return;
  }
  std::vector<std::string> methods = methods_for(req.path);
  if (req.method == "OPTIONS") {
    if (methods.empty() && req.path != "*") return (fallback_ ? fallback_ : default_fallback)(ex, 404, {});
    if (std::find(methods.begin(), methods.end(), "OPTIONS") == methods.end()) methods.push_back("OPTIONS");
    Headers h;
    if (req.has_header("origin")) {
      h.emplace_back("Access-Control-Allow-Methods", join(methods));
      std::string_view asked = req.header("access-control-request-headers");
      if (!asked.empty()) h.emplace_back("Access-Control-Allow-Headers", std::string(asked));
      h.emplace_back("Access-Control-Max-Age", std::to_string(kPreflightMaxAgeSeconds));
      h.emplace_back("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
    } else {
      h.emplace_back("Allow", join(methods));
    }
    ex->respond(204, std::move(h), std::string());
    return;
  }
  const Fallback& fb = fallback_ ? fallback_ : Fallback(default_fallback);
  if (!methods.empty()) return fb(ex, 405, join(methods));
  fb(ex, 404, {});
}

}  // namespace weir::origin::http
