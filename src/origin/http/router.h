// Routes requests to handlers by method and path.
//
// Thread: built once before the loops start, then immutable and shared by
// every loop's HttpServer (const methods only, no locks).
// Matching: routes are tried in the order they were added; the first whose
// method and path match wins. Method "*" matches any method; a GET route also
// answers HEAD (the server drops the body). Nothing matches: 404, or 405 with
// Allow when a route matches the path with another method. OPTIONS without a
// matching OPTIONS route is answered here: with an Origin header as a CORS
// preflight (204, Access-Control-Allow-Methods, -Allow-Headers echoing the
// request's, -Max-Age; the server adds Access-Control-Allow-Origin from the
// config), otherwise 204 with Allow.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "origin/http/exchange.h"

namespace weir::origin::http {

class Router {
 public:
  using Handler = std::function<void(ExchangeRef)>;
  using Predicate = std::function<bool(std::string_view path)>;
  static constexpr int kPreflightMaxAgeSeconds = 86400;

  // Path equal to `path`.
  Router& add_exact(std::string method, std::string path, Handler h);
  // Path starting with `prefix`.
  Router& add_prefix(std::string method, std::string prefix, Handler h);
  // Path ending with `suffix` (e.g. ".flv").
  Router& add_suffix(std::string method, std::string suffix, Handler h);
  // Path accepted by `pred`.
  Router& add_match(std::string method, Predicate pred, Handler h);

  // Runs the matching handler or answers 404/405/OPTIONS itself.
  void dispatch(const ExchangeRef& ex) const;
  // Methods routed for `path`, in route order, without duplicates (GET adds HEAD).
  std::vector<std::string> methods_for(std::string_view path) const;

 private:
  enum class Kind { kExact, kPrefix, kSuffix, kPredicate };
  struct Route {
    std::string method;
    Kind kind;
    std::string pattern;
    Predicate pred;
    Handler handler;
    bool path_matches(std::string_view path) const;
  };
  std::vector<Route> routes_;
};

}  // namespace weir::origin::http
