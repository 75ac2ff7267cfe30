#include "origin/http/file_response.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <memory>

#include <spdlog/spdlog.h>

#include "core/buffer.h"
#include "protocol/http_range.h"

namespace weir::origin::http {

namespace {

// One file answer in progress. Owns the descriptor. Lifetime: heap object
// that deletes itself once no uv_fs request is in flight and, when it
// streams, the connection has reported on_closed (or it never streamed).
class FileSender final : public StreamSink {
 public:
  FileSender(ExchangeRef ex, std::string path, FileResponseOptions opt)
      : ex_(std::move(ex)), loop_(ex_->loop()), path_(std::move(path)), opt_(std::move(opt)) {
    req_.data = this;
  }

  void start() {
    busy_ = true;
    int rc = uv_fs_open(loop_.uv(), &req_, path_.c_str(), O_RDONLY | O_CLOEXEC, 0, &FileSender::on_open);
    if (rc != 0) {
      busy_ = false;
      fail_before_head(rc);
    }
  }

  void on_writable() override {
    if (done_reading_) {
      if (conn_ && conn_->pending_bytes() == 0) close_conn();
      return;
    }
    read_next();
  }

  void on_closed() override {
    conn_ = nullptr;
    conn_closed_ = true;
    finished_ = true;
    maybe_delete();
  }

 private:
  static void on_open(uv_fs_t* req) {
    auto* self = static_cast<FileSender*>(req->data);
    const ssize_t r = req->result;
    uv_fs_req_cleanup(req);
    self->busy_ = false;
    if (r < 0) return self->fail_before_head(int(r));
    self->fd_ = int(r);
    self->busy_ = true;
    if (int rc = uv_fs_fstat(self->loop_.uv(), &self->req_, self->fd_, &FileSender::on_stat); rc != 0) {
      self->busy_ = false;
      self->fail_before_head(rc);
    }
  }

  static void on_stat(uv_fs_t* req) {
    auto* self = static_cast<FileSender*>(req->data);
    const ssize_t r = req->result;
    const uv_stat_t st = req->statbuf;
    uv_fs_req_cleanup(req);
    self->busy_ = false;
    if (r < 0) return self->fail_before_head(int(r));
    if (!S_ISREG(st.st_mode)) return self->fail_before_head(UV_ENOENT);
    self->answer(st.st_size);
  }

  void answer(uint64_t size) {
    if (!ex_->alive()) return finish();
    Headers h{{"Content-Type", opt_.content_type}};
    if (!opt_.cache_control.empty()) h.push_back({"Cache-Control", opt_.cache_control});
    if (opt_.ranges) h.push_back({"Accept-Ranges", "bytes"});
    int status = 200;
    uint64_t first = 0, len = size;
    if (opt_.ranges) {
      std::string_view header = ex_->request().header("range");
      auto range = protocol::parse_http_range(header, size);
      if (range.kind == protocol::HttpRange::Kind::kUnsatisfiable) {
        Headers e{{"Content-Type", opt_.content_type}, {"Cache-Control", "no-store"}};  // an error: not cached
        e.push_back({"Content-Range", protocol::content_range_unsatisfied(size)});
        ex_->respond(416, std::move(e), std::string());
        return finish();
      }
      if (range.kind == protocol::HttpRange::Kind::kSatisfiable) {
        status = 206;
        first = range.first;
        len = range.last - range.first + 1;
        h.push_back({"Content-Range", protocol::content_range(range.first, range.last, size)});
      }
    }
    offset_ = first;
    remaining_ = len;
    if (len <= kWholeReadBytes && ex_->request().method != "HEAD") {
      status_ = status;
      headers_ = std::move(h);
      whole_ = true;
      return read_next();
    }
    conn_ = ex_->start_stream(status, std::move(h), this, len);
    ex_.reset();
    if (!conn_) return finish();  // HEAD (head sent, closed) or the client left
    streaming_ = true;
    read_next();
  }

