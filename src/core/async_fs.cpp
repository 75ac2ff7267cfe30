#include "core/async_fs.h"

#include <fcntl.h>

#include <memory>
#include <vector>

namespace weir::core {

namespace {

struct MkdirsJob {
  Loop* loop;
  std::vector<std::string> prefixes;  // parents first
  size_t next = 0;
  std::function<void(Status)> done;
  uv_fs_t req;

  void step() {
    if (next == prefixes.size()) {
      auto cb = std::move(done);
      delete this;
      cb(Status::ok());
      return;
    }
    req.data = this;
    int rc = uv_fs_mkdir(loop->uv(), &req, prefixes[next].c_str(), 0755, [](uv_fs_t* r) {
      auto* self = static_cast<MkdirsJob*>(r->data);
      ssize_t res = r->result;
      uv_fs_req_cleanup(r);
      if (res < 0 && res != UV_EEXIST) {
        auto cb = std::move(self->done);
        std::string p = self->prefixes[self->next];
        delete self;
        cb(Status::errorf("mkdir {}: {}", p, uv_strerror(int(res))));
        return;
      }
      ++self->next;
      self->step();
    });
    if (rc < 0) {
      auto cb = std::move(done);
      std::string p = prefixes[next];
      delete this;
      cb(Status::errorf("mkdir {}: {}", p, uv_strerror(rc)));
    }
  }
};

struct WriteJob {
  Loop* loop;
  std::string path;
  Slice bytes;
  size_t written = 0;
  uv_file fd = -1;
  std::function<void(Status)> done;
  Status result;
  uv_fs_t req;

  void finish(Status st) {
    result = std::move(st);
    if (fd >= 0) {
      req.data = this;
      uv_fs_close(loop->uv(), &req, fd, [](uv_fs_t* r) {
        auto* self = static_cast<WriteJob*>(r->data);
        uv_fs_req_cleanup(r);
        self->fd = -1;
        self->finish(std::move(self->result));
      });
      return;
    }
    auto cb = std::move(done);
    Status st2 = std::move(result);
    delete this;
    if (cb) cb(std::move(st2));
  }
  void write_more() {
    if (written >= bytes.size()) return finish(Status::ok());
    uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(bytes.data() + written)),
                               unsigned(bytes.size() - written));
    req.data = this;
    int rc = uv_fs_write(loop->uv(), &req, fd, &buf, 1, int64_t(written), [](uv_fs_t* r) {
      auto* self = static_cast<WriteJob*>(r->data);
      ssize_t res = r->result;
      uv_fs_req_cleanup(r);
      if (res < 0) return self->finish(Status::errorf("write {}: {}", self->path, uv_strerror(int(res))));
      self->written += size_t(res);
      self->write_more();
    });
    if (rc < 0) finish(Status::errorf("write {}: {}", path, uv_strerror(rc)));
  }
};

struct ReadJob {
  Loop* loop;
  std::string path;
  size_t max_bytes;
  uv_file fd = -1;
  ByteWriter out;
  uint8_t* dst = nullptr;  // the file's bytes, `size` long, inside `out`
  size_t size = 0;
  size_t got = 0;
  std::function<void(Result<Slice>)> done;
  Status error;
  uv_fs_t req;

  void finish() {
    if (fd >= 0) {
      req.data = this;
      uv_fs_close(loop->uv(), &req, fd, [](uv_fs_t* r) {
        auto* self = static_cast<ReadJob*>(r->data);
        uv_fs_req_cleanup(r);
        self->fd = -1;
        self->finish();
      });
      return;
    }
    auto cb = std::move(done);
    Result<Slice> res = error.is_ok() ? Result<Slice>(out.finish()) : Result<Slice>(error);
    delete this;
    cb(std::move(res));
  }
  void read_more() {
    if (got >= size) return finish();
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(dst + got), unsigned(std::min<size_t>(size - got, 1 << 20)));
    req.data = this;
    int rc = uv_fs_read(loop->uv(), &req, fd, &buf, 1, int64_t(got), [](uv_fs_t* r) {
      auto* self = static_cast<ReadJob*>(r->data);
      ssize_t res = r->result;
      uv_fs_req_cleanup(r);
      if (res <= 0) {
        self->error = res < 0 ? Status::errorf("read {}: {}", self->path, uv_strerror(int(res)))
                              : Status::errorf("read {}: file shrank", self->path);
        return self->finish();
      }
      self->got += size_t(res);
      self->read_more();
    });
    if (rc < 0) {
      error = Status::errorf("read {}: {}", path, uv_strerror(rc));
      finish();
    }
  }
};

}  // namespace

