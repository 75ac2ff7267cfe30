#include "record/s3_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "protocol/s3_xml.h"

namespace weir::record {

namespace {

constexpr size_t kMaxResponseBody = 1 << 20;

std::string md5_hex(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_md5(), nullptr);
  static const char* d = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < len; ++i) {
    s += d[out[i] >> 4];
    s += d[out[i] & 15];
  }
  return s;
}

// ETag header or element text -> bare lower-case value.
std::string clean_etag(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '"')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '"' || v.back() == '\r' || v.back() == '\n')) v.remove_suffix(1);
  std::string out(v);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const char* content_type_for(const std::string& key) {
  auto ends = [&](std::string_view s) { return key.size() >= s.size() && key.compare(key.size() - s.size(), s.size(), s) == 0; };
  if (ends(".mp4")) return "video/mp4";
  if (ends(".m3u8")) return "application/vnd.apple.mpegurl";
  if (ends(".jpg")) return "image/jpeg";
  return "application/octet-stream";
}

core::Status read_range(int fd, uint64_t off, size_t n, std::string& out, const std::string& path) {
  out.resize(n);
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, out.data() + got, n - got, off_t(off + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return core::Status::errorf("read {}: {}", path, std::strerror(errno));
    if (r == 0) return core::Status::errorf("read {}: file shrank while uploading", path);
    got += size_t(r);
  }
  return core::Status::ok();
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

core::Result<uint64_t> file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return core::Status::errorf("stat {}: {}", path, std::strerror(errno));
  return uint64_t(st.st_size);
}

core::Status read_file(const std::string& path, uint64_t size, std::string& out) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return core::Status::errorf("open {}: {}", path, std::strerror(errno));
  return read_range(f.fd, 0, size_t(size), out, path);
}

struct Upload {
  std::string_view body;
  size_t off = 0;
};

size_t read_cb(char* buf, size_t size, size_t n, void* p) {
  auto* u = static_cast<Upload*>(p);
  size_t k = std::min(size * n, u->body.size() - u->off);
  std::memcpy(buf, u->body.data() + u->off, k);
  u->off += k;
  return k;
}

size_t write_cb(char* buf, size_t size, size_t n, void* p) {
  auto* s = static_cast<std::string*>(p);
  size_t k = size * n;
  if (s->size() < kMaxResponseBody) s->append(buf, std::min(k, kMaxResponseBody - s->size()));
  return k;
}

// CURLOPT_XFERINFOFUNCTION: non-zero aborts the transfer (S3Client::cancel).
int progress_cb(void* p, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(p)->load(std::memory_order_relaxed) ? 1 : 0;
}

struct Heads {
  std::string etag;
  std::optional<uint64_t> content_length;
};

size_t header_cb(char* buf, size_t size, size_t n, void* p) {
  auto* h = static_cast<Heads*>(p);
  std::string_view line(buf, size * n);
  if (line.substr(0, 5) == "HTTP/") *h = Heads{};  // a new response (after 100 Continue)
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    if (name == "etag") h->etag = clean_etag(value);
    if (name == "content-length") {
      uint64_t v = 0;
      bool ok = !value.empty() && value.size() <= 19;
      for (char c : value) {
        if (c < '0' || c > '9') ok = false;
        else v = v * 10 + uint64_t(c - '0');
      }
      if (ok) h->content_length = v;
    }
  }
  return size * n;
}

}  // namespace

core::Result<std::unique_ptr<S3Client>> S3Client::make(const core::S3Config& cfg) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  auto ep = protocol::parse_s3_endpoint(cfg.endpoint);
  if (!ep) return core::Status::errorf("storage.s3.endpoint: {}", ep.error());
  return std::unique_ptr<S3Client>(new S3Client(cfg, std::move(*ep)));
}

std::string S3Client::asset_prefix(const std::string& app, const std::string& id) const {
  return cfg_.prefix + app + "/" + id + "/";
}

std::string S3Client::presign_get(const std::string& key, int64_t now_s) const {
  protocol::S3PresignInput in;
  in.location = protocol::s3_object_location(endpoint_, cfg_.bucket, key, cfg_.path_style);
  in.access_key = cfg_.access_key;
  in.secret_key = cfg_.secret_key;
  in.region = cfg_.region;
  in.amz_date = protocol::s3_amz_date(now_s);
  in.expires_s = cfg_.presign_ttl_s;
  return protocol::s3_presign_url(in);
}

