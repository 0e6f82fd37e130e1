#include "http/access_log.h"

#include <spdlog/spdlog.h>

namespace llavero::http {

bool AccessLog::write(const std::string& line, Clock::time_point now) {
  if (budget_ == 0) {
    spdlog::info("{}", line);
    return true;
  }
  std::uint64_t left_out = 0;
  bool write_line = false;
  {
    std::lock_guard lock(mu_);
    if (now - second_start_ >= std::chrono::seconds(1)) {
      left_out = suppressed_this_second_;
      suppressed_this_second_ = 0;
      written_this_second_ = 0;
      second_start_ = now;
    }
    if (written_this_second_ < budget_) {
      ++written_this_second_;
      write_line = true;
    } else {
      ++suppressed_this_second_;
      ++suppressed_total_;
    }
  }
  if (left_out != 0)
    spdlog::warn("registro de accesos: {} solicitudes más en el segundo anterior, no registradas",
                 left_out);
  if (write_line) spdlog::info("{}", line);
  return write_line;
}

std::uint64_t AccessLog::suppressed_total() const {
  std::lock_guard lock(mu_);
  return suppressed_total_;
}

}  // namespace llavero::http
