#include <catch2/catch.hpp>

#include <algorithm>
#include <initializer_list>
#include <utility>
#include <string>
#include <vector>

#include "core/config.h"

using namespace weir::core;

namespace {
struct Env {
  std::vector<std::string> store;
  std::vector<char*> ptrs;
  Env(std::initializer_list<std::string> kv) : store(kv) {
    for (auto& s : store) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  char** get() { return ptrs.data(); }
};
char* kNoEnv[] = {nullptr};
}  // namespace

TEST_CASE("defaults load from an empty document") {
  auto c = load_config_text("", kNoEnv);
  REQUIRE(c.is_ok());
  CHECK(c->rtmp.listen == "0.0.0.0:1935");
  CHECK(c->http.listen == "0.0.0.0:8080");
  CHECK(c->log.format == "text");
  CHECK(c->workers == 0);
  CHECK(c->effective_workers() >= 1);
}

TEST_CASE("typed values parse, including byte sizes") {
  auto c = load_config_text(R"(
workers: 2
log: {level: debug, format: json}
rtmp: {listen: "127.0.0.1:0", chunk_size: 4096}
apps:
  live:
    gop_cache: off
    gop_cache_max_bytes: 32MiB
    viewer_skip_bytes: 512KiB
    reconnect_grace_ms: 1500
  "*":
    allow_takeover: yes
)",
                            kNoEnv);
  REQUIRE(c.is_ok());
  CHECK(c->workers == 2);
  CHECK(c->log.level == "debug");
  CHECK(c->rtmp.chunk_size == 4096);
  const AppConfig* live = c->find_app("live");
  REQUIRE(live);
  CHECK_FALSE(live->gop_cache);
  CHECK(uint64_t(live->gop_cache_max_bytes) == 32u * 1024 * 1024);
  CHECK(uint64_t(live->viewer_skip_bytes) == 512u * 1024);
  CHECK(live->reconnect_grace_ms == 1500);
  const AppConfig* other = c->find_app("anything");
  REQUIRE(other);
  CHECK(other->allow_takeover);
}

TEST_CASE("an app that is not configured is not found without a wildcard") {
  auto c = load_config_text("apps: {live: {}}", kNoEnv);
  REQUIRE(c.is_ok());
  CHECK(c->find_app("live") != nullptr);
  CHECK(c->find_app("other") == nullptr);
}

TEST_CASE("errors name the key path and the line") {
  auto unknown = load_config_text("workers: 1\nrtmp:\n  lisen: 1.2.3.4:1\n", kNoEnv);
  REQUIRE_FALSE(unknown.is_ok());
  CHECK_THAT(unknown.error(), Catch::Contains("rtmp.lisen (line 3): unknown key"));

  auto range = load_config_text("apps:\n  live:\n    gop_cache_max_ms: -5\n", kNoEnv);
  REQUIRE_FALSE(range.is_ok());
  CHECK_THAT(range.error(), Catch::Contains("apps.live.gop_cache_max_ms (line 3): must be from 0 to"));

  auto type = load_config_text("apps: {live: {gop_cache: maybe}}", kNoEnv);
  REQUIRE_FALSE(type.is_ok());
  CHECK_THAT(type.error(), Catch::Contains("apps.live.gop_cache"));
  CHECK_THAT(type.error(), Catch::Contains("expected true or false"));

  auto oneof = load_config_text("log: {format: xml}", kNoEnv);
  REQUIRE_FALSE(oneof.is_ok());
  CHECK_THAT(oneof.error(), Catch::Contains("log.format (line 1): must be one of text|json"));

  auto size = load_config_text("apps: {live: {gop_cache_max_bytes: 12 parsecs}}", kNoEnv);
  REQUIRE_FALSE(size.is_ok());
  CHECK_THAT(size.error(), Catch::Contains("apps.live.gop_cache_max_bytes"));

  auto addr = load_config_text("http: {listen: 'example.com:80'}", kNoEnv);
  REQUIRE_FALSE(addr.is_ok());
  CHECK_THAT(addr.error(), Catch::Contains("http.listen"));

  auto shape = load_config_text("rtmp: [1, 2]", kNoEnv);
  REQUIRE_FALSE(shape.is_ok());
  CHECK_THAT(shape.error(), Catch::Contains("rtmp (line 1): expected a map"));

  auto syntax = load_config_text("rtmp: {listen: [", kNoEnv);
  REQUIRE_FALSE(syntax.is_ok());
  CHECK_THAT(syntax.error(), Catch::Contains("YAML syntax error"));

  auto appname = load_config_text("apps: {'bad/name': {}}", kNoEnv);
  REQUIRE_FALSE(appname.is_ok());
  CHECK_THAT(appname.error(), Catch::Contains("apps.bad/name"));
}

TEST_CASE("listen addresses are checked where they are written") {
  auto file = load_config_text("workers: 1\nrtmp:\n  listen: nohost\n", kNoEnv);
  REQUIRE_FALSE(file.is_ok());
  CHECK_THAT(file.error(), Catch::Contains("rtmp.listen (line 3): 'nohost'"));
  Env env{"WEIR_HTTP_LISTEN=localhost:notaport"};
  auto from_env = load_config_text("", env.get());
  REQUIRE_FALSE(from_env.is_ok());
  CHECK_THAT(from_env.error(), Catch::Contains("http.listen (from WEIR_HTTP_LISTEN): 'localhost:notaport'"));
}

TEST_CASE("duplicate keys are refused") {
  auto top = load_config_text("workers: 1\nworkers: 2\n", kNoEnv);
  REQUIRE_FALSE(top.is_ok());
  CHECK_THAT(top.error(), Catch::Contains("workers (line 2): duplicate key"));
  auto app = load_config_text("apps:\n  live: {}\n  live: {gop_cache: false}\n", kNoEnv);
  REQUIRE_FALSE(app.is_ok());
  CHECK_THAT(app.error(), Catch::Contains("apps.live (line 3): duplicate key"));
}

