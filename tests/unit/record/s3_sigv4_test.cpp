// SigV4 presigned URLs against the AWS S3 API reference's published example
// ("Authenticating Requests: Using Query Parameters"), endpoint parsing and
// key encoding, and the S3Client's pure parts (key prefix, presign).
#include <catch2/catch.hpp>

#include "core/config.h"
#include "protocol/s3_sigv4.h"
#include "record/s3_client.h"

using namespace weir;
using namespace weir::protocol;

TEST_CASE("presigned GET matches the AWS documentation example") {
  auto ep = parse_s3_endpoint("https://s3.amazonaws.com");
  REQUIRE(ep);
  S3PresignInput in;
  in.location = s3_object_location(*ep, "examplebucket", "test.txt", /*path_style=*/false);
  CHECK(in.location.host == "examplebucket.s3.amazonaws.com");
  CHECK(in.location.path == "/test.txt");
  in.access_key = "AKIAIOSFODNN7EXAMPLE";
  in.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  in.region = "us-east-1";
  in.amz_date = "20130524T000000Z";
  in.expires_s = 86400;
  CHECK(s3_presign_url(in) ==
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST_CASE("path-style addressing, key encoding and dates") {
  auto ep = parse_s3_endpoint("http://127.0.0.1:9000/");
  REQUIRE(ep);
  CHECK_FALSE(ep->https);
  CHECK(ep->authority == "127.0.0.1:9000");
  auto loc = s3_object_location(*ep, "weir", "vod/rec/a b+c/ü.mp4", true);
  CHECK(loc.host == "127.0.0.1:9000");
  CHECK(loc.path == "/weir/vod/rec/a%20b%2Bc/%C3%BC.mp4");
  CHECK(loc.url == "http://127.0.0.1:9000/weir/vod/rec/a%20b%2Bc/%C3%BC.mp4");
  CHECK(s3_uri_encode("a/b~-_.", false) == "a/b~-_.");
  CHECK(s3_uri_encode("a/b", true) == "a%2Fb");
  CHECK(parse_s3_endpoint("https://s3.example.com:443")->authority == "s3.example.com");
  CHECK(parse_s3_endpoint("http://minio:80")->authority == "minio");
  for (const char* bad : {"", "ftp://x", "http://", "http://x/path", "http://u@x", "http://x?q", "s3.amazonaws.com"})
    CHECK_FALSE(parse_s3_endpoint(bad));
  CHECK(s3_amz_date(1369353600) == "20130524T000000Z");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("S3Client keys and presigned URLs follow the config") {
  core::S3Config c;
  c.enabled = true;
  c.endpoint = "http://127.0.0.1:9000";
  c.bucket = "weir";
  c.access_key = "AKIAIOSFODNN7EXAMPLE";
  c.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  c.prefix = "vod/";
  c.presign_ttl_s = 600;
  auto s3 = record::S3Client::make(c);
  REQUIRE(s3);
  CHECK((*s3)->asset_prefix("rec", "abc") == "vod/rec/abc/");
  std::string url = (*s3)->presign_get("vod/rec/abc/asset.mp4", 1369353600);
  CHECK(url.rfind("http://127.0.0.1:9000/weir/vod/rec/abc/asset.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&", 0) == 0);
  CHECK(url.find("&X-Amz-Expires=600&") != std::string::npos);
  CHECK(url.find("&X-Amz-Date=20130524T000000Z&") != std::string::npos);
  c.endpoint = "nope";
  CHECK_FALSE(record::S3Client::make(c));
}
