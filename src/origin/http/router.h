// Router: HTTP requests to handlers by method and path pattern.
//
// Patterns are paths whose segments mix literal text and parameters:
//   /healthz                                 literal
//   /{app}/{stream}.flv                      {name}: one or more characters, no '/'
//   /{app}/{stream}/part{msn:u64}.{part:u64}.m4s
//                                            {name:u64}: decimal digits that fit 64 bits
// A handler reads parameters with Exchange::param("app"). Two parameters
// must be separated by literal text; a pattern's parameter names are unique.
//
// Matching does not depend on the order routes are added: of the patterns
// that match a path, the most specific wins, segment by segment from the
// left (an all-literal segment beats one mixing literals and parameters,
// which beats a bare parameter; more literal characters beat fewer), then
// the pattern text decides. Adding a route whose method and pattern shape
// repeat an earlier one is a programming error (std::logic_error, at start).
//
// Methods: a GET route also answers HEAD (the server drops the body). A path
// that only other methods match gets 405 with Allow; no match at all, 404.
// OPTIONS without an OPTIONS route is answered here: with an Origin header
// as a CORS preflight (204, Access-Control-Allow-Methods, -Allow-Headers
// echoing the request's, -Max-Age; the server adds
// Access-Control-Allow-Origin from the config), otherwise 204 with Allow.
//
// Groups: routes added through a group run its guard first. The guard lets
// the request through by calling `proceed` (at once, or later on the loop:
// an authentication callback), or answers it itself (401, 403). This is where
// authentication plugs in; routes added to the router directly have none.
//
// `not_found` / `method_not_allowed` answers can be replaced (the admin API
// answers JSON errors).
//
// Thread: built once before the loops start, then immutable and shared by
// every loop's HttpServer (const methods only, no locks).
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
  using Guard = std::function<void(const ExchangeRef&, std::function<void()> proceed)>;
  // Answers a request no route takes: 404, or 405 with `allow` (comma-separated).
  using Fallback = std::function<void(const ExchangeRef&, int status, const std::string& allow)>;
  static constexpr int kPreflightMaxAgeSeconds = 86400;

  class Group {
   public:
    Group& add(std::string method, std::string pattern, Handler h);

   private:
    friend class Router;
    Group(Router& r, size_t guard) : router_(r), guard_(guard) {}
    Router& router_;
    size_t guard_;
  };

  // A route without a guard.
  Router& add(std::string method, std::string pattern, Handler h);
  // Routes added through the returned group run `guard` first. `name` is for
  // routes() (the OpenAPI check, logs).
  Group group(std::string name, Guard guard);
  void set_fallback(Fallback f) { fallback_ = std::move(f); }

  // Runs the best matching handler (after its group's guard) or answers
  // 404/405/OPTIONS itself.
  void dispatch(const ExchangeRef& ex) const;
  // Methods routed for `path`, sorted, without duplicates (GET adds HEAD).
  std::vector<std::string> methods_for(std::string_view path) const;

  struct RouteInfo {
    std::string method;
    std::string pattern;
    std::string group;  // "" for routes without a guard
  };
  std::vector<RouteInfo> routes() const;

 private:
  struct Token {
    bool param = false;
    bool u64 = false;
    std::string text;  // literal text, or the parameter's name
  };
  struct Segment {
    std::vector<Token> tokens;
    int rank = 0;           // 2 all literal, 1 mixed, 0 a bare parameter
    size_t literal_chars = 0;
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    Handler handler;
    size_t guard = 0;  // index into guards_ + 1; 0 = none
  };
  using Params = std::vector<std::pair<std::string, std::string>>;

  void add_route(std::string method, std::string pattern, Handler h, size_t guard);
  static std::vector<Segment> parse_pattern(const std::string& pattern);
  static bool match(const Route& r, std::string_view path, Params* params);
  static bool match_segment(const std::vector<Token>& tokens, size_t i, std::string_view text, Params* params);
  // True if `a` is more specific than `b` (a total order on patterns).
  static bool more_specific(const Route& a, const Route& b);
  const Route* best(std::string_view path, std::string_view method) const;

  std::vector<Route> routes_;
  std::vector<std::pair<std::string, Guard>> guards_;
  Fallback fallback_;
};

}  // namespace weir::origin::http