core::Result<S3Client::Response> S3Client::request(const char* method, const std::string& key,
                                                   const std::string& query, std::string_view body,
                                                   const char* content_type, const char* extra_header) const {
  if (cancelled_.load(std::memory_order_relaxed)) return core::Status::errorf("s3 {} {}: cancelled", method, key);
  std::unique_ptr<CURL, void (*)(CURL*)> h(curl_easy_init(), curl_easy_cleanup);
  if (!h) return core::Status::errorf("s3 {} {}: curl_easy_init failed", method, key);
  CURL* c = h.get();
  auto loc = protocol::s3_object_location(endpoint_, cfg_.bucket, key, cfg_.path_style);
  std::string url = loc.url + (query.empty() ? "" : "?" + query);
  std::string sigv4 = "aws:amz:" + cfg_.region + ":s3";
  std::string sha = "x-amz-content-sha256: " + protocol::sha256_hex(body);
  std::string ctype = content_type ? std::string("Content-Type: ") + content_type : std::string();
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, curl_slist_free_all);
  auto add = [&](const std::string& line) {
    curl_slist* n = curl_slist_append(headers.get(), line.c_str());
    if (n) {
      (void)headers.release();
      headers.reset(n);
    }
  };
  add(sha);
  if (!ctype.empty()) add(ctype);
  if (extra_header) add(extra_header);
  char errbuf[CURL_ERROR_SIZE] = {0};
  Response r;
  Heads heads;
  Upload up{body, 0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, long(cfg_.connect_timeout_ms));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, long(cfg_.low_speed_timeout_s));
  curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(c, CURLOPT_USERNAME, cfg_.access_key.c_str());
  curl_easy_setopt(c, CURLOPT_PASSWORD, cfg_.secret_key.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &heads);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(&cancelled_));
  const std::string m = method;
  if (m == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (m == "PUT") {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, curl_off_t(body.size()));
  } else if (m == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());  // never NULL: that would read stdin
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
  } else if (m != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK)
    return core::Status::errorf("s3 {} {}: {}{}{}", method, key, curl_easy_strerror(rc), errbuf[0] ? ": " : "",
                                errbuf);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  r.etag = std::move(heads.etag);
  r.content_length = heads.content_length;
  return r;
}

std::string S3Client::http_error(const char* op, const std::string& key, const Response& r) const {
  std::string why = protocol::s3_error_summary(r.body);
  return fmt::format("s3 {} {}: {}{}{}", op, key, r.status, why.empty() ? "" : " ", why);
}

core::Result<std::optional<S3ObjectInfo>> S3Client::head(const std::string& key) const {
  auto r = request("HEAD", key, "", {}, nullptr);
  if (!r) return r.status();
  if (r->status == 404) return std::optional<S3ObjectInfo>();
  if (r->status != 200) {
    // A HEAD answer has no body: ask for one byte to learn the error's code.
    auto g = request("GET", key, "", {}, nullptr, "Range: bytes=0-0");
    if (g && g->status == r->status) r->body = std::move(g->body);
    return core::Status::error(http_error("HEAD", key, *r));
  }
  if (!r->content_length) return core::Status::errorf("s3 HEAD {}: no Content-Length in the answer", key);
  return std::optional<S3ObjectInfo>(S3ObjectInfo{*r->content_length, r->etag});
}

core::Result<std::string> S3Client::put(const std::string& key, std::string_view body) const {
  auto r = request("PUT", key, "", body, content_type_for(key));
  if (!r) return r.status();
  if (r->status != 200) return core::Status::error(http_error("PUT", key, *r));
  return r->etag;
}

core::Status S3Client::remove(const std::string& key) const {
  auto r = request("DELETE", key, "", {}, nullptr);
  if (!r) return r.status();
  if (r->status != 204 && r->status != 200 && r->status != 404)
    return core::Status::error(http_error("DELETE", key, *r));
  return core::Status::ok();
}

