// Status / Result<T>: errors as values. Nothing throws across a libuv callback;
// an error travels back to the session that owns the I/O and closes it.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace weir::core {

// [[nodiscard]]: a Status nobody looks at is an error nobody handles; the
// build makes ignoring one an error (-Werror=unused-result). Write
// `(void)expr;` only where dropping the error is the right thing, and say why.
class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  static Status ok() { return Status(); }
  static Status error(std::string msg) {
    Status s;
    s.ok_ = false;
    s.msg_ = std::move(msg);
    return s;
  }
  template <class... Args>
  static Status errorf(fmt::format_string<Args...> f, Args&&... args) {
    return error(fmt::format(f, std::forward<Args>(args)...));
  }
  bool is_ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const std::string& message() const { return msg_; }

 private:
  bool ok_ = true;
  std::string msg_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T v) : v_(std::move(v)) {}
  Result(Status s) : v_(std::move(s)) {}
  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }
  const Status& status() const { return std::get<1>(v_); }
  const std::string& error() const { return status().message(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace weir::core