TEST_CASE("several errors are reported together") {
  auto c = load_config_text("workers: 999\nbogus: 1\n", kNoEnv);
  REQUIRE_FALSE(c.is_ok());
  CHECK_THAT(c.error(), Catch::Contains("workers (line 1)"));
  CHECK_THAT(c.error(), Catch::Contains("bogus (line 2): unknown key"));
}

TEST_CASE("environment variables override keys") {
  Env env{"WEIR_RTMP_LISTEN=127.0.0.1:19350", "WEIR_HTTP_LISTEN=127.0.0.1:0", "WEIR_APPS_LIVE_GOP_CACHE=false",
          "WEIR_WORKERS=3", "PATH=/usr/bin"};
  auto c = load_config_text("rtmp: {listen: '0.0.0.0:1935'}\napps: {live: {gop_cache: true}}\n", env.get());
  REQUIRE(c.is_ok());
  CHECK(c->rtmp.listen == "127.0.0.1:19350");
  CHECK(c->http.listen == "127.0.0.1:0");
  CHECK(c->workers == 3);
  CHECK_FALSE(c->find_app("live")->gop_cache);
  CHECK(c->warnings.empty());
}

TEST_CASE("environment overrides reach nested app sections, also for app names with dots") {
  Env env{"WEIR_APPS_LIVE_HLS_SEGMENT_MS=4000", "WEIR_APPS_TV_EU_TIMESHIFT_ENABLED=true"};
  auto c = load_config_text("apps:\n  live: {}\n  tv.eu: {}\n", env.get());
  REQUIRE(c.is_ok());
  CHECK(c->find_app("live")->hls.segment_ms == 4000);
  CHECK(c->find_app("tv.eu")->timeshift.enabled);
  CHECK_FALSE(c->find_app("live")->timeshift.enabled);
}

TEST_CASE("nested app sections are validated with their full path") {
  auto c = load_config_text("apps:\n  live:\n    hls:\n      segment_ms: 10\n      bogus: 1\n", kNoEnv);
  REQUIRE_FALSE(c.is_ok());
  CHECK_THAT(c.error(), Catch::Contains("apps.live.hls.segment_ms (line 4): must be from 1000"));
  CHECK_THAT(c.error(), Catch::Contains("apps.live.hls.bogus (line 5): unknown key"));
}

TEST_CASE("a bad value from the environment names the variable") {
  Env env{"WEIR_WORKERS=lots"};
  auto c = load_config_text("", env.get());
  REQUIRE_FALSE(c.is_ok());
  CHECK_THAT(c.error(), Catch::Contains("workers (from WEIR_WORKERS): expected an integer"));
}

TEST_CASE("an unknown WEIR_ variable is a warning, not an error") {
  Env env{"WEIR_NO_SUCH_KEY=1"};
  auto c = load_config_text("apps: {live: {}}", env.get());
  REQUIRE(c.is_ok());
  REQUIRE(c->warnings.size() == 1);
  CHECK_THAT(c->warnings[0], Catch::Contains("WEIR_NO_SUCH_KEY names no config key"));
}

TEST_CASE("env_name_for maps key paths") {
  CHECK(config::env_name_for("rtmp.listen") == "WEIR_RTMP_LISTEN");
  CHECK(config::env_name_for("apps.my-app.gop_cache") == "WEIR_APPS_MY_APP_GOP_CACHE");
}

TEST_CASE("every key is listed with documentation") {
  auto keys = list_config_keys();
  bool saw_listen = false, saw_app_key = false;
  for (auto& [k, doc] : keys) {
    CHECK_FALSE(doc.empty());
    if (k == "rtmp.listen") saw_listen = true;
    if (k == "apps.<name>.gop_cache") saw_app_key = true;
  }
  CHECK(saw_listen);
  CHECK(saw_app_key);
}

TEST_CASE("record settings are typed and checked, with the key named") {
  auto ok = load_config_text(R"(
storage: {root: /srv/weir, writer_queue_bytes: 8MiB}
apps:
  rec:
    record: {enabled: true, streams: "cam*, show", segment_s: 30, fragment_ms: 250, path: "{app}/{yyyy}/{asset}",
             resume_s: 10, fsync: fragment, retention_days: 7, retention_bytes: 10GiB}
)",
                             kNoEnv);
  REQUIRE(ok);
  const auto& r = ok->apps.at("rec").record;
  CHECK(r.enabled);
  CHECK(r.streams == "cam*, show");
  CHECK(r.segment_s == 30);
  CHECK(r.fsync == "fragment");
  CHECK(r.retention_bytes == 10LL << 30);
  CHECK(ok->storage.writer_queue_bytes == 8 << 20);
  for (auto [yaml, key] : std::vector<std::pair<std::string, std::string>>{
           {"apps: {rec: {record: {path: \"/abs/{asset}\"}}}", "apps.rec.record.path"},
           {"apps: {rec: {record: {path: \"{app}/{stream}\"}}}", "apps.rec.record.path"},
           {"apps: {rec: {record: {path: \"../{asset}\"}}}", "apps.rec.record.path"},
           {"apps: {rec: {record: {path: \"{app}/{nope}/{asset}\"}}}", "apps.rec.record.path"},
           {"apps: {rec: {record: {fsync: always}}}", "apps.rec.record.fsync"},
           {"apps: {rec: {record: {segment_s: 1}}}", "apps.rec.record.segment_s"},
           {"apps: {rec: {record: {segment_s: 2, fragment_ms: 5000}}}", "apps.rec.record.fragment_ms"},
           {"apps: {rec: {record: {colour: red}}}", "apps.rec.record.colour"},
           {"storage: {root: \"\"}\napps: {rec: {}}", "storage.root"},
           {"storage: {workers: 0}\napps: {rec: {}}", "storage.workers"}}) {
    auto c = load_config_text(yaml, kNoEnv);
    INFO(yaml);
    REQUIRE_FALSE(c);
    CHECK_THAT(c.error(), Catch::Contains(key));
  }
}

