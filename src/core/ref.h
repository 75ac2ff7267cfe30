// Intrusive reference counting for objects shared across loops.
//
// Ownership: a Ref<T> is one counted owner. Counting is atomic, so a Ref may be
// copied and dropped on any thread; the object itself must be immutable once it
// is shared (or guard its own mutable state).
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

namespace weir::core {

class RefCounted {
 public:
  RefCounted() = default;
  virtual ~RefCounted() = default;
  RefCounted(const RefCounted&) = delete;
  RefCounted& operator=(const RefCounted&) = delete;

  void ref_acquire() const noexcept { count_.fetch_add(1, std::memory_order_relaxed); }
  // Returns true when this was the last reference.
  bool ref_release() const noexcept { return count_.fetch_sub(1, std::memory_order_acq_rel) == 1; }
  uint32_t ref_count() const noexcept { return count_.load(std::memory_order_relaxed); }
  // Called once, by the last Ref. Types with their own storage override it.
  virtual void destroy_self() const { delete this; }

 private:
  mutable std::atomic<uint32_t> count_{0};
};

// T must derive from RefCounted. Ref<const RefCounted> holds any counted object
// type-erased (the write queue uses it to keep bytes alive until sent).
template <class T>
class Ref {
 public:
  Ref() noexcept = default;
  Ref(std::nullptr_t) noexcept {}
  explicit Ref(T* p) noexcept : p_(p) {
    if (p_) p_->ref_acquire();
  }
  Ref(const Ref& o) noexcept : p_(o.p_) {
    if (p_) p_->ref_acquire();
  }
  Ref(Ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  template <class U>
  Ref(const Ref<U>& o) noexcept : p_(o.get()) {
    if (p_) p_->ref_acquire();
  }
  ~Ref() { reset(); }

  Ref& operator=(Ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }

  void reset() noexcept {
    if (p_ && p_->ref_release()) p_->destroy_self();
    p_ = nullptr;
  }

  T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  bool operator==(const Ref& o) const noexcept { return p_ == o.p_; }

 private:
  T* p_ = nullptr;
};

template <class T, class... Args>
Ref<T> make_ref(Args&&... args) {
  return Ref<T>(new T(std::forward<Args>(args)...));
}

}  // namespace weir::core
