// Result<T>: a value or an Error, the return type of every operation that can
// fail for a reason a user must be told about.
//
// It is a small stand-in for C++23's std::expected (our compiler's library
// only offers that under -std=c++23): callers test it like a pointer, read the
// value with * or ->, and the error with error(). Error messages are Spanish,
// written for the person at the terminal or the portal.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace llavero {

// What went wrong, in words for the user; `code` is a stable short tag that
// programs and tests can branch on without parsing Spanish text, one of the
// constants of util/error_codes.h.
struct Error {
  std::string code;
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

// Result of an operation that yields nothing but may fail.
struct Ok {};
using Status = Result<Ok>;

inline Error make_error(std::string_view code, std::string message) {
  return Error{std::string(code), std::move(message)};
}

}  // namespace llavero

// Propagates the error of `expr` (a Result) out of the enclosing function,
// which must itself return a Result.
#define LLAVERO_TRY(expr)                                         \
  do {                                                            \
    auto&& llavero_try_result_ = (expr);                          \
    if (!llavero_try_result_) return llavero_try_result_.error(); \
  } while (0)