TEST_CASE("snapshot keys are typed and checked with the key named") {
  auto ok = load_config_text(R"(
snapshot: {threads: 3, max_queued: 10, max_waiters: 50}
apps:
  live:
    snapshot: {on_demand: false, cache_ms: 2500, interval_s: 5, width: 320, format: png,
               dir: "pics/{app}/{stream}", keep: 4}
)",
                             kNoEnv);
  REQUIRE(ok);
  CHECK(ok->snapshot.threads == 3);
  CHECK(ok->snapshot.max_waiters == 50);
  const auto& s = ok->apps.at("live").snapshot;
  CHECK_FALSE(s.on_demand);
  CHECK(s.cache_ms == 2500);
  CHECK(s.interval_s == 5);
  CHECK(s.format == "png");
  CHECK(s.dir == "pics/{app}/{stream}");
  CHECK(s.keep == 4);
  CHECK(load_config_text("apps: {live: {}}", kNoEnv)->apps.at("live").snapshot.cache_ms == 1000);
  for (auto [yaml, key] : std::vector<std::pair<std::string, std::string>>{
           {"apps: {a: {snapshot: {dir: \"/abs/{app}/{stream}\"}}}", "apps.a.snapshot.dir"},
           {"apps: {a: {snapshot: {dir: \"{app}\"}}}", "apps.a.snapshot.dir"},
           {"apps: {a: {snapshot: {dir: \"../{app}/{stream}\"}}}", "apps.a.snapshot.dir"},
           {"apps: {a: {snapshot: {dir: \"{app}/{stream}/{time}\"}}}", "apps.a.snapshot.dir"},
           {"apps: {a: {snapshot: {format: gif}}}", "apps.a.snapshot.format"},
           {"apps: {a: {snapshot: {width: 1}}}", "apps.a.snapshot.width"},
           {"apps: {a: {snapshot: {cache_ms: -1}}}", "apps.a.snapshot.cache_ms"},
           {"apps: {a: {snapshot: {size: 3}}}", "apps.a.snapshot.size"},
           {"snapshot: {threads: 0}\napps: {a: {}}", "snapshot.threads"},
           {"snapshot: {max_queued: 0}\napps: {a: {}}", "snapshot.max_queued"}}) {
    auto c = load_config_text(yaml, kNoEnv);
    INFO(yaml);
    REQUIRE_FALSE(c);
    CHECK_THAT(c.error(), Catch::Contains(key));
  }
}

TEST_CASE("storage.s3 is typed, checked with the key named, and takes its keys from the environment") {
  Env env{"WEIR_STORAGE_S3_ACCESS_KEY=AKIAEXAMPLE", "WEIR_STORAGE_S3_SECRET_KEY=s3cr3t"};
  auto ok = load_config_text(R"(
storage:
  s3: {enabled: true, endpoint: "https://s3.eu-west-1.amazonaws.com", bucket: vod, path_style: false,
       prefix: "media/", part_size: 8MiB, delete_local: true, presign_ttl_s: 600, max_retries: 3, backoff_ms: 500}
apps: {rec: {}}
)",
                             env.get());
  REQUIRE(ok);
  const auto& s3 = ok->storage.s3;
  CHECK(s3.enabled);
  CHECK(s3.access_key == "AKIAEXAMPLE");
  CHECK(s3.secret_key == "s3cr3t");
  CHECK(s3.part_size == 8u << 20);
  CHECK(s3.region == "us-east-1");
  CHECK(s3.uploads == 2);
  CHECK_FALSE(s3.path_style);
  // Off: nothing is required.
  CHECK(load_config_text("apps: {rec: {}}", kNoEnv));
  for (auto [yaml, key] : std::vector<std::pair<std::string, std::string>>{
           {"storage: {s3: {enabled: true, bucket: b, access_key: a, secret_key: s, endpoint: \"s3.amazonaws.com\"}}",
            "storage.s3.endpoint"},
           {"storage: {s3: {enabled: true, bucket: b, access_key: a, secret_key: s, endpoint: \"http://x/path\"}}",
            "storage.s3.endpoint"},
           {"storage: {s3: {enabled: true, access_key: a, secret_key: s}}", "storage.s3.bucket"},
           {"storage: {s3: {enabled: true, bucket: b, secret_key: s}}", "storage.s3.access_key"},
           {"storage: {s3: {enabled: true, bucket: b, access_key: a}}", "storage.s3.secret_key"},
           {"storage: {s3: {part_size: 4MiB}}", "storage.s3.part_size"},
           {"storage: {s3: {uploads: 0}}", "storage.s3.uploads"},
           {"storage: {s3: {presign_ttl_s: 604801}}", "storage.s3.presign_ttl_s"},
           {"storage: {s3: {enabled: true, bucket: b, access_key: a, secret_key: s, prefix: \"/x\"}}",
            "storage.s3.prefix"}}) {
    auto c = load_config_text(yaml + "\napps: {rec: {}}", kNoEnv);
    INFO(yaml);
    REQUIRE_FALSE(c);
    CHECK_THAT(c.error(), Catch::Contains(key));
  }
}

