// Test support shared by the origin and record suites: the (method, path)
// pairs docs/openapi.yaml documents, and those a router routes, spelled the
// same way ("{id:u64}" becomes "{id}", as OpenAPI spells it).
#pragma once

#include <cctype>
#include <set>
#include <string>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "origin/http/router.h"

namespace weir::test {

using RouteSet = std::set<std::pair<std::string, std::string>>;

inline RouteSet documented_routes(const std::string& openapi_path) {
  YAML::Node doc = YAML::LoadFile(openapi_path);
  RouteSet out;
  for (auto path : doc["paths"]) {
    for (auto op : path.second) {
      std::string method = op.first.as<std::string>();
      if (method == "parameters") continue;
      for (auto& c : method) c = char(std::toupper(static_cast<unsigned char>(c)));
      out.emplace(method, path.first.as<std::string>());
    }
  }
  return out;
}

// Every route's group goes to `groups` (admin routes must all have one).
inline RouteSet routed_routes(const origin::http::Router& router, std::set<std::string>* groups = nullptr) {
  RouteSet out;
  for (const auto& r : router.routes()) {
    if (groups) groups->insert(r.group);
    std::string path;
    for (size_t i = 0; i < r.pattern.size(); ++i) {
      if (r.pattern[i] == ':') {
        while (i < r.pattern.size() && r.pattern[i] != '}') ++i;
      }
      if (i < r.pattern.size()) path += r.pattern[i];
    }
    out.emplace(r.method, path);
  }
  return out;
}

}  // namespace weir::test
