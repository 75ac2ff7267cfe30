#include "origin/http/router.h"

#include <algorithm>

namespace weir::origin::http {

namespace {
bool method_matches(const std::string& route_method, const std::string& method) {
  return route_method == "*" || route_method == method || (method == "HEAD" && route_method == "GET");
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}
}  // namespace

bool Router::Route::path_matches(std::string_view path) const {
  switch (kind) {
    case Kind::kExact: return path == pattern;
    case Kind::kPrefix: return path.substr(0, pattern.size()) == pattern;
    case Kind::kSuffix: return path.size() >= pattern.size() && path.substr(path.size() - pattern.size()) == pattern;
    case Kind::kPredicate: return pred && pred(path);
  }
  return false;
}

Router& Router::add_exact(std::string method, std::string path, Handler h) {
  routes_.push_back(Route{std::move(method), Kind::kExact, std::move(path), nullptr, std::move(h)});
  return *this;
}

Router& Router::add_prefix(std::string method, std::string prefix, Handler h) {
  routes_.push_back(Route{std::move(method), Kind::kPrefix, std::move(prefix), nullptr, std::move(h)});
  return *this;
}

Router& Router::add_suffix(std::string method, std::string suffix, Handler h) {
  routes_.push_back(Route{std::move(method), Kind::kSuffix, std::move(suffix), nullptr, std::move(h)});
  return *this;
}

Router& Router::add_match(std::string method, Predicate pred, Handler h) {
  routes_.push_back(Route{std::move(method), Kind::kPredicate, {}, std::move(pred), std::move(h)});
  return *this;
}

std::vector<std::string> Router::methods_for(std::string_view path) const {
  std::vector<std::string> out;
  auto add = [&](const std::string& m) {
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  };
  for (const auto& r : routes_) {
    if (!r.path_matches(path)) continue;
    if (r.method == "*") {
      for (const char* m : {"GET", "HEAD", "POST", "PUT", "DELETE"}) add(m);
      continue;
    }
    add(r.method);
    if (r.method == "GET") add("HEAD");
  }
  return out;
}

void Router::dispatch(const ExchangeRef& ex) const {
  const auto& req = ex->request();
  for (const auto& r : routes_) {
    if (method_matches(r.method, req.method) && r.path_matches(req.path)) {
      if (r.handler) r.handler(ex);
      else ex->respond(500, {{"Content-Type", "text/plain"}}, "route without a handler\n");
      return;
    }
  }
  std::vector<std::string> methods = methods_for(req.path);
  if (req.method == "OPTIONS") {
    if (methods.empty() && req.path != "*") {
      ex->respond(404, {{"Content-Type", "text/plain"}}, "not found\n");
      return;
    }
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
  if (!methods.empty()) {
    ex->respond(405, {{"Allow", join(methods)}, {"Content-Type", "text/plain"}}, "method not allowed\n");
    return;
  }
  ex->respond(404, {{"Content-Type", "text/plain"}}, "not found\n");
}

}  // namespace weir::origin::http