TEST_CASE("apps.<app>.sign is typed, checked with the key named, and takes its keys from the environment") {
  Env env{"WEIR_APPS_LIVE_SIGN_PLAY_KEYS=play-primary-1, play-secondary-2"};
  auto ok = load_config_text(R"(
apps:
  live: {sign: {publish_keys: "pub-primary-1", bind_ip: true, hls_session_s: 30}}
  open: {}
  tx: {sign: {mode: tencent, play_keys: "tencentkey1"}}
)",
                             env.get());
  REQUIRE(ok);
  const auto& s = ok->apps.at("live").sign;
  CHECK(s.signs_publish());
  CHECK(s.signs_play());
  CHECK(s.publish_key_list() == std::vector<std::string>{"pub-primary-1"});
  CHECK(s.play_key_list() == std::vector<std::string>{"play-primary-1", "play-secondary-2"});
  CHECK(s.mode == "weir");
  CHECK(s.bind_ip);
  CHECK(s.hls_session_s == 30);
  const auto& open = ok->apps.at("open").sign;
  CHECK_FALSE(open.signs_publish());
  CHECK_FALSE(open.signs_play());
  CHECK(open.hls_session_s == 60);
  CHECK(ok->apps.at("tx").sign.mode == "tencent");
  for (auto [yaml, key] : std::vector<std::pair<std::string, std::string>>{
           {"apps: {a: {sign: {play_keys: \"short\"}}}", "apps.a.sign.play_keys"},
           {"apps: {a: {sign: {publish_keys: \"good-key-1, bad key 2\"}}}", "apps.a.sign.publish_keys"},
           {"apps: {a: {sign: {publish_keys: \" , \"}}}", "apps.a.sign.publish_keys"},
           {"apps: {a: {sign: {play_keys: \"" + std::string(257, 'k') + "\"}}}", "apps.a.sign.play_keys"},
           {"apps: {a: {sign: {mode: aws}}}", "apps.a.sign.mode"},
           {"apps: {a: {sign: {mode: tencent, bind_ip: true}}}", "apps.a.sign.bind_ip"},
           {"apps: {a: {sign: {hls_session_s: 1}}}", "apps.a.sign.hls_session_s"},
           {"apps: {a: {sign: {keys: x}}}", "apps.a.sign.keys"}}) {
    auto c = load_config_text(yaml, kNoEnv);
    INFO(yaml);
    REQUIRE_FALSE(c);
    CHECK_THAT(c.error(), Catch::Contains(key));
  }
  // A key never appears in an error message.
  auto bad = load_config_text("apps: {a: {sign: {play_keys: \"secret-one, tiny\"}}}", kNoEnv);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error(), !Catch::Contains("secret-one"));
}

TEST_CASE("apps.<app>.access lists parse from YAML lists and comma-separated strings, bad entries named") {
  Env env{"WEIR_APPS_OPEN_ACCESS_PLAY_DENY=192.0.2.0/24, 2001:db8::/32"};
  auto ok = load_config_text(R"(
limits: {max_connections_per_ip: 3}
apps:
  live:
    access:
      publish_allow: [10.0.0.0/8, "::1"]
      play_deny: "127.0.0.1"
      referers: [example.com, "*.example.com"]
      allow_empty_referer: false
  open: {}
)",
                             env.get());
  REQUIRE(ok);
  CHECK(ok->limits.max_connections_per_ip == 3);
  const auto& a = ok->apps.at("live").access;
  CHECK(a.publish_allow.size() == 2);
  CHECK(a.publish_allow.contains(*parse_ip("10.1.2.3")));
  CHECK(a.publish_allow.contains(*parse_ip("::1")));
  CHECK(a.publish_deny.empty());
  CHECK(a.play_deny.contains(*parse_ip("127.0.0.1")));
  CHECK(a.referers == std::vector<std::string>{"example.com", "*.example.com"});
  CHECK_FALSE(a.allow_empty_referer);
  const auto& open = ok->apps.at("open").access;
  CHECK(open.play_deny.size() == 2);  // from the environment
  CHECK(open.play_deny.contains(*parse_ip("2001:db8::7")));
  CHECK(open.allow_empty_referer);
  CHECK(ok->limits.max_connections == 20000);
  CHECK(load_config_text("", kNoEnv)->limits.max_connections_per_ip == 0);

  for (auto [yaml, needles] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"apps:\n  a:\n    access:\n      play_deny: [127.0.0.1, 10.0.0.0/33]\n",
            {"apps.a.access.play_deny", "line 4", "'10.0.0.0/33'", "over 32"}},
           {"apps:\n  a:\n    access:\n      publish_allow:\n        - 10.0.0.1/8\n",
            {"apps.a.access.publish_allow", "line 5", "'10.0.0.1/8'", "10.0.0.0/8"}},
           {"apps: {a: {access: {play_allow: \"1.2.3.4, example.com\"}}}", {"apps.a.access.play_allow", "'example.com'"}},
           {"apps: {a: {access: {publish_deny: {x: 1}}}}", {"apps.a.access.publish_deny", "expected a list"}},
           {"apps: {a: {access: {play_deny: [[1.2.3.4]]}}}", {"apps.a.access.play_deny"}},
           {"apps: {a: {access: {referers: [\"https://example.com/\"]}}}", {"apps.a.access.referers", "https://example.com/"}},
           {"apps: {a: {access: {referers: \"*\"}}}", {"apps.a.access.referers"}},
           {"apps: {a: {access: {allow_empty_referer: perhaps}}}", {"apps.a.access.allow_empty_referer"}},
           {"limits: {max_connections_per_ip: -1}", {"limits.max_connections_per_ip"}}}) {
    auto c = load_config_text(yaml, kNoEnv);
    INFO(yaml);
    REQUIRE_FALSE(c);
    for (const auto& n : needles) CHECK_THAT(c.error(), Catch::Contains(n));
  }
  Env bad_env{"WEIR_APPS_A_ACCESS_PLAY_ALLOW=10.0.0.0/8,300.1.1.1"};
  auto from_env = load_config_text("apps: {a: {}}", bad_env.get());
  REQUIRE_FALSE(from_env);
  CHECK_THAT(from_env.error(), Catch::Contains("WEIR_APPS_A_ACCESS_PLAY_ALLOW"));
  CHECK_THAT(from_env.error(), Catch::Contains("'300.1.1.1'"));
}

