// The chain of edges a pull passed through, carried upstream in the
// `weir_via` query parameter of every URL an edge pulls (RTMP: the stream
// name's query; HTTP-FLV: the URL's): the names (cluster.node_id) of the
// edges in order, comma-separated (or '+'-separated: in an SRT stream id,
// where ',' separates the keys, edge/upstream_url.h). Forwards carry the same
// parameter downstream, on every destination's publish URL: the nodes the
// stream was published on so far (edge/forward_service.h). A node that finds its own name in a play
// request's chain is part of a loop and refuses it (edge/loop_check.h); the
// chain also bounds the depth (cluster.max_hops). Pure: no I/O.
//
//   viewer -> edge-a (pulls "...?weir_via=edge-a") -> edge-b (pulls
//   "...?weir_via=edge-a,edge-b") -> edge-a: refused, 508.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace weir::edge {

inline constexpr std::string_view kViaParam = "weir_via";

// "a,b" (or "a+b") -> {"a","b"}; "" -> {}. An entry that is not a node name
// (core/config_schema.h) is an error naming it.
core::Result<std::vector<std::string>> parse_via(std::string_view via);

// The chain to send upstream: `via` (as received, already checked) with
// `node` appended.
std::string via_with(std::string_view via, std::string_view node);

// `url` with weir_via=`chain` added to its query (after any query it has;
// an RTMP URL's query is its stream name's, where a publish's parameters go).
// Node names need no escaping.
std::string url_with_via(std::string_view url, std::string_view chain);
// srt:// (url_with_via calls it): the chain goes into an Access Control
// stream id (#!::..., raw or percent-encoded) as one more key, joined by '+'
// (',' separates the keys there); a URL with a short-form or no stream id is
// returned unchanged: the chain cannot travel, so loops through it are not
// detected.
std::string srt_url_with_via(std::string_view url, std::string_view chain);

// A name for a node that has none configured: "weir-" and 12 random hex digits.
std::string random_node_id();

}  // namespace weir::edge
