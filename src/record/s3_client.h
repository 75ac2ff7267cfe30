// S3Client: a blocking client for S3-compatible object storage (AWS S3,
// MinIO, Ceph, COS, OSS) on libcurl, for the asset upload pipeline.
//
// Thread: the request methods (head, put, upload_file, sync_file, remove)
// block on the network and run ONLY on worker-pool threads, never on an event
// loop; any number of them may run at once (each uses its own curl handle).
// presign_get() and key_for() are pure and run anywhere. Construct it on the
// main thread before other threads start (it runs curl_global_init once).
//
// Signing: libcurl's SigV4 (CURLOPT_AWS_SIGV4 "aws:amz:REGION:s3") with an
// explicit x-amz-content-sha256 header holding the SHA-256 of the body
// (libcurl 7.88 does not add it; S3 requires it). Presigned URLs are signed
// here (protocol/s3_sigv4). Query strings are written in canonical form
// (sorted, "uploads=") because libcurl 7.88 signs them as given.
//
// Bounds: every request has a connect timeout and a low-speed limit (less
// than 1 KiB/s for low_speed_timeout_s fails it), so a hanging server fails
// the request instead of a pool thread. Bodies are held in memory: a single
// PUT holds the file (at most part_size), a multipart upload one part at a
// time. Response bodies are capped at 1 MiB.
//
// Errors read "s3 PUT <key>: 403 SignatureDoesNotMatch: <message>" (or the
// transport error: "s3 PUT <key>: Couldn't connect to server: ...").
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/status.h"
#include "protocol/s3_sigv4.h"

namespace weir::record {

struct S3ObjectInfo {
  uint64_t size = 0;
  std::string etag;  // without quotes, lower case
};

// What sync_file did.
struct S3SyncResult {
  uint64_t bytes_sent = 0;  // body bytes sent (0 when the object was already complete)
  bool skipped = false;     // HeadObject showed the object complete: nothing sent
  bool multipart = false;
};

class S3Client {
 public:
  // `cfg` must pass config validation (storage.s3 enabled); it is copied.
  static core::Result<std::unique_ptr<S3Client>> make(const core::S3Config& cfg);

  // "<prefix><app>/<id>/" : where an asset's objects live (Asset::remote).
  std::string asset_prefix(const std::string& app, const std::string& id) const;
  // A presigned GET URL of `key`, valid for presign_ttl_s from `now_s`.
  std::string presign_get(const std::string& key, int64_t now_s) const;

  // HeadObject: nullopt when the object does not exist (404).
  core::Result<std::optional<S3ObjectInfo>> head(const std::string& key) const;
  // PutObject of `body`; returns the ETag the server answered.
  core::Result<std::string> put(const std::string& key, std::string_view body) const;
  // DeleteObject (a missing object is not an error, as in S3).
  core::Status remove(const std::string& key) const;
  // Uploads the file: PutObject up to part_size, multipart above (Create,
  // UploadPart per part_size chunk, Complete; Abort on any failure).
  core::Result<S3SyncResult> upload_file(const std::string& key, const std::string& path) const;
  // Makes the object equal the local file and verifies it: HeadObject first
  // (same size - and the file's MD5 as ETag for a file up to part_size -
  // means complete: nothing is sent), otherwise upload_file, then HeadObject
  // again (size equal; ETag equal to the MD5 for a single PUT, to the
  // CompleteMultipartUpload answer for a multipart one). Error if any check fails.
  core::Result<S3SyncResult> sync_file(const std::string& key, const std::string& path) const;

  const core::S3Config& config() const { return cfg_; }

  // Makes every request in flight, and every later one, fail at once with
  // "cancelled" (shutdown: a pool thread is never left waiting on a slow
  // server). Any thread; irreversible.
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }

 private:
  struct Response {
    long status = 0;
    std::string body;
    std::string etag;
    std::optional<uint64_t> content_length;
  };
  S3Client(const core::S3Config& cfg, protocol::S3Endpoint ep) : cfg_(cfg), endpoint_(std::move(ep)) {}
  // One signed request. `query` in canonical form. A transport failure is an
  // error; any HTTP status is returned.
  core::Result<Response> request(const char* method, const std::string& key, const std::string& query,
                                 std::string_view body, const char* content_type,
                                 const char* extra_header = nullptr) const;
  core::Result<S3SyncResult> multipart(const std::string& key, const std::string& path, uint64_t size,
                                       std::string* etag) const;
  std::string http_error(const char* op, const std::string& key, const Response& r) const;

  core::S3Config cfg_;
  protocol::S3Endpoint endpoint_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace weir::record
