#include "core/config.h"
#include "core/srt_url.h"
#include "core/watermark_position.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <initializer_list>
#include <fstream>
#include <set>
#include <sstream>
#include <type_traits>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "core/host_pattern.h"
#include "core/loop.h"
#include "core/net.h"

namespace weir::core {

namespace config {
std::string env_name_for(std::string_view key_path) {
  std::string out = "WEIR_";
  for (char c : key_path) out += std::isalnum(static_cast<unsigned char>(c)) ? char(std::toupper(c)) : '_';
  return out;
}
bool is_node_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

}  // namespace config

namespace {

using config::ByteSize;
using config::HostPatterns;
using config::UrlTemplates;
using config::ForwardUrlTemplates;
using config::IntRange;
using config::ListenAddress;
using config::NodeName;
using config::NoCheck;
using config::Secret;
using config::OneOf;

// Key paths set from the environment, with the variable that set them.
using EnvOrigins = std::map<std::string, std::string>;

bool parse_int(std::string_view s, int64_t& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

bool parse_byte_size(std::string_view s, int64_t& out) {
  size_t digits = 0;
  while (digits < s.size() && (std::isdigit(static_cast<unsigned char>(s[digits])) || (digits == 0 && s[0] == '-')))
    ++digits;
  int64_t n = 0;
  if (!parse_int(s.substr(0, digits), n)) return false;
  std::string_view unit = s.substr(digits);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  int64_t mult = 1;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "K" || unit == "KiB" || unit == "k") mult = 1024;
  else if (unit == "M" || unit == "MiB") mult = 1024 * 1024;
  else if (unit == "G" || unit == "GiB") mult = 1024LL * 1024 * 1024;
  else return false;
  if (n != 0 && (n > INT64_MAX / mult || n < INT64_MIN / mult)) return false;
  out = n * mult;
  return true;
}

// Why an upstream URL template is unusable ("" if it is fine). The edge
// (edge/upstream_url.h) parses the expanded URL; this checks what a config
// can get wrong before any stream name is known.
std::string check_url_template(const std::string& t) {
  const bool rtmp = t.rfind("rtmp://", 0) == 0 || t.rfind("rtmps://", 0) == 0;
  const bool http = t.rfind("http://", 0) == 0;
  const bool srt = t.rfind("srt://", 0) == 0;
  if (!rtmp && !http && !srt) return "is not an rtmp://, rtmps://, http:// or srt:// URL";
  const size_t host = t.find("://") + 3;
  if (host >= t.size() || t[host] == '/' || t[host] == '{') return "has no host";
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '}') return "has a '}' without '{'";
    if (t[i] != '{') continue;
    if (t.compare(i, 5, "{app}") == 0) i += 4;
    else if (t.compare(i, 8, "{stream}") == 0) i += 7;
    else return "has an unknown placeholder at '" + t.substr(i, 10) + "' ({app} and {stream} are known)";
  }
  if (t.find("{stream}") == std::string::npos) return "must contain {stream}";
  if (t.find_first_of(" \t\r\n") != std::string::npos) return "must not contain spaces";
  if (srt) {
    // Checked as it will be used: with the placeholders filled in.
    std::string sample = t;
    for (auto [from, to] : {std::pair<std::string_view, std::string_view>{"{app}", "app"}, {"{stream}", "stream"}})
      for (size_t at = sample.find(from); at != std::string::npos; at = sample.find(from, at + to.size()))
        sample.replace(at, from.size(), to);
    if (auto u = parse_srt_url(sample); !u) return "is not a usable srt:// URL: " + u.error();
  }
  return "";
}

class YamlLoader {
 public:
  YamlLoader(YAML::Node node, std::string path, std::vector<std::string>& errors, const EnvOrigins& env)
      : node_(std::move(node)), path_(std::move(path)), errors_(errors), env_(env) {}

