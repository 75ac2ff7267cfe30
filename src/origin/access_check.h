// AccessCheck: the admission check behind apps.<app>.access (config.h
// AccessConfig). Answers at once (check_now, no call out), so SRT refuses in
// its handshake.
//
// Addresses, every protocol: the client's address (IPv4-mapped IPv6 counts as
// IPv4) is refused when the direction's deny list matches it, or when the
// allow list is non-empty and does not; deny wins over allow. Refusal
// kForbidden, "address X not allowed to publish|play app Y".
//
// Referer, HTTP plays only (HTTP-FLV, WS-FLV, .ts, HLS playlists, segments,
// parts, keys, VOD assets): with `referers` set, each Referer and Origin
// header the request carries must name a host the list matches (a request
// with both is checked on both); with neither (or Origin "null", what
// browsers send from opaque origins), allow_empty_referer decides. RTMP, SRT
// and publishes are not checked: those clients send no such header. A header
// is only what the client chose to send, so this keeps other sites from
// embedding the player, not a determined client out; signed URLs do that.
//
// Each refusal is counted in Metrics::access_denied by protocol and reason
// (ip, referer). Threads: check_now() on any thread (the immutable config and
// relaxed atomic counters).
#pragma once

#include "origin/admission.h"

namespace weir::origin {

class Origin;

class AccessCheck final : public AdmissionCheck {
 public:
  explicit AccessCheck(Origin& origin) : origin_(origin) {}
  std::string_view name() const override { return "access"; }
  std::optional<AdmissionDecision> check_now(const AdmissionRequest& req) override;

 private:
  Origin& origin_;
};

}  // namespace weir::origin
