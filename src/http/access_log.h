// The access log: one line per answered request, but never more than a set
// number of lines per second. Under a flood the lines beyond the budget are
// counted, not written, and one summary line per second says how many were
// left out, so the log grows at a bounded rate whatever the load (issue 12).
// The lines go to spdlog's default logger (standard error), or to a file of
// their own that rotates by size (registro_archivo, docs/operacion.md), so the
// disk it takes is bounded too: at most files × max_bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "util/result.h"

namespace spdlog {
class logger;
}

namespace llavero::http {

class AccessLog {
 public:
  using Clock = std::chrono::steady_clock;
  // lines_per_second = 0: every line is written. `to` null: the default logger.
  explicit AccessLog(std::size_t lines_per_second, std::shared_ptr<spdlog::logger> to = nullptr);

  // Writes `line` (info level) unless this second's budget is spent.
  // Returns whether it was written.
  bool write(const std::string& line, Clock::time_point now = Clock::now());

  // Lines left out since the server started.
  std::uint64_t suppressed_total() const;

 private:
  const std::size_t budget_;
  const std::shared_ptr<spdlog::logger> logger_;
  mutable std::mutex mu_;
  Clock::time_point second_start_{};
  std::size_t written_this_second_ = 0;
  std::uint64_t suppressed_this_second_ = 0;
  std::uint64_t suppressed_total_ = 0;
};

// A logger writing to `path`, which is renamed to path.1 (path.1 to path.2,
// …, the oldest deleted) when it would pass `max_bytes`; `files` is how many
// rotated files are kept besides it. Errors: the file cannot be opened.
Result<std::shared_ptr<spdlog::logger>> open_rotating_access_log(const std::filesystem::path& path,
                                                                 std::size_t max_bytes,
                                                                 std::size_t files);

}  // namespace llavero::http