  template <class T, class C>
  void field(const char* key, T& out, const C& check, const char* /*doc*/) {
    known_.insert(key);
    if (!node_.IsMap()) return;
    YAML::Node n = std::as_const(node_)[key];
    if (!n.IsDefined() || n.IsNull()) return;
    std::string p = child(key);
    if constexpr (std::is_same_v<T, CidrList> || std::is_same_v<T, std::vector<std::string>>) {
      // A list: a YAML sequence of scalars, or one comma-separated string (what
      // a WEIR_* override sets).
      T list{};
      if (n.IsSequence()) {
        for (const YAML::Node& e : n) {
          if (!e.IsScalar()) return error(p, e, "expected a list of single values");
          if (!add_entry(p, e, e.Scalar(), list, check)) return;
        }
      } else if (n.IsScalar()) {
        for (const std::string& e : split_list(n.Scalar()))
          if (!add_entry(p, n, e, list, check)) return;
      } else {
        return error(p, n, "expected a list");
      }
      out = std::move(list);
    } else {
      if (!n.IsScalar()) {
        error(p, n, "expected a single value, not a list or map");
        return;
      }
      parse(p, n, n.Scalar(), out, check);
    }
  }

  template <class S>
  void section(const char* key, S& s) {
    known_.insert(key);
    if (!node_.IsMap()) return;
    YAML::Node n = std::as_const(node_)[key];
    if (!n.IsDefined() || n.IsNull()) return;
    std::string p = child(key);
    if (!n.IsMap()) {
      error(p, n, "expected a map of settings");
      return;
    }
    YamlLoader sub(n, p, errors_, env_);
    s.visit(sub);
    sub.finish();
  }

  template <class S>
  void map(const char* key, std::map<std::string, S>& m, const char* /*doc*/) {
    known_.insert(key);
    if (!node_.IsMap()) return;
    YAML::Node n = std::as_const(node_)[key];
    if (!n.IsDefined() || n.IsNull()) return;
    std::string p = child(key);
    if (!n.IsMap()) {
      error(p, n, "expected a map of names to settings");
      return;
    }
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string name = it->first.Scalar();
      std::string ep = p + "." + name;
      if (!seen.insert(name).second) {
        error(ep, it->first, "duplicate key");
        continue;
      }
      if (!valid_name(name)) {
        error(ep, it->first, "name may hold only letters, digits, '_', '-', '.', or be \"*\"");
        continue;
      }
      S s{};
      if (!it->second.IsNull()) {
        if (!it->second.IsMap()) {
          error(ep, it->second, "expected a map of settings");
          continue;
        }
        YamlLoader sub(it->second, ep, errors_, env_);
        s.visit(sub);
        sub.finish();
      }
      m[name] = s;
    }
  }

  void finish() {
    if (!node_.IsMap()) return;
    std::set<std::string> seen;
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      const std::string& k = it->first.Scalar();
      if (!seen.insert(k).second) error(child(k), it->first, "duplicate key");
      else if (!known_.count(k)) error(child(k), it->first, "unknown key");
    }
  }

  static bool valid_name(const std::string& n) {
    if (n == "*") return true;
    if (n.empty() || n.size() > 64) return false;
    for (char c : n)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
    return true;
  }

 private:
  std::string child(const std::string& k) const { return path_.empty() ? k : path_ + "." + k; }

  void error(const std::string& path, const YAML::Node& n, const std::string& what) {
    auto e = env_.find(path);
    if (e != env_.end()) {
      errors_.push_back(path + " (from " + e->second + "): " + what);
    } else {
      auto mark = n.Mark();
      if (mark.line >= 0) errors_.push_back(path + " (line " + std::to_string(mark.line + 1) + "): " + what);
      else errors_.push_back(path + ": " + what);
    }
  }

  static std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, ',');) {
      while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.erase(item.begin());
      while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.pop_back();
      if (!item.empty()) out.push_back(item);
    }
    return out;
  }
  bool add_entry(const std::string& p, const YAML::Node& n, const std::string& e, CidrList& out, const NoCheck&) {
    if (Status st = out.add(e); !st) {
      error(p, n, "'" + e + "' is not an address or CIDR range: " + st.message());
      return false;
    }
    return true;
  }
  bool add_entry(const std::string& p, const YAML::Node& n, const std::string& e, std::vector<std::string>& out,
                 const HostPatterns&) {
    if (std::string why = check_host_pattern(e); !why.empty()) {
      error(p, n, "'" + e + "' is not a host pattern: " + why);
      return false;
    }
    out.push_back(e);
    return true;
  }

  bool add_entry(const std::string& p, const YAML::Node& n, const std::string& e, std::vector<std::string>& out,
                 const ForwardUrlTemplates&) {
    if (e.rfind("rtmp://", 0) != 0 && e.rfind("rtmps://", 0) != 0 && e.rfind("srt://", 0) != 0) {
      error(p, n, "'" + e + "' is not an rtmp://, rtmps:// or srt:// URL");
      return false;
    }
    return add_entry(p, n, e, out, UrlTemplates{});
  }
  bool add_entry(const std::string& p, const YAML::Node& n, const std::string& e, std::vector<std::string>& out,
                 const UrlTemplates&) {
    if (std::string why = check_url_template(e); !why.empty()) {
      error(p, n, "'" + e + "' " + why);
      return false;
    }
    out.push_back(e);
    return true;
  }

  void parse(const std::string& p, const YAML::Node& n, const std::string& s, bool& out, const NoCheck&) {
    static const std::set<std::string> yes = {"true", "True", "TRUE", "yes", "on", "1"};
    static const std::set<std::string> no = {"false", "False", "FALSE", "no", "off", "0"};
    if (yes.count(s)) out = true;
    else if (no.count(s)) out = false;
    else error(p, n, "expected true or false, got '" + s + "'");
  }
  void parse(const std::string& p, const YAML::Node& n, const std::string& s, int64_t& out, const IntRange& r) {
    int64_t v;
    if (!parse_int(s, v)) return error(p, n, "expected an integer, got '" + s + "'");
    if (v < r.min || v > r.max)
      return error(p, n, "must be from " + std::to_string(r.min) + " to " + std::to_string(r.max) + ", got " + s);
    out = v;
  }
  void parse(const std::string& p, const YAML::Node& n, const std::string& s, ByteSize& out, const IntRange& r) {
    int64_t v;
    if (!parse_byte_size(s, v))
      return error(p, n, "expected a byte size such as 65536, 512KiB, 64MiB or 1GiB, got '" + s + "'");
    if (v < r.min || v > r.max)
      return error(p, n, "must be from " + std::to_string(r.min) + " to " + std::to_string(r.max) + " bytes, got " + s);
    out = ByteSize(uint64_t(v));
  }
  void parse(const std::string& p, const YAML::Node& n, const std::string& s, std::string& out, const NoCheck&) {
    out = s;
  }
  void parse(const std::string& p, const YAML::Node& n, const std::string& s, std::string& out, const Secret&) {
    out = s;
  }
  void parse(const std::string& p, const YAML::Node& n, const std::string& s, std::string& out, const ListenAddress&) {
    auto a = parse_listen_address(s);
    if (!a) return error(p, n, a.error());
    out = s;
  }
  void parse(const std::string& p, const YAML::Node& n, const std::string& s, std::string& out, const NodeName&) {
    if (!s.empty() && !config::is_node_name(s))
      return error(p, n, "must be 1 to 64 letters, digits, '_' or '-', got '" + s + "'");
    out = s;
  }
  void parse(const std::string& p, const YAML::Node& n, const std::string& s, std::string& out, const OneOf& o) {
    std::string all;
    for (const char* v : o.values) {
      if (s == v) {
        out = s;
        return;
      }
      all += all.empty() ? v : std::string("|") + v;
    }
    error(p, n, "must be one of " + all + ", got '" + s + "'");
  }

  YAML::Node node_;
  std::string path_;
  std::vector<std::string>& errors_;
  const EnvOrigins& env_;
  std::set<std::string> known_;
};

