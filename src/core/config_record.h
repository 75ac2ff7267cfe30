// Recording per app, the storage root and the S3-compatible object store.
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

// Recording an app's live streams into VOD assets (src/record).
struct RecordConfig {
  bool enabled = false;
  std::string streams = "*";
  int64_t segment_s = 60;
  int64_t fragment_ms = 1000;
  std::string path = "{app}/{stream}/{yyyy}{mm}{dd}-{asset}";
  int64_t max_asset_s = 0;
  int64_t resume_s = 30;
  std::string fsync = "segment";
  int64_t retention_days = 0;
  config::ByteSize retention_bytes = 0;

  template <class V>
  void visit(V& v) {
    v.field("enabled", enabled, config::NoCheck{},
            "Record this app's streams (those matching `streams`); the admin API can record any stream anyway.");
    v.field("streams", streams, config::NoCheck{},
            "Which streams: comma-separated name patterns where * matches any run of characters (\"*\" = all).");
    v.field("segment_s", segment_s, config::IntRange{2, 86400},
            "Length of one segment file (s), cut at the first keyframe past it.");
    v.field("fragment_ms", fragment_ms, config::IntRange{100, 10000},
            "fMP4 fragment duration (ms): the most a crash can lose; fragments are also cut at each keyframe.");
    v.field("path", path, config::NoCheck{},
            "Asset directory under storage.root: {app} {stream} {asset} {yyyy} {mm} {dd} {hh}; must hold {asset}.");
    v.field("max_asset_s", max_asset_s, config::IntRange{0, 7 * 86400},
            "Close the asset after this much media and start a new one (0 = no limit).");
    v.field("resume_s", resume_s, config::IntRange{0, 86400},
            "A publisher back within this many seconds after the stream ended continues the same asset (the pause "
            "is kept as time); later, a new asset starts.");
    v.field("fsync", fsync, config::OneOf{{"fragment", "segment", "never"}},
            "fragment: fsync after every fragment (a crash loses at most the fragment being written); segment: "
            "at each segment's end (a crash may lose what the OS had not written, up to one segment); never: "
            "leave it to the OS.");
    v.field("retention_days", retention_days, config::IntRange{0, 36500},
            "Delete this app's ready assets older than this many days (0 = keep).");
    v.field("retention_bytes", retention_bytes, config::IntRange{0, 1LL << 50},
            "Delete this app's oldest ready assets while its assets together exceed this size (0 = no cap).");
  }
};

// Optional copy of VOD assets in S3-compatible object storage (AWS S3, MinIO,
// Ceph, COS, OSS): record/s3_client, AssetStore's upload pipeline. Checked at
// load when enabled (endpoint form, bucket, keys).
struct S3Config {
  bool enabled = false;
  std::string endpoint = "http://127.0.0.1:9000";
  std::string bucket;
  std::string region = "us-east-1";
  bool path_style = true;
  std::string access_key;
  std::string secret_key;
  std::string prefix;
  config::ByteSize part_size = 16 * config::MiB;
  bool delete_local = false;
  int64_t uploads = 2;
  int64_t presign_ttl_s = 3600;
  int64_t max_retries = 5;
  int64_t backoff_ms = 2000;
  int64_t connect_timeout_ms = 5000;
  int64_t low_speed_timeout_s = 30;

  template <class V>
  void visit(V& v) {
    v.field("enabled", enabled, config::NoCheck{},
            "Upload every ready asset (MP4, playlist, segments, cover) to the bucket and mark it uploaded.");
    v.field("endpoint", endpoint, config::NoCheck{},
            "Service URL, http(s)://host[:port] with no path (https://s3.eu-west-1.amazonaws.com, "
            "http://127.0.0.1:9000).");
    v.field("bucket", bucket, config::NoCheck{}, "Bucket name (must exist).");
    v.field("region", region, config::NoCheck{}, "Region signed into requests (SigV4); MinIO and Ceph accept us-east-1.");
    v.field("path_style", path_style, config::NoCheck{},
            "true: http://endpoint/bucket/key (MinIO, Ceph); false: virtual-host style http://bucket.endpoint/key "
            "(AWS, COS, OSS).");
    v.field("access_key", access_key, config::NoCheck{},
            "Access key id; also from the environment, WEIR_STORAGE_S3_ACCESS_KEY.");
    v.field("secret_key", secret_key, config::Secret{},
            "Secret access key; better from the environment, WEIR_STORAGE_S3_SECRET_KEY, than in this file.");
    v.field("prefix", prefix, config::NoCheck{},
            "Prepended to every object key: objects are <prefix><app>/<asset id>/<file> ('vod/' for a folder).");
    v.field("part_size", part_size, config::IntRange{5LL << 20, 512LL << 20},
            "Files larger than this go up as multipart uploads in parts of this size (5MiB..512MiB; one part is "
            "held in memory per upload).");
    v.field("delete_local", delete_local, config::NoCheck{},
            "After an upload is verified (HeadObject), delete the local MP4, segments and cover (the small playlist "
            "stays); false: keep them.");
    v.field("uploads", uploads, config::IntRange{1, 16},
            "Threads for uploads and object deletes: their own pool, so a slow or hanging object store never "
            "delays recording I/O; assets beyond it wait their turn.");
    v.field("presign_ttl_s", presign_ttl_s, config::IntRange{1, 604800}, "Lifetime of presigned URLs (s).");
    v.field("max_retries", max_retries, config::IntRange{0, 100},
            "Retries of a failed upload before the asset goes back to ready with the error (the next start tries "
            "again).");
    v.field("backoff_ms", backoff_ms, config::IntRange{10, 3600000},
            "Wait before the first retry; doubled for each further one (at most 10 minutes).");
    v.field("connect_timeout_ms", connect_timeout_ms, config::IntRange{100, 600000},
            "A request whose connection is not up in this time fails.");
    v.field("low_speed_timeout_s", low_speed_timeout_s, config::IntRange{1, 3600},
            "A request that moves less than 1 KiB/s for this long fails (a hanging server).");
  }
};

// Where recordings and VOD assets live (src/record).
struct StorageConfig {
  std::string root = "weir-data";
  int64_t workers = 2;
  config::ByteSize writer_queue_bytes = 64 * config::MiB;
  S3Config s3;

  template <class V>
  void visit(V& v) {
    v.field("root", root, config::NoCheck{},
            "Directory of the asset catalogue (catalogue.sqlite3) and the assets (relative paths are from the "
            "working directory; created if missing).");
    v.field("workers", workers, config::IntRange{1, 64},
            "Threads for recording I/O, merges, covers and the catalogue (never an event loop).");
    v.field("writer_queue_bytes", writer_queue_bytes, config::IntRange{1 << 20, 4LL << 30},
            "Bytes of one recording waiting to be written; past it the disk is too slow and that recording fails "
            "(the live stream goes on).");
    v.section("s3", s3);
  }
};

}  // namespace weir::core
