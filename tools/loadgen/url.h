// The loadgen's target URL is a client::Url (src/client/url.h): one parser
// for the load generator and Weir's own clients. A run refuses non-loopback
// hosts unless the user passed --allow-remote (checked with is_loopback()).
#pragma once

#include "client/url.h"

namespace weir::loadgen {

using client::parse_url;
using client::resolve_target;
using client::rtmp_target;
using client::RtmpTarget;
using client::Url;

}  // namespace weir::loadgen