TEST_CASE("apps.<app>.forward: destinations and settings are typed and checked at load") {
  auto ok = load_config_text(
      "apps:\n  live:\n    forward:\n      urls: ['rtmp://b:1935/{app}/{stream}', 'rtmps://x.example.com/app/{stream}?key=K']\n"
      "      backoff_ms: 200\n      backoff_max_ms: 4000\n      max_queued_bytes: 2MiB\n      connect_timeout_ms: 1500\n",
      kNoEnv);
  REQUIRE(ok.is_ok());
  const ForwardConfig& f = ok->find_app("live")->forward;
  CHECK(f.urls == std::vector<std::string>{"rtmp://b:1935/{app}/{stream}", "rtmps://x.example.com/app/{stream}?key=K"});
  CHECK(f.backoff_ms == 200);
  CHECK(f.backoff_max_ms == 4000);
  CHECK(uint64_t(f.max_queued_bytes) == 2u << 20);
  CHECK(f.connect_timeout_ms == 1500);
  auto defaults = load_config_text("apps: {live: {}}", kNoEnv);  // owns the config `def` refers to
  REQUIRE(defaults.is_ok());
  const ForwardConfig& def = defaults->find_app("live")->forward;
  CHECK(def.urls.empty());
  CHECK(def.backoff_ms == 1000);
  CHECK(def.backoff_max_ms == 30000);

  auto srt = load_config_text("apps:\n  live:\n    forward:\n      urls: ['srt://b:10080?streamid=#!::r={app}/{stream},m=publish']\n", kNoEnv);
  REQUIRE(srt.is_ok());
  CHECK(srt->find_app("live")->forward.urls == std::vector<std::string>{"srt://b:10080?streamid=#!::r={app}/{stream},m=publish"});
  auto srt_bad = load_config_text("apps:\n  live:\n    forward:\n      urls: ['srt://b:10080?streamid={stream}&latency=x']\n", kNoEnv);
  REQUIRE_FALSE(srt_bad.is_ok());
  CHECK_THAT(srt_bad.error(), Catch::Contains("apps.live.forward.urls (line 4)"));
  CHECK_THAT(srt_bad.error(), Catch::Contains("latency: must be 0 to 60000"));
  auto http = load_config_text("apps: {live: {forward: {urls: ['http://b/{app}/{stream}.flv']}}}", kNoEnv);
  REQUIRE_FALSE(http.is_ok());
  CHECK_THAT(http.error(), Catch::Contains("apps.live.forward.urls (line 1): 'http://b/{app}/{stream}.flv' is not an "
                                           "rtmp://, rtmps:// or srt:// URL"));
  auto placeholder = load_config_text("apps: {live: {forward: {urls: ['rtmp://b/{app}/{name}']}}}", kNoEnv);
  REQUIRE_FALSE(placeholder.is_ok());
  CHECK_THAT(placeholder.error(), Catch::Contains("unknown placeholder"));
  auto backoff = load_config_text("apps: {live: {forward: {backoff_ms: 5000, backoff_max_ms: 1000}}}", kNoEnv);
  REQUIRE_FALSE(backoff.is_ok());
  CHECK_THAT(backoff.error(), Catch::Contains("apps.live.forward.backoff_max_ms: must be at least backoff_ms"));
  auto queue = load_config_text("apps: {live: {forward: {max_queued_bytes: 100}}}", kNoEnv);
  REQUIRE_FALSE(queue.is_ok());
  CHECK_THAT(queue.error(), Catch::Contains("apps.live.forward.max_queued_bytes"));
  auto typed = load_config_text("apps: {live: {forward: {backoff_ms: soon}}}", kNoEnv);
  REQUIRE_FALSE(typed.is_ok());
  CHECK_THAT(typed.error(), Catch::Contains("apps.live.forward.backoff_ms"));
  auto unknown = load_config_text("apps: {live: {forward: {url: 'rtmp://b/{app}/{stream}'}}}", kNoEnv);
  REQUIRE_FALSE(unknown.is_ok());
  CHECK_THAT(unknown.error(), Catch::Contains("apps.live.forward.url"));

  Env env{"WEIR_APPS_LIVE_FORWARD_URLS=rtmp://a/{app}/{stream}, rtmp://b/{app}/{stream}"};
  auto e = load_config_text("apps: {live: {}}", env.get());
  REQUIRE(e.is_ok());
  CHECK(e->find_app("live")->forward.urls == std::vector<std::string>{"rtmp://a/{app}/{stream}", "rtmp://b/{app}/{stream}"});
}

