// respond_file: answers a GET or HEAD with a file from disk, whole or one
// byte range (RFC 9110 14: `Range: bytes=...` gives 206 with Content-Range,
// a range past the end 416 with `Content-Range: bytes */SIZE`, a malformed or
// multi-range header the whole file with 200), without blocking the loop:
// open, fstat and every read run on libuv's threadpool (uv_fs_*).
//
// Small answers (at most kWholeReadBytes) are read in one go and sent as a
// normal response (the connection stays open for the next request). Larger
// ones are streamed: the head (with Content-Length) goes out, then the body
// in kChunkBytes reads, each issued only once the socket has taken the
// previous one (at most one chunk read ahead and one queued), after which
// the connection closes. Bytes pass through userspace once (page cache ->
// heap buffer -> socket); the kernel's sendfile is not used because a
// sendfile from a cold file blocks the calling thread on the disk.
//
// Errors: a missing file or a directory is 404, another open/read failure
// 500 (logged); a read that fails or comes up short mid-body closes the
// connection (the client sees a short body) with a log line.
//
// Thread: the exchange's loop. The path must already be validated by the
// caller (nothing from a URL reaches it unchecked).
#pragma once

#include <string>

#include "origin/http/exchange.h"

namespace weir::origin::http {

struct FileResponseOptions {
  std::string content_type = "application/octet-stream";
  std::string cache_control;  // empty: none sent
  bool ranges = true;         // honour Range and send Accept-Ranges: bytes
};

inline constexpr size_t kWholeReadBytes = 256 * 1024;
inline constexpr size_t kChunkBytes = 256 * 1024;

void respond_file(const ExchangeRef& ex, std::string path, FileResponseOptions options = {});

}  // namespace weir::origin::http
