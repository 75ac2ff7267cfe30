// S3 addressing and AWS Signature Version 4 query-string signing (presigned
// URLs), per the AWS S3 API reference "Authenticating Requests: Using Query
// Parameters". Header signing of live requests is libcurl's
// (CURLOPT_AWS_SIGV4, record/s3_client); this is the part a URL handed to a
// player needs, which no request of ours carries.
//
// Addressing: path style puts the bucket in the path
// (http://host:9000/bucket/key: MinIO, Ceph, s3rver), virtual-host style in
// the host name (https://bucket.s3.amazonaws.com/key: AWS, COS, OSS). Keys
// are URI-encoded once (RFC 3986 unreserved characters and '/' kept), which is
// both the URL path and the canonical URI S3 signs.
//
// Pure functions (OpenSSL HMAC-SHA256 / SHA-256), any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "protocol/digest.h"  // sha256_hex (x-amz-content-sha256) for callers

namespace weir::protocol {

struct S3Endpoint {
  bool https = false;
  std::string authority;  // host[:port] as the Host header carries it (default port dropped)
};

// "http://127.0.0.1:9000", "https://s3.eu-west-1.amazonaws.com" (a trailing
// '/' is allowed, any other path, a query, user info or an empty host not).
core::Result<S3Endpoint> parse_s3_endpoint(std::string_view url);

// URI-encodes per SigV4: unreserved characters kept, everything else %XX
// (upper-case hex); '/' kept unless `encode_slash`.
std::string s3_uri_encode(std::string_view s, bool encode_slash);

struct S3ObjectLocation {
  std::string url;   // scheme://authority/path, no query
  std::string host;  // Host header value
  std::string path;  // encoded path ("/bucket/key" or "/key"), the canonical URI
};
S3ObjectLocation s3_object_location(const S3Endpoint& ep, std::string_view bucket, std::string_view key,
                                    bool path_style);

// "YYYYMMDDTHHMMSSZ" (UTC) for Unix seconds.
std::string s3_amz_date(int64_t unix_s);

struct S3PresignInput {
  S3ObjectLocation location;
  std::string method = "GET";
  std::string access_key;
  std::string secret_key;
  std::string region;
  std::string amz_date;    // s3_amz_date(now)
  int64_t expires_s = 3600;  // 1 .. 604800 (S3's limit)
};

// The presigned URL (signed header: host; payload UNSIGNED-PAYLOAD).
std::string s3_presign_url(const S3PresignInput& in);

}  // namespace weir::protocol
