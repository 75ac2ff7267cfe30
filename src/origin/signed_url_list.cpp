#include "origin/signed_url_list.h"

#include <fmt/format.h>

#include "core/net.h"
#include "origin/registry.h"
#include "protocol/url_signing.h"

namespace weir::origin {

namespace {

// "HOST:PORT" for URLs from a listen address: the given host or the
// address's, with 127.0.0.1 / [::1] for a wildcard.
core::Result<std::string> authority(const std::string& listen, const std::string& host) {
  auto a = core::parse_listen_address(listen);
  if (!a) return a.status();
  const uint16_t port = a->port();
  if (!host.empty()) return fmt::format("{}:{}", host.find(':') != std::string::npos ? "[" + host + "]" : host, port);
  std::string s = a->to_string();  // "1.2.3.4:5" or "[::1]:5"
  if (s.rfind("0.0.0.0:", 0) == 0) return fmt::format("127.0.0.1:{}", port);
  if (s.rfind("[::]:", 0) == 0) return fmt::format("[::1]:{}", port);
  return s;
}

}  // namespace

core::Result<std::string> signed_query(const core::Config& cfg, const SignUrlRequest& r) {
  const core::AppConfig* app = cfg.find_app(r.app);
  if (!app) return core::Status::errorf("app '{}' is not configured", r.app);
  const bool publish = r.direction == Direction::kPublish;
  const std::vector<std::string> keys = publish ? app->sign.publish_key_list() : app->sign.play_key_list();
  const char* key_name = publish ? "publish_keys" : "play_keys";
  if (keys.empty()) return core::Status::errorf("apps.{}.sign.{} is empty: {} is not signed", r.app, key_name,
                                                publish ? "publishing" : "playing");
  if (app->sign.mode == "tencent") {
    const std::string tx_time = protocol::tencent_tx_time(r.expires);
    return fmt::format("txSecret={}&txTime={}", protocol::make_tencent_secret(keys.front(), r.stream, tx_time), tx_time);
  }
  if (app->sign.bind_ip && r.ip.empty())
    return core::Status::errorf("apps.{}.sign.bind_ip is on: give the client's address (--ip)", r.app);
  const std::string ip = app->sign.bind_ip ? r.ip : std::string();
  const auto dir = publish ? protocol::SignDirection::kPublish : protocol::SignDirection::kPlay;
  return fmt::format("expires={}&token={}", r.expires,
                     protocol::make_url_token(keys.front(), dir, r.app, r.stream, r.expires, ip));
}

core::Result<std::vector<SignedUrl>> signed_urls(const core::Config& cfg, const SignUrlRequest& r) {
  if (core::Status st = validate_stream_path(r.app, r.stream); !st) return st;
  auto query = signed_query(cfg, r);
  if (!query) return query.status();
  auto rtmp = authority(cfg.rtmp.listen, r.host);
  auto http = authority(cfg.http.listen, r.host);
  auto srt = authority(cfg.srt.listen, r.host);
  if (!rtmp || !http || !srt) return core::Status::error("a listen address does not parse");
  const core::AppConfig& app = *cfg.find_app(r.app);
  const std::string& q = *query;
  const std::string path = r.app + "/" + r.stream;
  // SRT carries the query's pairs as stream-id keys ("k=v" items after r and m).
  std::string srt_keys = q;
  for (char& c : srt_keys)
    if (c == '&') c = ',';
  const bool publish = r.direction == Direction::kPublish;
  std::vector<SignedUrl> out;
  out.push_back({"rtmp", fmt::format("rtmp://{}/{}?{}", *rtmp, path, q)});
  if (cfg.srt.enabled)
    out.push_back({"srt", fmt::format("srt://{}?streamid=#!::r={},m={},{}", *srt, path, publish ? "publish" : "request",
                                      srt_keys)});
  if (publish) return out;
  out.push_back({"http-flv", fmt::format("http://{}/{}.flv?{}", *http, path, q)});
  out.push_back({"ws-flv", fmt::format("ws://{}/{}.flv?{}", *http, path, q)});
  out.push_back({"ts", fmt::format("http://{}/{}.ts?{}", *http, path, q)});
  if (app.hls.enabled) {
    out.push_back({"hls", fmt::format("http://{}/{}.m3u8?{}", *http, path, q)});
    if (app.hls.ll) out.push_back({"llhls", fmt::format("http://{}/{}/llhls.m3u8?{}", *http, path, q)});
  }
  return out;
}

}  // namespace weir::origin
