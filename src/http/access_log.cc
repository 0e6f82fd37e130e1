#include "http/access_log.h"

#include <fmt/format.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>

#include "util/error_codes.h"

namespace llavero::http {

AccessLog::AccessLog(std::size_t lines_per_second, std::shared_ptr<spdlog::logger> to)
    : budget_(lines_per_second), logger_(to ? std::move(to) : spdlog::default_logger()) {}

bool AccessLog::write(const std::string& line, Clock::time_point now) {
  if (budget_ == 0) {
    logger_->info("{}", line);
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
    logger_->warn("registro de accesos: {} solicitudes más en el segundo anterior, no registradas",
                  left_out);
  if (write_line) logger_->info("{}", line);
  return write_line;
}

std::uint64_t AccessLog::suppressed_total() const {
  std::lock_guard lock(mu_);
  return suppressed_total_;
}

Result<std::shared_ptr<spdlog::logger>> open_rotating_access_log(const std::filesystem::path& path,
                                                                 std::size_t max_bytes,
                                                                 std::size_t files) {
  try {
    auto sink =
        std::make_shared<spdlog::sinks::rotating_file_sink_mt>(path.string(), max_bytes, files);
    auto logger = std::make_shared<spdlog::logger>("accesos", std::move(sink));
    // Each line reaches the file at once (the rate is bounded above), so a
    // crash loses none and `tail -f` sees them.
    logger->flush_on(spdlog::level::info);
    return logger;
  } catch (const spdlog::spdlog_ex& e) {
    return make_error(
        errc::kConfigInvalida,
        fmt::format("No se pudo abrir el registro de accesos {}: {}", path.string(), e.what()));
  }
}

}  // namespace llavero::http
