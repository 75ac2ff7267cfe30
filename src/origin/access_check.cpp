#include "origin/access_check.h"

#include <fmt/format.h>

#include "core/cidr.h"
#include "core/config.h"
#include "core/host_pattern.h"
#include "origin/origin.h"

namespace weir::origin {

namespace {

bool http_play(AccessProtocol p) {
  switch (p) {
    case AccessProtocol::kHttpFlv:
    case AccessProtocol::kWsFlv:
    case AccessProtocol::kHttpTs:
    case AccessProtocol::kHlsPlaylist:
    case AccessProtocol::kHlsSegment:
    case AccessProtocol::kHlsPart:
    case AccessProtocol::kHlsKey:
    case AccessProtocol::kVod:
    case AccessProtocol::kSnapshot: return true;
    case AccessProtocol::kRtmp:
    case AccessProtocol::kSrt: return false;
  }
  return false;
}

bool host_listed(const std::vector<std::string>& patterns, std::string_view host) {
  for (const std::string& p : patterns)
    if (core::host_pattern_matches(p, host)) return true;
  return false;
}

// Why the header value is refused (the start of the reason), or "" when it
// names a listed host.
std::string referer_refusal(const std::vector<std::string>& patterns, std::string_view header, const char* name) {
  std::string_view host = core::url_host(header);
  if (host.empty()) return fmt::format("{} '{:.100}' names no host:", name, header);
  if (!host_listed(patterns, host)) return fmt::format("{} host '{:.100}'", name, host);
  return "";
}

}  // namespace

std::optional<AdmissionDecision> AccessCheck::check_now(const AdmissionRequest& req) {
  const core::AppConfig* cfg = origin_.config().find_app(req.app);
  if (!cfg) return AdmissionDecision::allow();  // the stream-name check refused it already
  const core::AccessConfig& a = cfg->access;
  const bool publish = req.direction == Direction::kPublish;
  const core::CidrList& allow = publish ? a.publish_allow : a.play_allow;
  const core::CidrList& deny = publish ? a.publish_deny : a.play_deny;
  if (!allow.empty() || !deny.empty()) {
    std::string_view ip_text = req.client_ip();
    ip_text = ip_text.substr(0, ip_text.find('%'));  // a link-local peer's zone id
    std::optional<core::IpAddress> ip = core::parse_ip(ip_text);
    // An address that does not parse matches no rule: refused by an allow
    // list, not by a deny list alone.
    const bool denied = ip ? deny.contains(*ip) : false;
    const bool not_allowed = !allow.empty() && !(ip && allow.contains(*ip));
    if (denied || not_allowed) {
      origin_.metrics().access_denied(req.protocol, Metrics::AccessDenial::kIp)++;
      return AdmissionDecision::deny(Refusal::kForbidden,
                                     fmt::format("address {} not allowed to {} app {}", ip ? ip->to_string() : req.client,
                                                 publish ? "publish" : "play", req.app));
    }
  }
  if (!publish && !a.referers.empty() && http_play(req.protocol)) {
    const std::string_view origin_header = req.origin == "null" ? std::string_view() : std::string_view(req.origin);
    std::string why;
    if (req.referer.empty() && origin_header.empty()) {
      if (!a.allow_empty_referer) why = "no Referer or Origin header (access.allow_empty_referer is false):";
    } else {
      if (!req.referer.empty()) why = referer_refusal(a.referers, req.referer, "Referer");
      if (why.empty() && !origin_header.empty()) why = referer_refusal(a.referers, origin_header, "Origin");
    }
    if (!why.empty()) {
      origin_.metrics().access_denied(req.protocol, Metrics::AccessDenial::kReferer)++;
      return AdmissionDecision::deny(Refusal::kForbidden, why + " not allowed to play app " + req.app);
    }
  }
  return AdmissionDecision::allow();
}

}  // namespace weir::origin