TEST_CASE("apps.<app>.upstream: URL templates, policy and backoff are checked at load") {
  auto ok = load_config_text(
      "apps:\n  live:\n    upstream:\n      urls: ['rtmp://o1:1935/{app}/{stream}', 'http://o2:8080/{app}/{stream}.flv']\n"
      "      policy: hash\n      idle_ms: 2000\n      token: 'sig=abc'\n",
      kNoEnv);
  REQUIRE(ok.is_ok());
  const UpstreamConfig& up = ok->find_app("live")->upstream;
  CHECK(up.urls == std::vector<std::string>{"rtmp://o1:1935/{app}/{stream}", "http://o2:8080/{app}/{stream}.flv"});
  CHECK(up.policy == "hash");
  CHECK(up.idle_ms == 2000);
  CHECK(up.token == "sig=abc");
  CHECK(load_config_text("apps: {live: {}}", kNoEnv)->find_app("live")->upstream.urls.empty());

  auto scheme = load_config_text("apps:\n  live:\n    upstream:\n      urls: ['udp://o3:10080?streamid={stream}']\n", kNoEnv);
  REQUIRE_FALSE(scheme.is_ok());
  CHECK_THAT(scheme.error(), Catch::Contains("apps.live.upstream.urls (line 4): 'udp://o3:10080?streamid={stream}' is "
                                             "not an rtmp://, rtmps://, http:// or srt:// URL"));
  auto srt = load_config_text(
      "apps:\n  live:\n    upstream:\n      publish: local\n"
      "      urls: ['srt://o3:10080?streamid=#!::r={app}/{stream},m=request&latency=200']\n",
      kNoEnv);
  REQUIRE(srt.is_ok());
  CHECK(srt->find_app("live")->upstream.urls.size() == 1);
  for (auto [url, why] : {std::pair<const char*, const char*>{"srt://o3?streamid={stream}", "needs a port"},
                          {"srt://o3:0?streamid={stream}", "bad port"},
                          {"srt://o3:1?streamid={stream}&mode=listener", "mode: only 'caller'"},
                          {"srt://o3:1?streamid={stream}&passphrase=short", "passphrase: must be 10 to 79"},
                          {"srt://o3:1?streamid={stream}&pbkeylen=20&passphrase=0123456789", "pbkeylen"},
                          {"srt://o3:1?streamid={stream}&streamid=x", "given twice"},
                          {"srt://o3:1?streamid={stream}&foo=1", "unknown query key 'foo'"},
                          {"srt://o3:1?streamid={stream}%2", "incomplete %-escape"}}) {
    INFO(url);
    auto r = load_config_text(std::string("apps: {live: {upstream: {publish: local, urls: ['") + url + "']}}}", kNoEnv);
    REQUIRE_FALSE(r.is_ok());
    CHECK_THAT(r.error(), Catch::Contains("apps.live.upstream.urls (line 1)"));
    CHECK_THAT(r.error(), Catch::Contains(why));
  }
  auto placeholder = load_config_text("apps: {live: {upstream: {urls: ['rtmp://o/{app}/{name}']}}}", kNoEnv);
  REQUIRE_FALSE(placeholder.is_ok());
  CHECK_THAT(placeholder.error(), Catch::Contains("unknown placeholder"));
  auto nostream = load_config_text("apps: {live: {upstream: {urls: ['rtmp://o/{app}/fixed']}}}", kNoEnv);
  REQUIRE_FALSE(nostream.is_ok());
  CHECK_THAT(nostream.error(), Catch::Contains("must contain {stream}"));
  auto nohost = load_config_text("apps: {live: {upstream: {urls: ['http:///{app}/{stream}.flv']}}}", kNoEnv);
  REQUIRE_FALSE(nohost.is_ok());
  CHECK_THAT(nohost.error(), Catch::Contains("has no host"));
  auto policy = load_config_text("apps: {live: {upstream: {policy: random}}}", kNoEnv);
  REQUIRE_FALSE(policy.is_ok());
  CHECK_THAT(policy.error(), Catch::Contains("apps.live.upstream.policy (line 1): must be one of in_order|round_robin|hash"));
  auto backoff = load_config_text("apps: {live: {upstream: {backoff_ms: 5000, backoff_max_ms: 1000}}}", kNoEnv);
  REQUIRE_FALSE(backoff.is_ok());
  CHECK_THAT(backoff.error(), Catch::Contains("apps.live.upstream.backoff_max_ms: must be at least backoff_ms"));

  // Publish at the edge: forward by default; typed; forward needs an RTMP origin.
  CHECK(up.publish == "forward");
  CHECK(ok->find_app("live")->forward.send_via);
  auto local = load_config_text("apps: {live: {upstream: {urls: ['http://o/{app}/{stream}.flv'], publish: local}}}",
                                kNoEnv);
  REQUIRE(local.is_ok());
  CHECK(local->find_app("live")->upstream.publish == "local");
  auto only_http = load_config_text("apps: {live: {upstream: {urls: ['http://o/{app}/{stream}.flv']}}}", kNoEnv);
  REQUIRE_FALSE(only_http.is_ok());
  CHECK_THAT(only_http.error(), Catch::Contains("apps.live.upstream.publish: forward needs an rtmp:// or rtmps:// "
                                                "template in upstream.urls"));
  auto bad_publish = load_config_text("apps: {live: {upstream: {publish: relay}}}", kNoEnv);
  REQUIRE_FALSE(bad_publish.is_ok());
  CHECK_THAT(bad_publish.error(), Catch::Contains("apps.live.upstream.publish (line 1): must be one of forward|local|refuse"));
  auto bad_via = load_config_text("apps: {live: {forward: {send_via: maybe}}}", kNoEnv);
  REQUIRE_FALSE(bad_via.is_ok());
  CHECK_THAT(bad_via.error(), Catch::Contains("apps.live.forward.send_via"));
  // Not an edge app (no urls, no discover): publish is not looked at.
  CHECK(load_config_text("apps: {live: {upstream: {publish: refuse}}}", kNoEnv).is_ok());

  // A WEIR_* override sets the list as one comma-separated string.
  Env env{"WEIR_APPS_LIVE_UPSTREAM_URLS=rtmp://a/{app}/{stream}, rtmp://b/{app}/{stream}"};
  auto e = load_config_text("apps: {live: {}}", env.get());
  REQUIRE(e.is_ok());
  CHECK(e->find_app("live")->upstream.urls == std::vector<std::string>{"rtmp://a/{app}/{stream}", "rtmp://b/{app}/{stream}"});
}

