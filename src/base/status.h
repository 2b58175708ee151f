// Errors as values: every fallible internal function returns Status or Result<T>.
// The code maps 1:1 onto taec_status at the C boundary; the message names the
// file/tensor/shape and says why, so callers can print it unchanged.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "taec/taec.h"

namespace taec {

enum class Code {
  ok = TAEC_OK,
  invalid_argument = TAEC_ERR_INVALID_ARGUMENT,
  io = TAEC_ERR_IO,
  format = TAEC_ERR_FORMAT,
  unsupported = TAEC_ERR_UNSUPPORTED,
  shape = TAEC_ERR_SHAPE,
  nonfinite = TAEC_ERR_NONFINITE,
  out_of_memory = TAEC_ERR_OUT_OF_MEMORY,
  internal = TAEC_ERR_INTERNAL,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == Code::ok; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes context ("reading foo.pth: ") so low-level errors name the file.
  Status with_context(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  Code code_ = Code::ok;
  std::string message_;
};

inline Status ok_status() { return Status(); }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(state_);
  }
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace taec

// Early-return helpers; keep call sites flat.
#define TAEC_RETURN_IF_ERROR(expr)          \
  do {                                      \
    ::taec::Status taec_status_ = (expr);   \
    if (!taec_status_.ok()) return taec_status_; \
  } while (0)

#define TAEC_CONCAT_INNER(a, b) a##b
#define TAEC_CONCAT(a, b) TAEC_CONCAT_INNER(a, b)
#define TAEC_ASSIGN_OR_RETURN(lhs, expr) \
  TAEC_ASSIGN_OR_RETURN_IMPL(TAEC_CONCAT(taec_result_, __LINE__), lhs, expr)
#define TAEC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
