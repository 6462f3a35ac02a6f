// Error types shared by every part of Ember and the exit codes the CLI maps them to.
//
//   UsageError   bad command line, config key, type or value   -> exit 2, before any work
//   Error        anything that fails while running (files, data, numerics, collectives) -> exit 1
//
// Messages name the cause and the file, key or rank involved; they are printed as they are.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace ember {

/// A runtime failure: the CLI prints the message and exits with status 1.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
  virtual int exit_code() const { return 1; }
};

/// A usage or configuration error found before any work: the CLI exits with status 2.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message) {}
  int exit_code() const override { return 2; }
};

/// Throws ember::Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

/// Throws ember::UsageError with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail_usage(fmt::format_string<Args...> format, Args&&... args) {
  throw UsageError(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace ember
