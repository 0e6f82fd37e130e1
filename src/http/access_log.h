// The access log: one line per answered request, but never more than a set
// number of lines per second. Under a flood the lines beyond the budget are
// counted, not written, and one summary line per second says how many were
// left out, so the log grows at a bounded rate whatever the load (issue 12).
// The lines go to spdlog's default logger (standard error); rotating a log
// file by size is left to whoever collects that stream, until `serve` writes
// a file of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace llavero::http {

class AccessLog {
 public:
  using Clock = std::chrono::steady_clock;
  // lines_per_second = 0: every line is written.
  explicit AccessLog(std::size_t lines_per_second) : budget_(lines_per_second) {}

  // Writes `line` (info level) unless this second's budget is spent.
  // Returns whether it was written.
  bool write(const std::string& line, Clock::time_point now = Clock::now());

  // Lines left out since the server started.
  std::uint64_t suppressed_total() const;

 private:
  const std::size_t budget_;
  mutable std::mutex mu_;
  Clock::time_point second_start_{};
  std::size_t written_this_second_ = 0;
  std::uint64_t suppressed_this_second_ = 0;
  std::uint64_t suppressed_total_ = 0;
};

}  // namespace llavero::http