core::Result<S3SyncResult> S3Client::multipart(const std::string& key, const std::string& path, uint64_t size,
                                               std::string* etag) const {
  auto created = request("POST", key, "uploads=", {}, content_type_for(key));
  if (!created) return created.status();
  if (created->status != 200) return core::Status::error(http_error("CreateMultipartUpload", key, *created));
  auto upload_id = protocol::s3_xml_text(created->body, "UploadId", 1024);
  if (!upload_id || upload_id->empty())
    return core::Status::errorf("s3 CreateMultipartUpload {}: no UploadId in the answer", key);
  const std::string id_q = "uploadId=" + protocol::s3_uri_encode(*upload_id, true);
  auto abort = [&](core::Status why) -> core::Result<S3SyncResult> {
    auto a = request("DELETE", key, id_q, {}, nullptr);  // best effort: the bucket's lifecycle rules clean up otherwise
    (void)a;
    return why;
  };
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return abort(core::Status::errorf("open {}: {}", path, std::strerror(errno)));
  const uint64_t part = cfg_.part_size;
  std::vector<std::string> etags;
  std::string buf;
  S3SyncResult out;
  out.multipart = true;
  for (uint64_t off = 0, n = 1; off < size; off += part, ++n) {
    size_t len = size_t(std::min<uint64_t>(part, size - off));
    if (auto st = read_range(f.fd, off, len, buf, path); !st) return abort(st);
    auto r = request("PUT", key, fmt::format("partNumber={}&{}", n, id_q), buf, nullptr);
    if (!r) return abort(r.status());
    if (r->status != 200) return abort(core::Status::error(http_error(fmt::format("UploadPart {}", n).c_str(), key, *r)));
    if (r->etag.empty()) return abort(core::Status::errorf("s3 UploadPart {} {}: no ETag in the answer", n, key));
    etags.push_back(r->etag);
    out.bytes_sent += len;
  }
  std::string xml = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); ++i)
    xml += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>\"{}\"</ETag></Part>", i + 1, etags[i]);
  xml += "</CompleteMultipartUpload>";
  auto done = request("POST", key, id_q, xml, "application/xml");
  if (!done) return abort(done.status());
  // S3 may answer 200 with an <Error> body once it has started the completion.
  if (done->status != 200 || done->body.find("<Error>") != std::string::npos)
    return abort(core::Status::error(http_error("CompleteMultipartUpload", key, *done)));
  if (auto e = protocol::s3_xml_text(done->body, "ETag", 256)) *etag = clean_etag(*e);
  return out;
}

core::Result<S3SyncResult> S3Client::upload_file(const std::string& key, const std::string& path) const {
  auto size = file_size(path);
  if (!size) return size.status();
  if (*size > cfg_.part_size) {
    std::string etag;
    return multipart(key, path, *size, &etag);
  }
  std::string data;
  if (auto st = read_file(path, *size, data); !st) return st;
  auto e = put(key, data);
  if (!e) return e.status();
  S3SyncResult out;
  out.bytes_sent = data.size();
  return out;
}

core::Result<S3SyncResult> S3Client::sync_file(const std::string& key, const std::string& path) const {
  auto size = file_size(path);
  if (!size) return size.status();
  const bool mp = *size > cfg_.part_size;
  std::string data, md5;
  if (!mp) {
    if (auto st = read_file(path, *size, data); !st) return st;
    md5 = md5_hex(data);
  }
  auto have = head(key);
  if (!have) return have.status();
  if (*have && (*have)->size == *size && (mp || (*have)->etag == md5)) {
    S3SyncResult skip;
    skip.skipped = true;
    skip.multipart = mp;
    return skip;
  }
  S3SyncResult out;
  std::string complete_etag;
  if (mp) {
    auto r = multipart(key, path, *size, &complete_etag);
    if (!r) return r.status();
    out = *r;
  } else {
    auto e = put(key, data);
    if (!e) return e.status();
    out.bytes_sent = data.size();
  }
  auto check = head(key);
  if (!check) return core::Status::errorf("verify: {}", check.error());
  if (!*check) return core::Status::errorf("verify: s3 HEAD {}: 404 after the upload", key);
  if ((*check)->size != *size)
    return core::Status::errorf("verify: s3 HEAD {}: size {} but the file has {} bytes", key, (*check)->size, *size);
  if (!mp && (*check)->etag != md5)
    return core::Status::errorf("verify: s3 HEAD {}: ETag {} but the file's MD5 is {}", key, (*check)->etag, md5);
  if (mp && !complete_etag.empty() && (*check)->etag != complete_etag)
    return core::Status::errorf("verify: s3 HEAD {}: ETag {} but CompleteMultipartUpload answered {}", key,
                                (*check)->etag, complete_etag);
  return out;
}

}  // namespace weir::record