// Lists scalar keys (dotted path, path components, docs). Maps expand over
// the names given.
struct KeyInfo {
  std::string path;
  std::vector<std::string> parts;
  std::string doc;
};

class KeyLister {
 public:
  KeyLister(std::vector<std::string> parts, std::vector<KeyInfo>& out, const std::vector<std::string>& map_names)
      : parts_(std::move(parts)), out_(out), map_names_(map_names) {}

  template <class T, class C>
  void field(const char* key, T&, const C&, const char* doc) {
    auto p = child(key);
    out_.push_back(KeyInfo{join(p), p, doc});
  }
  template <class S>
  void section(const char* key, S& s) {
    KeyLister sub(child(key), out_, map_names_);
    s.visit(sub);
  }
  template <class S>
  void map(const char* key, std::map<std::string, S>&, const char*) {
    for (const auto& name : map_names_) {
      S s{};
      auto p = child(key);
      p.push_back(name);
      KeyLister sub(p, out_, map_names_);
      s.visit(sub);
    }
  }

 private:
  std::vector<std::string> child(const std::string& k) const {
    auto p = parts_;
    p.push_back(k);
    return p;
  }
  static std::string join(const std::vector<std::string>& p) {
    std::string s;
    for (const auto& x : p) s += (s.empty() ? "" : ".") + x;
    return s;
  }
  std::vector<std::string> parts_;
  std::vector<KeyInfo>& out_;
  const std::vector<std::string>& map_names_;
};