  // Reads the next chunk unless one is in flight, the socket still holds
  // the previous one, or everything is read.
  void read_next() {
    if (busy_ || done_reading_) return;
    if (streaming_ && (!conn_ || conn_->pending_bytes() > 0)) return;
    if (remaining_ == 0) return end_body();
    const size_t want = size_t(std::min<uint64_t>(remaining_, kChunkBytes));
    core::ByteWriter w(want);
    uint8_t* dst = w.grow(want);
    chunk_ = std::move(w);
    chunk_want_ = want;
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(dst), unsigned(want));
    busy_ = true;
    if (int rc = uv_fs_read(loop_.uv(), &req_, fd_, &buf, 1, int64_t(offset_), &FileSender::on_read); rc != 0) {
      busy_ = false;
      read_failed(rc);
    }
  }

  static void on_read(uv_fs_t* req) {
    auto* self = static_cast<FileSender*>(req->data);
    const ssize_t r = req->result;
    uv_fs_req_cleanup(req);
    self->busy_ = false;
    if (r < 0) return self->read_failed(int(r));
    if (size_t(r) != self->chunk_want_) return self->read_failed(UV_EOF);  // the file shrank
    self->offset_ += uint64_t(r);
    self->remaining_ -= uint64_t(r);
    core::Slice bytes = self->chunk_.finish();
    if (self->whole_) {
      if (self->ex_ && self->ex_->alive()) self->ex_->respond(self->status_, std::move(self->headers_), bytes);
      return self->finish();
    }
    if (!self->conn_) {
      self->done_reading_ = true;
      return self->finish();
    }
    self->conn_->append(bytes);
    if (self->remaining_ == 0) return self->end_body();
    if (self->conn_->flush()) self->read_next();  // else on_writable() asks again
  }

  // Everything is queued. TcpConn::close() cancels unwritten bytes, so the
  // connection closes once the socket has taken them (on_writable).
  void end_body() {
    done_reading_ = true;
    finished_ = true;
    if (!conn_) return maybe_delete();
    if (conn_->flush()) close_conn();
  }

  void read_failed(int rc) {
    spdlog::warn("http: reading {} failed at byte {}: {}", path_, offset_, uv_strerror(rc));
    if (whole_ && ex_ && ex_->alive()) ex_->respond_text(500, "read error");
    done_reading_ = true;
    finished_ = true;
    if (conn_) return close_conn();
    maybe_delete();
  }

  // Last action of any caller: on_closed() may run inside close() and free us.
  void close_conn() {
    core::TcpConn* c = conn_;
    conn_ = nullptr;
    c->close();
  }

  void fail_before_head(int rc) {
    if (ex_ && ex_->alive()) {
      if (rc == UV_ENOENT || rc == UV_ENOTDIR || rc == UV_EISDIR) {
        ex_->respond_text(404, "not found");
      } else {
        spdlog::warn("http: cannot open {}: {}", path_, uv_strerror(rc));
        ex_->respond_text(500, "cannot read the file");
      }
    }
    finish();
  }

  // The answer is complete or abandoned; frees once nothing is in flight.
  void finish() {
    finished_ = true;
    maybe_delete();
  }

  // Frees once no uv_fs request is in flight and, if it streamed, the
  // connection has reported on_closed.
  void maybe_delete() {
    if (busy_) return;
    if (streaming_ && !conn_closed_) return;
    if (!finished_ && !conn_closed_) return;
    if (fd_ >= 0) ::close(fd_);  // a regular file: close does not wait on the disk
    fd_ = -1;
    delete this;
  }

  ExchangeRef ex_;
  core::Loop& loop_;
  std::string path_;
  FileResponseOptions opt_;
  uv_fs_t req_{};
  int fd_ = -1;
  bool busy_ = false;          // a uv_fs request is in flight (req_ in use)
  bool whole_ = false;         // one read, then ex_->respond
  bool streaming_ = false;     // start_stream() handed us the connection
  bool conn_closed_ = false;   // on_closed() came
  bool finished_ = false;
  bool done_reading_ = false;
  core::TcpConn* conn_ = nullptr;
  int status_ = 200;
  Headers headers_;
  uint64_t offset_ = 0;
  uint64_t remaining_ = 0;
  core::ByteWriter chunk_;
  size_t chunk_want_ = 0;
};

}  // namespace

void respond_file(const ExchangeRef& ex, std::string path, FileResponseOptions options) {
  (new FileSender(ex, std::move(path), std::move(options)))->start();
}

}  // namespace weir::origin::http
