#include "core/buffer.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <new>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace weir::core {

Ref<Buffer> Buffer::allocate(size_t capacity) {
  void* mem = std::malloc(sizeof(Buffer) + capacity);
  if (!mem) throw std::bad_alloc();
  return Ref<Buffer>(new (mem) Buffer(capacity));
}

Ref<Buffer> Buffer::copy_of(ByteView bytes) {
  Ref<Buffer> b = allocate(bytes.size());
  if (!bytes.empty()) std::memcpy(b->storage_, bytes.data(), bytes.size());
  b->size_ = bytes.size();
  return b;
}

namespace {
Ref<Buffer> heap_join(std::span<const ByteView> pieces, size_t total) {
  ByteWriter w(total);
  for (ByteView p : pieces) w.bytes(p);
  return w.finish().buffer();  // total > 0: the writer holds a buffer
}

bool write_all(int fd, ByteView bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) return false;
    done += size_t(n);
  }
  return true;
}
}  // namespace

Ref<Buffer> Buffer::memfd_join(std::span<const ByteView> pieces) {
  size_t total = 0;
  for (ByteView p : pieces) total += p.size();
  if (total == 0) return allocate(0);
  int fd = ::memfd_create("weir-bytes", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return heap_join(pieces, total);
  bool ok = true;
  for (ByteView p : pieces) ok = ok && write_all(fd, p);
  // Sealed before it is mapped or shared: sendfile takes page references, so
  // the bytes must never change under a socket.
  void* map = MAP_FAILED;
  if (ok && ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) == 0)
    map = ::mmap(nullptr, total, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    ::close(fd);
    return heap_join(pieces, total);
  }
  void* mem = std::malloc(sizeof(Buffer));
  if (!mem) {
    ::munmap(map, total);
    ::close(fd);
    throw std::bad_alloc();
  }
  return Ref<Buffer>(new (mem) Buffer(static_cast<uint8_t*>(map), total, fd));
}

void Buffer::destroy_self() const {
  if (fd_ >= 0) {
    ::munmap(data_, size_);
    ::close(fd_);
  }
  void* mem = const_cast<Buffer*>(this);
  this->~Buffer();
  std::free(mem);
}

Slice::Slice(Ref<Buffer> b, size_t off, size_t len) : buf_(std::move(b)) {
  size_t total = buf_ ? buf_->size() : 0;
  off_ = std::min(off, total);
  len_ = std::min(len, total - off_);
}

Slice Slice::sub(size_t off, size_t len) const {
  off = std::min(off, len_);
  len = std::min(len, len_ - off);
  return Slice(buf_, off_ + off, len);
}

ByteWriter::ByteWriter(size_t initial_capacity) : initial_(std::max<size_t>(initial_capacity, 16)) {}

uint8_t* ByteWriter::grow(size_t n) {
  if (!buf_) buf_ = Buffer::allocate(std::max(initial_, n));
  if (buf_->size_ + n > buf_->capacity_) {
    size_t cap = std::max(buf_->capacity_ * 2, buf_->size_ + n);
    Ref<Buffer> bigger = Buffer::allocate(cap);
    std::memcpy(bigger->data_, buf_->data_, buf_->size_);
    bigger->size_ = buf_->size_;
    buf_ = std::move(bigger);
  }
  uint8_t* p = buf_->data_ + buf_->size_;
  buf_->size_ += n;
  return p;
}

void ByteWriter::u16be(uint16_t v) {
  uint8_t* p = grow(2);
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
void ByteWriter::u24be(uint32_t v) {
  uint8_t* p = grow(3);
  p[0] = uint8_t(v >> 16);
  p[1] = uint8_t(v >> 8);
  p[2] = uint8_t(v);
}
void ByteWriter::u32be(uint32_t v) {
  uint8_t* p = grow(4);
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}
void ByteWriter::u32le(uint32_t v) {
  uint8_t* p = grow(4);
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
  p[2] = uint8_t(v >> 16);
  p[3] = uint8_t(v >> 24);
}
void ByteWriter::u64be(uint64_t v) {
  u32be(uint32_t(v >> 32));
  u32be(uint32_t(v));
}
void ByteWriter::f64be(double v) { u64be(std::bit_cast<uint64_t>(v)); }
void ByteWriter::bytes(ByteView v) {
  if (v.empty()) return;
  std::memcpy(grow(v.size()), v.data(), v.size());
}
void ByteWriter::zeros(size_t n) {
  if (n) std::memset(grow(n), 0, n);
}
void ByteWriter::patch_u24be(size_t at, uint32_t v) {
  uint8_t* p = buf_->data_ + at;
  p[0] = uint8_t(v >> 16);
  p[1] = uint8_t(v >> 8);
  p[2] = uint8_t(v);
}
void ByteWriter::patch_u32be(size_t at, uint32_t v) {
  uint8_t* p = buf_->data_ + at;
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}
Slice ByteWriter::finish() {
  Slice s(std::move(buf_));
  buf_ = Ref<Buffer>();
  return s;
}
void ByteWriter::clear() {
  if (buf_) buf_->size_ = 0;
}

}  // namespace weir::core