void set_path(YAML::Node root, const std::vector<std::string>& parts, const std::string& value) {
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = chain.back()[parts[i]];
    if (!next.IsMap()) next = YAML::Node(YAML::NodeType::Map);
    chain.back()[parts[i]] = next;
    chain.push_back(chain.back()[parts[i]]);
  }
  chain.back()[parts.back()] = value;
}

// Why a path template under storage.root is unusable ("" if it is fine):
// relative, only the placeholders `vars`, letters, digits and _ - . /, no "..".
std::string check_path_template(const std::string& t, std::initializer_list<const char*> vars) {
  if (t.empty()) return "must not be empty";
  if (t.front() == '/') return "must be relative to storage.root";
  for (size_t i = 0; i < t.size();) {
    if (t[i] == '{') {
      bool ok = false;
      for (const char* v : vars)
        if (t.compare(i, std::strlen(v), v) == 0) {
          i += std::strlen(v);
          ok = true;
          break;
        }
      if (!ok) return "unknown placeholder at '" + t.substr(i, 12) + "'";
      continue;
    }
    char c = t[i];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '/'))
      return std::string("character '") + c + "' not allowed (letters, digits, _ - . / and placeholders)";
    if (c == '.' && (i == 0 || t[i - 1] == '/') && i + 1 < t.size() && t[i + 1] == '.') return "'..' not allowed";
    ++i;
  }
  return "";
}

// Why a record.path template is unusable ("" if it is fine).
std::string check_record_path(const std::string& t) {
  if (!t.empty() && t.find("{asset}") == std::string::npos)
    return "must contain {asset} (each asset needs its own directory)";
  return check_path_template(t, {"{app}", "{stream}", "{asset}", "{yyyy}", "{mm}", "{dd}", "{hh}"});
}

// Why a snapshot.dir template is unusable ("" if it is fine).
std::string check_snapshot_dir(const std::string& t) {
  if (!t.empty() && (t.find("{app}") == std::string::npos || t.find("{stream}") == std::string::npos))
    return "must contain {app} and {stream} (each stream keeps its own pictures)";
  return check_path_template(t, {"{app}", "{stream}"});
}

// Why a watermark colour is unusable ("" if it looks like one FFmpeg takes:
// a name of letters, #RRGGBB[AA] or 0xRRGGBB[AA], then optionally @ALPHA with
// ALPHA a number from 0 to 1). The name itself is checked by FFmpeg when a
// job builds its graph (an unknown one: the job runs without that text).
std::string check_watermark_color(const std::string& c) {
  const size_t at = c.find('@');
  const std::string base = c.substr(0, at);
  auto hex = [](const std::string& h) {
    return (h.size() == 6 || h.size() == 8) && std::all_of(h.begin(), h.end(), [](char ch) { return std::isxdigit((unsigned char)ch); });
  };
  bool ok = !base.empty() && std::all_of(base.begin(), base.end(), [](char ch) { return std::isalpha((unsigned char)ch); });
  if (!ok && base.size() > 1 && base[0] == '#') ok = hex(base.substr(1));
  if (!ok && base.size() > 2 && base.compare(0, 2, "0x") == 0) ok = hex(base.substr(2));
  if (!ok) return "'" + c + "' is not a colour (a name, #RRGGBB or #RRGGBBAA, optionally @ALPHA)";
  if (at != std::string::npos) {
    const std::string a = c.substr(at + 1);
    char* end = nullptr;
    const double v = a.empty() ? -1 : std::strtod(a.c_str(), &end);
    if (a.empty() || *end != 0 || !(v >= 0 && v <= 1)) return "'" + c + "': the alpha after @ must be 0.0 to 1.0";
  }
  return "";
}

// Why a watermark stream-name template is unusable: {stream} once, plus something.
std::string check_stream_template(const std::string& t) {
  const size_t s = t.find("{stream}");
  if (s == std::string::npos || t.find("{stream}", s + 1) != std::string::npos) return "must hold {stream} once";
  if (t == "{stream}") return "must add something to {stream} (e.g. {stream}_wm)";
  if (t.find_first_of("/ \t") != std::string::npos)
    return "must not hold '/' or spaces";
  return "";
}