TEST_CASE("cluster.node_id is a node name or empty; max_hops is bounded") {
  auto def = load_config_text("", kNoEnv);
  REQUIRE(def.is_ok());
  CHECK(def->cluster.node_id.empty());
  CHECK(def->cluster.max_hops == 8);
  auto ok = load_config_text("cluster: {node_id: edge-eu_1, max_hops: 3}", kNoEnv);
  REQUIRE(ok.is_ok());
  CHECK(ok->cluster.node_id == "edge-eu_1");
  CHECK(ok->cluster.max_hops == 3);
  auto bad = load_config_text("cluster: {node_id: 'edge/1'}", kNoEnv);
  REQUIRE_FALSE(bad.is_ok());
  CHECK_THAT(bad.error(), Catch::Contains("cluster.node_id (line 1): must be 1 to 64 letters, digits, '_' or '-'"));
  auto hops = load_config_text("cluster: {max_hops: 0}", kNoEnv);
  REQUIRE_FALSE(hops.is_ok());
  CHECK_THAT(hops.error(), Catch::Contains("cluster.max_hops (line 1): must be from 1 to 64"));
}

TEST_CASE("cluster.redis: typed, checked at load, advertise URL derived from rtmp.listen") {
  auto off = load_config_text("apps: {live: {}}", kNoEnv);
  REQUIRE(off.is_ok());
  CHECK(off->cluster.redis.address.empty());
  CHECK(off->cluster.redis.key_prefix == "weir:");
  CHECK(off->cluster.redis.ttl_ms == 15000);
  CHECK(off->cluster.redis.advertise);
  CHECK_FALSE(off->find_app("live")->upstream.discover);

  auto ok = load_config_text(
      "rtmp: {listen: '10.0.0.5:1935'}\n"
      "cluster:\n  redis:\n    address: 'redis.internal:6380'\n    key_prefix: 'prod:weir:'\n    ttl_ms: 9000\n"
      "    timeout_ms: 200\n    max_queued: 64\n"
      "apps: {live: {upstream: {discover: true}}}\n",
      kNoEnv);
  REQUIRE(ok.is_ok());
  const ClusterRedisConfig& r = ok->cluster.redis;
  CHECK(r.address == "redis.internal:6380");
  CHECK(r.key_prefix == "prod:weir:");
  CHECK(r.ttl_ms == 9000);
  CHECK(r.timeout_ms == 200);
  CHECK(r.max_queued == 64);
  CHECK(ok->find_app("live")->upstream.discover);
  // Discover only: nowhere to push an encoder's stream to; said at load.
  CHECK(std::any_of(ok->warnings.begin(), ok->warnings.end(), [](const std::string& w) {
    return w.find("apps.live.upstream.publish: forward, but upstream.urls has no origin to push to") != std::string::npos;
  }));
  // No advertise_url: rtmp.listen's specific address.
  auto derived = cluster_advertise_url(*ok);
  REQUIRE(derived.is_ok());
  CHECK(*derived == "rtmp://10.0.0.5:1935/{app}/{stream}");

  // An explicit advertise_url wins (and a 0.0.0.0 listen is then fine).
  auto expl = load_config_text(
      "cluster: {redis: {address: '127.0.0.1:6379', advertise_url: 'http://edge-a:8080/{app}/{stream}.flv'}}\n", kNoEnv);
  REQUIRE(expl.is_ok());
  CHECK(*cluster_advertise_url(*expl) == "http://edge-a:8080/{app}/{stream}.flv");

  // rtmp.listen on every address and no advertise_url: refused, naming the key.
  auto any = load_config_text("cluster: {redis: {address: '127.0.0.1:6379'}}\n", kNoEnv);
  REQUIRE_FALSE(any.is_ok());
  CHECK_THAT(any.error(), Catch::Contains("cluster.redis.advertise_url: must be set when rtmp.listen (0.0.0.0:1935)"));
  auto port0 = load_config_text("rtmp: {listen: '127.0.0.1:0'}\ncluster: {redis: {address: '127.0.0.1:6379'}}\n", kNoEnv);
  REQUIRE_FALSE(port0.is_ok());
  CHECK_THAT(port0.error(), Catch::Contains("cluster.redis.advertise_url: must be set"));
  // ... unless this server only looks streams up.
  CHECK(load_config_text("cluster: {redis: {address: '127.0.0.1:6379', advertise: false}}\n", kNoEnv).is_ok());

  auto bad_url = load_config_text(
      "cluster: {redis: {address: '127.0.0.1:6379', advertise_url: 'srt://a:1/{stream}'}}\n", kNoEnv);
  REQUIRE_FALSE(bad_url.is_ok());
  // SRT is a pull transport too, but named in ?streamid=, not a path.
  CHECK_THAT(bad_url.error(), Catch::Contains("cluster.redis.advertise_url: 'srt://a:1/{stream}' is not a usable srt:// "
                                              "URL: has a path"));
  auto udp = load_config_text("cluster: {redis: {address: '127.0.0.1:6379', advertise_url: 'udp://a:1/{stream}'}}\n",
                              kNoEnv);
  REQUIRE_FALSE(udp.is_ok());
  CHECK_THAT(udp.error(), Catch::Contains("cluster.redis.advertise_url: 'udp://a:1/{stream}' is not an rtmp://"));
  auto bad_addr = load_config_text("cluster: {redis: {address: 'redis', advertise: false}}\n", kNoEnv);
  REQUIRE_FALSE(bad_addr.is_ok());
  CHECK_THAT(bad_addr.error(), Catch::Contains("cluster.redis.address: 'redis' is not HOST:PORT"));
  auto bad_port = load_config_text("cluster: {redis: {address: 'redis:0', advertise: false}}\n", kNoEnv);
  REQUIRE_FALSE(bad_port.is_ok());
  CHECK_THAT(bad_port.error(), Catch::Contains("cluster.redis.address: 'redis:0': port must be a number from 1"));
  auto bad_prefix = load_config_text("cluster: {redis: {address: 'r:1', advertise: false, key_prefix: 'a b'}}\n", kNoEnv);
  REQUIRE_FALSE(bad_prefix.is_ok());
  CHECK_THAT(bad_prefix.error(), Catch::Contains("cluster.redis.key_prefix: letters, digits"));
  auto slow = load_config_text("cluster: {redis: {address: 'r:1', advertise: false, ttl_ms: 3000, timeout_ms: 1000}}\n",
                               kNoEnv);
  REQUIRE_FALSE(slow.is_ok());
  CHECK_THAT(slow.error(), Catch::Contains("cluster.redis.timeout_ms: must be below a third of ttl_ms"));
  auto ttl = load_config_text("cluster:\n  redis:\n    ttl_ms: 10\n", kNoEnv);
  REQUIRE_FALSE(ttl.is_ok());
  CHECK_THAT(ttl.error(), Catch::Contains("cluster.redis.ttl_ms (line 3)"));
  auto discover = load_config_text("apps: {live: {upstream: {discover: true}}}\n", kNoEnv);
  REQUIRE_FALSE(discover.is_ok());
  CHECK_THAT(discover.error(), Catch::Contains("apps.live.upstream.discover: needs cluster.redis.address"));

  // Environment overrides reach the section like any other.
  Env env{"WEIR_CLUSTER_REDIS_ADDRESS=[::1]:6379", "WEIR_CLUSTER_REDIS_ADVERTISE_URL=rtmp://o1/{app}/{stream}"};
  auto e = load_config_text("", env.get());
  REQUIRE(e.is_ok());
  CHECK(e->cluster.redis.address == "[::1]:6379");
  CHECK(*cluster_advertise_url(*e) == "rtmp://o1/{app}/{stream}");
}

