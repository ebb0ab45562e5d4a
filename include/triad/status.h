// Status: the result of an operation that can fail for a recoverable reason
// (bad input, a missing file). Invariant violations are asserts, not Statuses.
#ifndef TRIAD_STATUS_H_
#define TRIAD_STATUS_H_

#include <string>
#include <string_view>
#include <utility>

namespace triad {

class Status {
 public:
  enum class Code { kOk = 0, kInvalidArgument, kNotFound, kCorruption, kIOError, kUnsupported };

  Status() = default;  // OK
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string_view msg) { return Status(Code::kInvalidArgument, msg); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }
  static Status IOError(std::string_view msg) { return Status(Code::kIOError, msg); }
  static Status Unsupported(std::string_view msg) { return Status(Code::kUnsupported, msg); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return msg_; }
  // Returns "OK" or "<Code>: <message>".
  std::string ToString() const;

 private:
  Status(Code c, std::string_view msg) : code_(c), msg_(msg) {}
  Code code_ = Code::kOk;
  std::string msg_;
};

// Propagates a non-OK Status to the caller.
#define TRIAD_RETURN_IF_ERROR(expr)           \
  do {                                        \
    ::triad::Status _st = (expr);             \
    if (!_st.ok()) return _st;                \
  } while (0)

}  // namespace triad

#endif  // TRIAD_STATUS_H_