// Why a rendition_name template is unusable ("" if it is fine): {stream} and
// {rendition} once each, not side by side (the split would be ambiguous), and
// otherwise only characters a stream name may hold.
std::string check_rendition_name(const std::string& t) {
  const size_t s = t.find("{stream}"), r = t.find("{rendition}");
  if (s == std::string::npos || r == std::string::npos) return "must hold {stream} and {rendition}";
  if (t.find("{stream}", s + 1) != std::string::npos || t.find("{rendition}", r + 1) != std::string::npos)
    return "{stream} and {rendition} may appear once each";
  if (s + 8 == r || r + 11 == s) return "{stream} and {rendition} must be separated (e.g. {stream}_{rendition})";
  std::string rest = t;
  rest.erase(std::max(s, r), s > r ? 8 : 11);
  rest.erase(std::min(s, r), s < r ? 8 : 11);
  for (char c : rest)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return std::string("character '") + c + "' not allowed (letters, digits, _ - . and the placeholders)";
  return "";
}

std::vector<std::string> split_tokens(const std::string& list) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    std::string t = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.erase(t.begin());
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.pop_back();
    if (!t.empty()) out.push_back(std::move(t));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

Result<Config> load_from_node(YAML::Node root, const std::string& source, char** env) {
  Config cfg;
  cfg.source_path = source;
  std::vector<std::string> errors;
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) return Status::error("config: the file must be a YAML map of settings");

  // Environment overrides: match WEIR_* names against every known key path
  // (apps expanded over the names in the file).
  std::vector<std::string> app_names;
  if (root["apps"].IsMap())
    for (auto it = root["apps"].begin(); it != root["apps"].end(); ++it) app_names.push_back(it->first.Scalar());
  std::vector<KeyInfo> keys;
  KeyLister lister({}, keys, app_names);
  Config probe;
  probe.visit(lister);
  std::map<std::string, const KeyInfo*> by_env;
  for (auto& k : keys) by_env[config::env_name_for(k.path)] = &k;
  EnvOrigins origins;
  for (char** e = env; e && *e; ++e) {
    std::string_view kv(*e);
    if (kv.rfind("WEIR_", 0) != 0) continue;
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name(kv.substr(0, eq));
    std::string value(kv.substr(eq + 1));
    auto it = by_env.find(name);
    if (it == by_env.end()) {
      cfg.warnings.push_back("environment variable " + name + " names no config key; ignored");
      continue;
    }
    set_path(root, it->second->parts, value);
    origins[it->second->path] = name;
  }

  YamlLoader loader(root, "", errors, origins);
  cfg.visit(loader);
  loader.finish();

  // Cross-field checks.
  if (cfg.rtmp.max_reassembly_bytes < cfg.rtmp.max_message_size)
    errors.push_back("rtmp.max_reassembly_bytes: must be at least rtmp.max_message_size");
  for (auto& [name, app] : cfg.apps) {
    if (app.viewer_skip_bytes >= app.viewer_max_bytes)
      errors.push_back("apps." + name + ".viewer_skip_bytes: must be below viewer_max_bytes");
    if (app.viewer_sndbuf * 2 >= app.viewer_max_bytes)
      errors.push_back("apps." + name + ".viewer_sndbuf: twice it (the kernel's real buffer) must be below viewer_max_bytes");
  }
  for (auto& [name, app] : cfg.apps) {
    if (app.hls.part_ms * 2 > app.hls.segment_ms)
      errors.push_back("apps." + name + ".hls.part_ms: must be at most half of hls.segment_ms");
    if (!app.srt.passphrase.empty() && (app.srt.passphrase.size() < 10 || app.srt.passphrase.size() > 79))
      errors.push_back("apps." + name + ".srt.passphrase: must be 10 to 79 characters (or empty)");
    if (app.srt.pbkeylen != 0 && app.srt.pbkeylen != 16 && app.srt.pbkeylen != 24 && app.srt.pbkeylen != 32)
      errors.push_back("apps." + name + ".srt.pbkeylen: must be 0, 16, 24 or 32");
    if (app.srt.payload_size % 188 != 0)
      errors.push_back("apps." + name + ".srt.payload_size: must be a multiple of 188 (whole TS packets)");
    if (app.timeshift.enabled && !app.hls.enabled)
      errors.push_back("apps." + name + ".timeshift.enabled: needs hls.enabled (the buffer holds HLS segments)");
    if (app.timeshift.enabled && app.timeshift.dir.empty() && app.timeshift.disk_bytes > 0)
      errors.push_back("apps." + name + ".timeshift.dir: must be set when disk_bytes > 0");
    if (std::string why = check_record_path(app.record.path); !why.empty())
      errors.push_back("apps." + name + ".record.path: " + why);
    if (std::string why = check_snapshot_dir(app.snapshot.dir); !why.empty())
      errors.push_back("apps." + name + ".snapshot.dir: " + why);
    if (app.record.fragment_ms > app.record.segment_s * 1000)
      errors.push_back("apps." + name + ".record.fragment_ms: must not exceed segment_s");
    for (const auto* list : {&app.sign.publish_keys, &app.sign.play_keys}) {
      const std::string key = "apps." + name + ".sign." + (list == &app.sign.publish_keys ? "publish_keys" : "play_keys");
      std::vector<std::string> keys = split_tokens(*list);
      if (!list->empty() && keys.empty()) errors.push_back(key + ": holds no key (empty = not signed)");
      for (const std::string& k : keys) {
        if (k.size() < 8 || k.size() > 256) {
          errors.push_back(key + ": each key must be 8 to 256 characters");
          break;
        }
        if (std::any_of(k.begin(), k.end(), [](char c) { return c <= ' ' || c == 0x7f; })) {
          errors.push_back(key + ": a key may not hold spaces or control characters");
          break;
        }
      }
    }
    for (const auto* u : {&app.callbacks.on_publish, &app.callbacks.on_play})
      if (!u->empty() && u->rfind("http://", 0) != 0 && u->rfind("https://", 0) != 0)
        errors.push_back("apps." + name + ".callbacks." + (u == &app.callbacks.on_publish ? "on_publish" : "on_play") +
                         ": '" + *u + "' is not an http:// or https:// URL");
    if (app.upstream.backoff_max_ms < app.upstream.backoff_ms)
      errors.push_back("apps." + name + ".upstream.backoff_max_ms: must be at least backoff_ms");
    if (app.forward.backoff_max_ms < app.forward.backoff_ms)
      errors.push_back("apps." + name + ".forward.backoff_max_ms: must be at least backoff_ms");
    if (app.upstream.publish == "forward" &&
        std::none_of(app.upstream.urls.begin(), app.upstream.urls.end(), [](const std::string& u) {
          return u.rfind("rtmp://", 0) == 0 || u.rfind("rtmps://", 0) == 0;
        })) {
      // An edge pushes an encoder's stream to its static origins only (a new
      // stream is on no origin yet: discovery cannot say where it goes).
      if (!app.upstream.urls.empty())
        errors.push_back("apps." + name +
                         ".upstream.publish: forward needs an rtmp:// or rtmps:// template in upstream.urls (an edge "
                         "pushes encoders' streams over RTMP; http:// and srt:// pull templates cannot take it); set "
                         "publish: local or refuse");
      else if (app.upstream.discover)
        cfg.warnings.push_back("apps." + name +
                               ".upstream.publish: forward, but upstream.urls has no origin to push to (discover "
                               "only): streams published here stay on this node (set publish: local or refuse)");
    }
    if (std::string why = check_rendition_name(app.rendition_name); !why.empty())
      errors.push_back("apps." + name + ".rendition_name: " + why);
    for (const auto& [rname, r] : app.renditions) {
      const std::string key = "apps." + name + ".renditions." + rname;
      if (r.width == 0 && r.height == 0) errors.push_back(key + ".height: width or height must be set");
      if (r.maxrate_kbps > 0 && r.maxrate_kbps < r.bitrate_kbps)
        errors.push_back(key + ".maxrate_kbps: must be at least bitrate_kbps");
      if (r.video_codec == "libx265" && (r.profile == "baseline" || r.profile == "high"))
        errors.push_back(key + ".profile: " + r.profile + " is an H.264 profile (libx265: main, main10)");
      if (r.video_codec == "libx264" && r.profile == "main10")
        errors.push_back(key + ".profile: main10 is an HEVC profile (libx264: baseline, main, high)");
    }
    if (const WatermarkConfig& wm = app.watermark; true) {
      const std::string key = "apps." + name + ".watermark.";
      if (std::string why = check_stream_template(wm.output); !why.empty()) errors.push_back(key + "output: " + why);
      if (std::string why = check_stream_template(wm.clean_name); !why.empty())
        errors.push_back(key + "clean_name: " + why);
      if (wm.output == wm.clean_name) errors.push_back(key + "clean_name: must differ from output");
      if (auto p = parse_watermark_position(wm.image.position); !p)
        errors.push_back(key + "image.position: " + p.error());
      if (auto p = parse_watermark_position(wm.text.position); !p) errors.push_back(key + "text.position: " + p.error());
      if (wm.text.text.size() > 256) errors.push_back(key + "text.text: at most 256 bytes");
      if (wm.text.font.empty()) errors.push_back(key + "text.font: must be a font file");
      if (std::string why = check_watermark_color(wm.text.color); !why.empty())
        errors.push_back(key + "text.color: " + why);
      if (std::string why = check_watermark_color(wm.text.box_color); !why.empty())
        errors.push_back(key + "text.box_color: " + why);
    }
    if (app.sign.bind_ip && app.sign.mode == "tencent")
      errors.push_back("apps." + name + ".sign.bind_ip: Tencent tokens are not signed over the client's address");
  }
  for (const auto* l : {&cfg.rtmps, &cfg.https}) {
    const char* key = l == &cfg.rtmps ? "rtmps.listen" : "https.listen";
    if (l->listen.empty()) continue;
    if (auto a = parse_listen_address(l->listen); !a) errors.push_back(std::string(key) + ": " + a.error());
  }
  if (!cfg.rtmps.listen.empty() || !cfg.https.listen.empty() || cfg.api.tls) {
    if (cfg.tls.cert_file.empty())
      errors.push_back("tls.cert_file: must be set for rtmps.listen, https.listen or api.tls");
    if (cfg.tls.key_file.empty()) errors.push_back("tls.key_file: must be set for rtmps.listen, https.listen or api.tls");
  }
  if (!cfg.transcode.media_dir.empty() && cfg.transcode.media_dir.front() != '/')
    errors.push_back("transcode.media_dir: must be an absolute directory (or empty: no file through the API)");
  if (cfg.storage.root.empty()) errors.push_back("storage.root: must not be empty");
  if (const S3Config& s3 = cfg.storage.s3; s3.enabled) {
    std::string_view ep = s3.endpoint;
    std::string_view host = ep.substr(0, 8) == "https://" ? ep.substr(8) : ep.substr(0, 7) == "http://" ? ep.substr(7) : "";
    if (!host.empty() && host.back() == '/') host.remove_suffix(1);
    if (host.empty() || host.find_first_of("/?#@ ") != std::string_view::npos)
      errors.push_back("storage.s3.endpoint: must be http://host[:port] or https://host[:port], no path");
    if (s3.bucket.empty() || s3.bucket.find_first_of("/?# ") != std::string::npos)
      errors.push_back("storage.s3.bucket: must be set (a bucket name) when storage.s3.enabled");
    if (s3.region.empty()) errors.push_back("storage.s3.region: must not be empty");
    if (s3.access_key.empty())
      errors.push_back("storage.s3.access_key: must be set when storage.s3.enabled (or WEIR_STORAGE_S3_ACCESS_KEY)");
    if (s3.secret_key.empty())
      errors.push_back("storage.s3.secret_key: must be set when storage.s3.enabled (or WEIR_STORAGE_S3_SECRET_KEY)");
    if (!s3.prefix.empty() && s3.prefix.front() == '/')
      errors.push_back("storage.s3.prefix: must not start with '/'");
  }
  auto check_urls = [&errors](const std::string& key, const std::string& list) {
    for (const std::string& u : split_tokens(list))
      if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0)
        errors.push_back(key + ": '" + u + "' is not an http:// or https:// URL");
  };
  check_urls("events.url", cfg.events.url);
  for (const auto& [name, app] : cfg.apps) check_urls("apps." + name + ".events.url", app.events.url);
  if (const ClusterRedisConfig& r = cfg.cluster.redis; !r.address.empty()) {
    if (auto hp = split_host_port(r.address); !hp) errors.push_back("cluster.redis.address: " + hp.error());
    if (r.key_prefix.size() > 64 ||
        std::any_of(r.key_prefix.begin(), r.key_prefix.end(), [](char c) {
          return !(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':' || c == '/');
        }))
      errors.push_back("cluster.redis.key_prefix: letters, digits and _ - . : / only, at most 64 characters");
    if (r.timeout_ms * 3 >= r.ttl_ms) errors.push_back("cluster.redis.timeout_ms: must be below a third of ttl_ms");
    if (r.advertise)
      if (auto u = cluster_advertise_url(cfg); !u) errors.push_back(u.error());
  }
  for (const auto& [name, app] : cfg.apps)
    if (app.upstream.discover && cfg.cluster.redis.address.empty())
      errors.push_back("apps." + name + ".upstream.discover: needs cluster.redis.address");
  if (cfg.apps.empty()) cfg.warnings.push_back("no apps configured: every publish and play will be refused");
  for (const auto* list : {&cfg.api.token, &cfg.api.read_token}) {
    const char* key = list == &cfg.api.token ? "api.token" : "api.read_token";
    for (const std::string& t : split_tokens(*list)) {
      if (t.size() < 16) errors.push_back(std::string(key) + ": each token must be at least 16 characters");
      for (char c : t)
        if (c <= ' ' || c == 0x7f) {
          errors.push_back(std::string(key) + ": a token may not hold spaces or control characters");
          break;
        }
    }
  }
  if (cfg.api.token.empty() && cfg.api.read_token.empty()) {
    if (auto a = parse_listen_address(cfg.api.listen); a && !is_loopback(*a))
      errors.push_back("api.listen: " + cfg.api.listen +
                       " is not a loopback address; set api.token (or WEIR_API_TOKEN) to expose the admin API");
  }

  for (auto& [name, app] : cfg.apps) app.name = name;
  if (!errors.empty()) {
    std::string msg = "config " + source + ": ";
    for (size_t i = 0; i < errors.size(); ++i) msg += (i ? "; " : "") + errors[i];
    return Status::error(msg);
  }
  return cfg;
}

}  // namespace