TEST_CASE("a rendition's audio: copy, aac or opus, with a bitrate in range, refused by its key's name") {
  auto ok = load_config_text("apps: {live: {renditions: {a: {height: 360, audio: aac, audio_bitrate_kbps: 64}, "
                             "b: {height: 180, audio: opus, audio_bitrate_kbps: 48}, c: {height: 144}}}}",
                             kNoEnv);
  REQUIRE(ok.is_ok());
  const auto& r = ok.value().apps.at("live").renditions;
  CHECK(r.at("a").audio == "aac");
  CHECK(r.at("a").audio_bitrate_kbps == 64);
  CHECK(r.at("b").audio == "opus");
  CHECK(r.at("c").audio == "copy");  // the default: today's pass-through
  CHECK(r.at("c").audio_bitrate_kbps == 128);

  auto codec = load_config_text("apps: {live: {renditions: {a: {height: 360, audio: mp3}}}}", kNoEnv);
  REQUIRE_FALSE(codec.is_ok());
  CHECK_THAT(codec.error(), Catch::Contains("apps.live.renditions.a.audio (line 1): must be one of copy|aac|opus"));
  auto rate = load_config_text("apps: {live: {renditions: {a: {height: 360, audio: opus, audio_bitrate_kbps: 600}}}}",
                               kNoEnv);
  REQUIRE_FALSE(rate.is_ok());
  CHECK_THAT(rate.error(), Catch::Contains("apps.live.renditions.a.audio_bitrate_kbps (line 1): must be from 16 to 510"));
}

TEST_CASE("watermark keys are typed and checked with their names") {
  auto ok = load_config_text(R"(
apps:
  live:
    watermark:
      enabled: true
      serve: replace
      image: {file: /srv/logo.png, position: "top-right+2%+3%", width_percent: 20, opacity: 80}
      text: {text: "%H:%M:%S", strftime: true, color: "#ffcc00@0.8", box: true, box_color: black@0.5}
)", kNoEnv);
  REQUIRE(ok.is_ok());
  const auto& wm = ok.value().apps.at("live").watermark;
  CHECK(wm.enabled);
  CHECK(wm.serve == "replace");
  CHECK(wm.image.width_percent == 20);
  CHECK(wm.text.strftime);
  CHECK(wm.output == "{stream}_wm");

  for (auto [yaml, key] : std::initializer_list<std::pair<const char*, const char*>>{
           {"apps: {live: {watermark: {image: {position: upper-left}}}}", "apps.live.watermark.image.position"},
           {"apps: {live: {watermark: {text: {position: 'top-left+5'}}}}", "apps.live.watermark.text.position"},
           {"apps: {live: {watermark: {text: {color: 'not a colour'}}}}", "apps.live.watermark.text.color"},
           {"apps: {live: {watermark: {text: {box_color: 'black@2'}}}}", "apps.live.watermark.text.box_color"},
           {"apps: {live: {watermark: {output: '{stream}'}}}", "apps.live.watermark.output"},
           {"apps: {live: {watermark: {clean_name: 'clean'}}}", "apps.live.watermark.clean_name"},
           {"apps: {live: {watermark: {serve: both}}}", "apps.live.watermark.serve"},
           {"apps: {live: {watermark: {image: {opacity: 150}}}}", "apps.live.watermark.image.opacity"},
           {"apps: {live: {watermark: {image: {logo: x}}}}", "apps.live.watermark.image.logo"},
       }) {
    auto bad = load_config_text(yaml, kNoEnv);
    INFO(yaml);
    REQUIRE_FALSE(bad.is_ok());
    CHECK_THAT(bad.error(), Catch::Contains(key));
  }
}
