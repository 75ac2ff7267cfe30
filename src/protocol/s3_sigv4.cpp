#include "protocol/s3_sigv4.h"

#include <ctime>

#include <fmt/format.h>

namespace weir::protocol {

namespace {

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

}  // namespace

core::Result<S3Endpoint> parse_s3_endpoint(std::string_view url) {
  S3Endpoint ep;
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
  } else if (url.substr(0, 8) == "https://") {
    ep.https = true;
    rest = url.substr(8);
  } else {
    return core::Status::error("must start with http:// or https://");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return core::Status::error("has no host");
  for (char c : rest)
    if (c == '/' || c == '?' || c == '#' || c == '@' || c <= ' ' || c == 0x7f)
      return core::Status::error("must be scheme://host[:port] with no path, query or user");
  if (ep.https && rest.size() > 4 && rest.substr(rest.size() - 4) == ":443") rest.remove_suffix(4);
  if (!ep.https && rest.size() > 3 && rest.substr(rest.size() - 3) == ":80") rest.remove_suffix(3);
  ep.authority = std::string(rest);
  return ep;
}

std::string s3_uri_encode(std::string_view s, bool encode_slash) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (unreserved(c) || (c == '/' && !encode_slash)) out += char(c);
    else out += fmt::format("%{:02X}", unsigned(c));
  }
  return out;
}

S3ObjectLocation s3_object_location(const S3Endpoint& ep, std::string_view bucket, std::string_view key,
                                    bool path_style) {
  S3ObjectLocation loc;
  std::string k = s3_uri_encode(key, false);
  if (path_style) {
    loc.host = ep.authority;
    loc.path = "/" + s3_uri_encode(bucket, true) + "/" + k;
  } else {
    loc.host = std::string(bucket) + "." + ep.authority;
    loc.path = "/" + k;
  }
  loc.url = std::string(ep.https ? "https://" : "http://") + loc.host + loc.path;
  return loc;
}

std::string s3_amz_date(int64_t unix_s) {
  std::time_t t = std::time_t(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04d}{:02d}{:02d}T{:02d}{:02d}{:02d}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string s3_presign_url(const S3PresignInput& in) {
  const std::string date = in.amz_date.substr(0, 8);
  const std::string scope = date + "/" + in.region + "/s3/aws4_request";
  // Query parameters in byte order of their names (all start "X-Amz-").
  std::string query = "X-Amz-Algorithm=AWS4-HMAC-SHA256";
  query += "&X-Amz-Credential=" + s3_uri_encode(in.access_key + "/" + scope, true);
  query += "&X-Amz-Date=" + in.amz_date;
  query += "&X-Amz-Expires=" + std::to_string(in.expires_s);
  query += "&X-Amz-SignedHeaders=host";
  const std::string canonical = in.method + "\n" + in.location.path + "\n" + query + "\nhost:" + in.location.host +
                                "\n\nhost\nUNSIGNED-PAYLOAD";
  const std::string to_sign = "AWS4-HMAC-SHA256\n" + in.amz_date + "\n" + scope + "\n" + sha256_hex(canonical);
  std::string key = hmac_sha256("AWS4" + in.secret_key, date);
  key = hmac_sha256(key, in.region);
  key = hmac_sha256(key, "s3");
  key = hmac_sha256(key, "aws4_request");
  const std::string sig = hmac_sha256(key, to_sign);
  return in.location.url + "?" + query + "&X-Amz-Signature=" +
         to_hex(sig);
}

}  // namespace weir::protocol