std::vector<std::string> ApiConfig::admin_tokens() const { return split_tokens(token); }
std::vector<std::string> EventsConfig::urls() const { return split_tokens(url); }
std::vector<std::string> AppEventsConfig::urls() const { return split_tokens(url); }
std::vector<std::string> ApiConfig::read_tokens() const { return split_tokens(read_token); }
std::vector<std::string> SignConfig::publish_key_list() const { return split_tokens(publish_keys); }
std::vector<std::string> SignConfig::play_key_list() const { return split_tokens(play_keys); }

const AppConfig* Config::find_app(std::string_view app) const {
  auto it = apps.find(std::string(app));
  if (it != apps.end()) return &it->second;
  it = apps.find("*");
  return it != apps.end() ? &it->second : nullptr;
}

int Config::effective_workers() const { return workers > 0 ? int(workers) : available_cores(); }

Result<Config> load_config_text(const std::string& text, char** env) {
  try {
    return load_from_node(YAML::Load(text), "<text>", env);
  } catch (const YAML::Exception& e) {
    return Status::errorf("config <text>: YAML syntax error at line {}: {}", e.mark.line + 1, e.msg);
  }
}

Result<Config> load_config_file(const std::string& path, char** env) {
  std::ifstream in(path);
  if (!in) return Status::errorf("config {}: cannot open the file", path);
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return load_from_node(YAML::Load(ss.str()), path, env);
  } catch (const YAML::Exception& e) {
    return Status::errorf("config {}: YAML syntax error at line {}: {}", path, e.mark.line + 1, e.msg);
  }
}

