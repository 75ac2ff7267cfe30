// The loadgen's target URL is a protocol::Url (src/protocol/url.h): one
// parser for the load generator and Weir's own clients. A run refuses non-loopback
// hosts unless the user passed --allow-remote (checked with is_loopback()).
#pragma once

#include "protocol/url.h"

namespace weir::loadgen {

using protocol::parse_url;
using protocol::resolve_target;
using protocol::rtmp_target;
using protocol::RtmpTarget;
using protocol::Url;

}  // namespace weir::loadgen
