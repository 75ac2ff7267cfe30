// Byte buffers.
//
// Three types, so the compiler keeps borrowed bytes apart from stored bytes:
//  - ByteView: borrowed, non-owning (a socket read buffer, a parser input).
//    Never store one past the call that handed it to you.
//  - Buffer:   one immutable, refcounted block of bytes, shared across loops
//    by Ref<Buffer>. Usually one heap allocation (header and bytes); a
//    memfd-backed Buffer also has a file descriptor, so sockets can send its
//    bytes with sendfile(2) instead of copying them (TcpConn does).
//  - Slice:    an owning window into a Buffer. Cheap to copy (one atomic inc);
//    this is what packets and caches keep.
// ByteWriter builds bytes and freezes them into a Buffer without a copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "core/ref.h"

namespace weir::core {

using ByteView = std::span<const uint8_t>;

inline ByteView as_bytes(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view as_chars(ByteView v) {
  return std::string_view(reinterpret_cast<const char*>(v.data()), v.size());
}

class Buffer final : public RefCounted {
 public:
  // Allocates `capacity` bytes; size starts at 0 and only ByteWriter grows it.
  static Ref<Buffer> allocate(size_t capacity);
  static Ref<Buffer> copy_of(ByteView bytes);
  // A copy of `bytes` in a sealed memfd mapped read-only, for bytes served
  // many times (HLS segments). Falls back to copy_of() if the kernel refuses
  // (no memfd, out of descriptors). Costs one descriptor while it lives.
  static Ref<Buffer> memfd_copy_of(ByteView bytes) { return memfd_join(std::span<const ByteView>(&bytes, 1)); }
  // The pieces, joined, in one memfd (or one heap block, as above).
  static Ref<Buffer> memfd_join(std::span<const ByteView> pieces);
  void destroy_self() const override;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  ByteView view() const { return ByteView(data_, size_); }
  // The memfd holding the bytes at offset 0, or -1 for heap bytes. Valid while
  // this Buffer lives; its contents never change.
  int fd() const { return fd_; }

 private:
  friend class ByteWriter;
  explicit Buffer(size_t capacity) : data_(storage_), capacity_(capacity) {}
  Buffer(uint8_t* mapped, size_t size, int fd) : data_(mapped), size_(size), capacity_(size), fd_(fd) {}

  uint8_t* data_;  // storage_, or the memfd mapping
  size_t size_ = 0;
  size_t capacity_ = 0;
  int fd_ = -1;
  alignas(16) uint8_t storage_[];
};

class Slice {
 public:
  Slice() = default;
  explicit Slice(Ref<Buffer> b) : buf_(std::move(b)), off_(0), len_(buf_ ? buf_->size() : 0) {}
  Slice(Ref<Buffer> b, size_t off, size_t len);
  static Slice copy_of(ByteView bytes) { return Slice(Buffer::copy_of(bytes)); }

  const uint8_t* data() const { return buf_ ? buf_->data() + off_ : nullptr; }
  size_t size() const { return len_; }
  bool empty() const { return len_ == 0; }
  ByteView view() const { return ByteView(data(), len_); }
  // Narrower window sharing the same Buffer. Clamps to this slice's bounds.
  Slice sub(size_t off, size_t len = SIZE_MAX) const;
  const Ref<Buffer>& buffer() const { return buf_; }

 private:
  Ref<Buffer> buf_;
  size_t off_ = 0;
  size_t len_ = 0;
};

// Growable builder. Not thread-safe. finish() hands the bytes over as a Slice
// and leaves the writer empty.
class ByteWriter {
 public:
  explicit ByteWriter(size_t initial_capacity = 256);
  ByteWriter(ByteWriter&&) = default;
  ByteWriter& operator=(ByteWriter&&) = default;

  void u8(uint8_t v) { *grow(1) = v; }
  void u16be(uint16_t v);
  void u24be(uint32_t v);
  void u32be(uint32_t v);
  void u32le(uint32_t v);
  void u64be(uint64_t v);
  void f64be(double v);
  void bytes(ByteView v);
  void bytes(std::string_view s) { bytes(as_bytes(s)); }
  void zeros(size_t n);
  // Reserves n bytes at the end and returns them for the caller to fill.
  uint8_t* grow(size_t n);
  // Overwrites already-written bytes (for back-patched lengths).
  void patch_u24be(size_t at, uint32_t v);
  void patch_u32be(size_t at, uint32_t v);

  size_t size() const { return buf_ ? buf_->size_ : 0; }
  ByteView view() const { return buf_ ? buf_->view() : ByteView(); }
  Slice finish();
  void clear();

 private:
  Ref<Buffer> buf_;
  size_t initial_;
};

}  // namespace weir::core