void mkdirs_async(Loop& loop, std::string path, std::function<void(Status)> done) {
  auto* job = new MkdirsJob();
  job->loop = &loop;
  job->done = std::move(done);
  for (size_t i = 1; i <= path.size(); ++i)
    if (i == path.size() || path[i] == '/') job->prefixes.push_back(path.substr(0, i));
  job->step();
}

void write_file_async(Loop& loop, std::string path, Slice bytes, std::function<void(Status)> done) {
  auto* job = new WriteJob();
  job->loop = &loop;
  job->path = std::move(path);
  job->bytes = std::move(bytes);
  job->done = std::move(done);
  job->req.data = job;
  int rc = uv_fs_open(loop.uv(), &job->req, job->path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644,
                      [](uv_fs_t* r) {
                        auto* self = static_cast<WriteJob*>(r->data);
                        ssize_t res = r->result;
                        uv_fs_req_cleanup(r);
                        if (res < 0) return self->finish(Status::errorf("open {}: {}", self->path, uv_strerror(int(res))));
                        self->fd = uv_file(res);
                        self->write_more();
                      });
  if (rc < 0) job->finish(Status::errorf("open {}: {}", job->path, uv_strerror(rc)));
}

void read_file_async(Loop& loop, std::string path, size_t max_bytes, std::function<void(Result<Slice>)> done) {
  auto* job = new ReadJob();
  job->loop = &loop;
  job->path = std::move(path);
  job->max_bytes = max_bytes;
  job->done = std::move(done);
  job->req.data = job;
  int rc = uv_fs_open(loop.uv(), &job->req, job->path.c_str(), O_RDONLY | O_CLOEXEC, 0, [](uv_fs_t* r) {
    auto* self = static_cast<ReadJob*>(r->data);
    ssize_t res = r->result;
    uv_fs_req_cleanup(r);
    if (res < 0) {
      self->error = Status::errorf("open {}: {}", self->path, uv_strerror(int(res)));
      return self->finish();
    }
    self->fd = uv_file(res);
    self->req.data = self;
    uv_fs_fstat(self->loop->uv(), &self->req, self->fd, [](uv_fs_t* r2) {
      auto* s2 = static_cast<ReadJob*>(r2->data);
      ssize_t rs = r2->result;
      uint64_t size = r2->statbuf.st_size;
      uv_fs_req_cleanup(r2);
      if (rs < 0) {
        s2->error = Status::errorf("stat {}: {}", s2->path, uv_strerror(int(rs)));
        return s2->finish();
      }
      if (size > s2->max_bytes) {
        s2->error = Status::errorf("{}: {} bytes is over the {} byte limit", s2->path, size, s2->max_bytes);
        return s2->finish();
      }
      s2->size = size_t(size);
      s2->out = ByteWriter(std::max<size_t>(s2->size, 16));
      if (s2->size) s2->dst = s2->out.grow(s2->size);
      s2->read_more();
    });
  });
  if (rc < 0) {
    job->error = Status::errorf("open {}: {}", job->path, uv_strerror(rc));
    job->finish();
  }
}

void unlink_async(Loop& loop, std::string path, std::function<void(Status)> done) {
  struct Job {
    uv_fs_t req;
    std::string path;
    std::function<void(Status)> done;
  };
  auto* job = new Job{};
  job->path = std::move(path);
  job->done = std::move(done);
  job->req.data = job;
  int rc = uv_fs_unlink(loop.uv(), &job->req, job->path.c_str(), [](uv_fs_t* r) {
    auto* self = static_cast<Job*>(r->data);
    ssize_t res = r->result;
    uv_fs_req_cleanup(r);
    auto cb = std::move(self->done);
    std::string p = std::move(self->path);
    delete self;
    if (cb) cb(res < 0 && res != UV_ENOENT ? Status::errorf("unlink {}: {}", p, uv_strerror(int(res))) : Status::ok());
  });
  if (rc < 0) {
    auto cb = std::move(job->done);
    delete job;
    if (cb) cb(Status::errorf("unlink: {}", uv_strerror(rc)));
  }
}

void rmdir_async(Loop& loop, std::string path) {
  auto* req = new uv_fs_t{};
  if (uv_fs_rmdir(loop.uv(), req, path.c_str(), [](uv_fs_t* r) {
        uv_fs_req_cleanup(r);
        delete r;
      }) < 0)
    delete req;
}

}  // namespace weir::core