Result<std::string> cluster_advertise_url(const Config& cfg) {
  std::string url = cfg.cluster.redis.advertise_url;
  if (url.empty()) {
    auto a = parse_listen_address(cfg.rtmp.listen);
    if (!a) return Status::errorf("cluster.redis.advertise_url: must be set (rtmp.listen: {})", a.error());
    const std::string bound = a->to_string();  // "1.2.3.4:5" or "[::1]:5"
    const bool any = bound.rfind("0.0.0.0:", 0) == 0 || bound.rfind("[::]:", 0) == 0;
    if (any || a->port() == 0)
      return Status::errorf("cluster.redis.advertise_url: must be set when rtmp.listen ({}) has no specific host and "
                            "port: edges need an address to pull this server's streams from",
                            cfg.rtmp.listen);
    url = "rtmp://" + bound + "/{app}/{stream}";
  }
  if (std::string why = check_url_template(url); !why.empty())
    return Status::errorf("cluster.redis.advertise_url: '{}' {}", url, why);
  return url;
}

std::vector<std::pair<std::string, std::string>> list_config_keys() {
  std::vector<KeyInfo> keys;
  std::vector<std::string> names{"<name>"};
  KeyLister lister({}, keys, names);
  Config c;
  c.visit(lister);
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& k : keys) out.emplace_back(k.path, k.doc);
  return out;
}

}  // namespace weir::core
