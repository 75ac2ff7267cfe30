#include "core/config_diff.h"

#include <algorithm>
#include <map>
#include <type_traits>

namespace weir::core {

namespace {

template <class T, class = void>
struct is_list : std::false_type {};
template <class T>
struct is_list<T, std::void_t<decltype(std::declval<const T&>().begin()), typename T::value_type>>
    : std::bool_constant<!std::is_same_v<T, std::string>> {};

// Walks a config struct's visit() list into "path" -> value text.
class Flatten {
 public:
  Flatten(std::map<std::string, std::string>& out, std::string prefix) : out_(out), prefix_(std::move(prefix)) {}

  template <class T, class C>
  void field(const char* key, T& v, const C&, const char*) {
    out_[prefix_ + key] = text(v);
  }
  template <class S>
  void section(const char* key, S& s) {
    Flatten f(out_, prefix_ + key + ".");
    s.visit(f);
  }
  template <class S>
  void map(const char* key, std::map<std::string, S>& m, const char*) {
    for (auto& [name, s] : m) {
      const std::string at = prefix_ + key + "." + name;
      out_[at] = "(present)";  // an app added or removed shows as itself
      Flatten f(out_, at + ".");
      s.visit(f);
    }
  }

 private:
  template <class T>
  static std::string text(const T& v) {
    if constexpr (std::is_same_v<T, std::string>) {
      return "s:" + v;
    } else if constexpr (std::is_same_v<T, bool>) {
      return v ? "true" : "false";
    } else if constexpr (std::is_arithmetic_v<T>) {
      return std::to_string(v);
    } else if constexpr (std::is_same_v<T, config::ByteSize>) {
      return std::to_string(uint64_t(v));
    } else {
      static_assert(is_list<T>::value, "config_diff: a field type without a text form");
      std::string out = "l:";
      for (const auto& e : v) out += std::string(e) + '\n';
      return out;
    }
  }

  std::map<std::string, std::string>& out_;
  std::string prefix_;
};

std::map<std::string, std::string> flatten(const Config& c) {
  Config copy = c;  // visit() takes its fields by non-const reference
  std::map<std::string, std::string> out;
  Flatten f(out, "");
  copy.visit(f);
  return out;
}

// "apps.NAME" when `key` lies inside an app that only one side has.
std::string reported(const std::string& key, const std::map<std::string, std::string>& other) {
  if (key.rfind("apps.", 0) != 0) return key;
  const size_t dot = key.find('.', 5);
  const std::string app = key.substr(0, dot);
  return other.count(app) ? key : app;
}

}  // namespace

std::vector<std::string> changed_keys(const Config& a, const Config& b) {
  const auto fa = flatten(a), fb = flatten(b);
  std::vector<std::string> out;
  for (const auto& [k, v] : fa) {
    auto it = fb.find(k);
    if (it == fb.end() || it->second != v) out.push_back(reported(k, fb));
  }
  for (const auto& [k, v] : fb)
    if (!fa.count(k)) out.push_back(reported(k, fa));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool key_under(const std::string& key, const std::string& prefix) {
  return key == prefix || (key.size() > prefix.size() && key.compare(0, prefix.size(), prefix) == 0 &&
                           key[prefix.size()] == '.');
}

}  // namespace weir::core
