// Edges and clusters: an app's upstream origins, its forwards, the node's name
// and discovery over Redis.
// Part of the typed configuration (core/config.h includes every part; the
// rules of config.h hold here: each field listed once in its visit(), read-only
// after start).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/cidr.h"
#include "core/config_schema.h"
#include "core/status.h"

namespace weir::core {

// Edge: where an app's streams are pulled from when a viewer asks for one that
// is not live here (edge/edge_puller.h). Empty `urls` = not an edge app.
struct UpstreamConfig {
  std::vector<std::string> urls;
  std::string policy = "in_order";
  int64_t connect_timeout_ms = 3000;
  int64_t stall_timeout_ms = 5000;
  int64_t backoff_ms = 500;
  int64_t backoff_max_ms = 10000;
  int64_t idle_ms = 10000;
  std::string token;
  std::string sign_key;
  int64_t sign_ttl_s = 3600;
  bool discover = false;
  std::string publish = "forward";

  template <class V>
  void visit(V& v) {
    v.field("urls", urls, config::UrlTemplates{},
            "Origins to pull a stream from, as URL templates with {app} and {stream}: "
            "rtmp://HOST:PORT/{app}/{stream} (RTMP, Enhanced RTMP codecs), http://HOST:PORT/{app}/{stream}.flv "
            "(HTTP-FLV) or srt://HOST:PORT?streamid=#!::r={app}/{stream},m=request (SRT caller, MPEG-TS; query "
            "keys streamid, passphrase, pbkeylen, latency, mode=caller). Empty = streams of this app are not pulled.");
    v.field("policy", policy, config::OneOf{{"in_order", "round_robin", "hash"}},
            "Which origin a new pull tries first: in_order (the first healthy one in the list), round_robin (the "
            "next one each time), hash (chosen by the stream name, so every edge asks the same origin); on failure "
            "the next ones follow in list order.");
    v.field("connect_timeout_ms", connect_timeout_ms, config::IntRange{100, 60000},
            "Time to connect to one origin and have the stream start playing; past it the next origin is tried.");
    v.field("stall_timeout_ms", stall_timeout_ms, config::IntRange{200, 600000},
            "A pull that receives no byte for this long has failed; the next origin is tried.");
    v.field("backoff_ms", backoff_ms, config::IntRange{0, 600000},
            "Wait before retrying after every origin has failed once; doubled per failed round up to backoff_max_ms.");
    v.field("backoff_max_ms", backoff_max_ms, config::IntRange{0, 3600000}, "Longest wait between rounds of retries.");
    v.field("idle_ms", idle_ms, config::IntRange{1000, 3600000},
            "Close a pull this long after its last viewer left (HLS: its last request).");
    v.field("token", token, config::Secret{},
            "Query string appended to every origin URL (key=value&...), for origins that require signed URLs.");
    v.field("sign_key", sign_key, config::Secret{},
            "The origins' play key (one of their apps.<app>.sign.play_keys): every upstream URL then carries a fresh "
            "Weir play token for its stream (expires=now+sign_ttl_s&token=...), as `weir sign` makes. Not for origins "
            "whose app binds tokens to the client address. Empty = no token is made.");
    v.field("sign_ttl_s", sign_ttl_s, config::IntRange{10, 31536000},
            "Lifetime of the tokens made with sign_key, in seconds; a pull already playing outlives its token.");
    v.field("discover", discover, config::NoCheck{},
            "Look a wanted stream up in cluster discovery (cluster.redis) first: an origin that has it is tried "
            "before `urls`, which stay the fallback (they may be empty). Needs cluster.redis.address.");
    v.field("publish", publish, config::OneOf{{"forward", "local", "refuse"}},
            "What an encoder publishing on this edge app gets (an app with urls or discover): forward (the stream "
            "plays here from the local hub and is pushed to one origin of the rtmp:// and rtmps:// urls, chosen "
            "by policy, failing over to the next with backoff; needs at least one such template), local (it stays "
            "on this node only) or refuse (the publish is refused: encoders must publish to an origin). An app "
            "with neither urls nor discover publishes locally whatever this says.");
  }
};

// Forward (restream): every stream published on the app is pushed to these
// destinations over RTMP or SRT (edge/forward_service.h). Read from the config
// generation a stream was published under: a reload applies to streams
// published after it.
struct ForwardConfig {
  std::vector<std::string> urls;
  int64_t connect_timeout_ms = 5000;
  int64_t backoff_ms = 1000;
  int64_t backoff_max_ms = 30000;
  config::ByteSize max_queued_bytes = 4 * config::MiB;
  bool send_via = true;

  template <class V>
  void visit(V& v) {
    v.field("urls", urls, config::ForwardUrlTemplates{},
            "Destinations every stream of this app is pushed to, as URL templates with {app} and {stream}: "
            "rtmp://HOST:PORT/{app}/{stream} or rtmps://HOST/APP/{stream}?key=K (RTMP publish, Enhanced RTMP "
            "codecs), or srt://HOST:PORT?streamid=#!::r={app}/{stream},m=publish (SRT caller, MPEG-TS in "
            "1316-byte messages; query keys streamid, passphrase, pbkeylen, latency, mode=caller). Empty = no forward. A reload applies to streams "
            "published after it; the admin API adds and removes destinations of a live stream.");
    v.field("connect_timeout_ms", connect_timeout_ms, config::IntRange{100, 60000},
            "Time to connect to a destination and have it accept the publish; past it the attempt failed.");
    v.field("backoff_ms", backoff_ms, config::IntRange{0, 600000},
            "Wait before reconnecting to a destination that failed; doubled per failed attempt up to "
            "backoff_max_ms, back to this once a connection lasted 2 s (its loss is retried at once).");
    v.field("backoff_max_ms", backoff_max_ms, config::IntRange{0, 3600000},
            "Longest wait between reconnects to a destination.");
    v.field("max_queued_bytes", max_queued_bytes, config::IntRange{64 * 1024, 1LL << 30},
            "Bytes that may wait unsent to one destination; past it packets are dropped up to the next keyframe "
            "(counted as dropped frames), so a slow destination never holds memory or delays the stream.");
    v.field("send_via", send_via, config::NoCheck{},
            "Add the chain of nodes the stream passed (weir_via=...) to the stream name's query of every "
            "destination, so that a Weir destination that is already in the chain refuses the publish (a forward "
            "loop). Set false for destinations that refuse unknown query parameters (loops through them are then "
            "not detected).");
  }
};

// Cluster discovery over Redis (src/cluster): every origin records where its
// live streams can be pulled; edges look a stream up there before their
// static upstream.urls. Read once at start (a reload keeps the running value).
struct ClusterRedisConfig {
  std::string address;
  std::string username;
  std::string password;
  std::string key_prefix = "weir:";
  int64_t ttl_ms = 15000;
  int64_t timeout_ms = 500;
  int64_t max_queued = 10000;
  bool advertise = true;
  std::string advertise_url;

  template <class V>
  void visit(V& v) {
    v.field("address", address, config::NoCheck{},
            "Redis server, HOST:PORT (a name is resolved off the event loops); empty = no cluster discovery.");
    v.field("username", username, config::NoCheck{},
            "Redis 6 ACL user sent with AUTH (needs password); empty = AUTH with the password alone (requirepass).");
    v.field("password", password, config::Secret{},
            "Password sent with AUTH on every connection before any command; empty = no AUTH. A refused AUTH "
            "counts as Redis unavailable (logged, reconnect with backoff). Better from the environment, "
            "WEIR_CLUSTER_REDIS_PASSWORD, than in this file.");
    v.field("key_prefix", key_prefix, config::NoCheck{},
            "Prefix of the keys: a live stream is the key <prefix><app>/<stream> holding its pull URL template "
            "(letters, digits and _ - . : / only, at most 64 characters).");
    v.field("ttl_ms", ttl_ms, config::IntRange{3000, 3600000},
            "Lifetime of a stream's key; refreshed every third of it while the stream is live, so a crashed origin's "
            "streams vanish after at most this long.");
    v.field("timeout_ms", timeout_ms, config::IntRange{10, 60000},
            "Deadline of a connect and of each command (hiredis has none): past it Redis counts as unavailable, the "
            "edge uses upstream.urls and the client reconnects with a backoff (0.25 s doubling to 8 s).");
    v.field("max_queued", max_queued, config::IntRange{16, 1000000},
            "Commands waiting for Redis at once; past it a command is refused (counted in "
            "weir_cluster_redis_commands_refused_total): a lookup falls back to upstream.urls, a record is retried "
            "at the next refresh. Keep it above the streams this server publishes.");
    v.field("advertise", advertise, config::NoCheck{},
            "Record the streams published here (encoders, not streams an edge pulls) in Redis; false: only look up.");
    v.field("advertise_url", advertise_url, config::NoCheck{},
            "URL template with {app} and {stream} that edges pull this server's streams from "
            "(rtmp://10.0.0.5:1935/{app}/{stream}, or http://.../{app}/{stream}.flv); empty = "
            "rtmp://<rtmp.listen>/{app}/{stream}, which needs a specific host and port in rtmp.listen.");
  }
};

// This node among others: its name in the chain of edges a pull passes
// through (edge/via.h), the longest chain it serves, and discovery on Redis.
struct ClusterConfig {
  std::string node_id;
  int64_t max_hops = 8;
  ClusterRedisConfig redis;

  template <class V>
  void visit(V& v) {
    v.field("node_id", node_id, config::NodeName{},
            "This node's name among the others (1 to 64 letters, digits, '_' or '-'); an edge adds it to the "
            "weir_via parameter of every upstream URL, a forward to that of every destination, and a play or "
            "publish whose weir_via already names this node is refused as a loop (508). Empty = a random name chosen at start. No two nodes may share one. Restart to change.");
    v.field("max_hops", max_hops, config::IntRange{1, 64},
            "A play or publish that has passed through this many nodes already (the names in its weir_via) is "
            "refused (508).");
    v.section("redis", redis);
  }
};

}  // namespace weir::core
