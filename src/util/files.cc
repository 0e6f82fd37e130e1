#include "util/files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/random.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "util/error_codes.h"

namespace fs = std::filesystem;

namespace llavero {

namespace {
Error file_error(const fs::path& path, std::string_view what, int error) {
  return make_error(errc::kErrorArchivo,
                    fmt::format("No se pudo {} {}: {}", what, path.string(), std::strerror(error)));
}
std::string random_hex() {
  unsigned char bytes[8] = {};
  std::size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n > 0)
      got += static_cast<std::size_t>(n);
    else if (errno != EINTR)
      break;  // O_EXCL still stops a collision
  }
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return hex;
}

// The pid a temporary name was made by, if `name` is one:
// ".<anything>.<pid>-<16 hex>.tmp".
std::optional<pid_t> temporary_owner(std::string_view name) {
  if (name.size() < 24 || name.front() != '.' || !name.ends_with(".tmp")) return std::nullopt;
  name.remove_suffix(4);
  const std::size_t dash = name.rfind('-');
  if (dash == std::string_view::npos || name.size() - dash - 1 != 16) return std::nullopt;
  for (char c : name.substr(dash + 1))
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  const std::size_t dot = name.rfind('.', dash);
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == dash) return std::nullopt;
  pid_t pid = 0;
  for (char c : name.substr(dot + 1, dash - dot - 1)) {
    if (c < '0' || c > '9' || pid > 100000000) return std::nullopt;
    pid = pid * 10 + (c - '0');
  }
  return pid;
}

}  // namespace

std::size_t remove_stale_temporaries(const fs::path& dir) {
  std::size_t removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    auto pid = temporary_owner(it->path().filename().string());
    if (!pid || *pid <= 0) continue;
    if (::kill(*pid, 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to judge)
    if (::unlink(it->path().c_str()) == 0) ++removed;
  }
  return removed;
}

Result<StagedWrite> StagedWrite::open(const fs::path& destination, mode_t mode) {
  StagedWrite staged;
  staged.destination_ = destination;
  staged.dir_ = destination.has_parent_path() ? destination.parent_path() : fs::path(".");
  remove_stale_temporaries(staged.dir_);
  const fs::path tmp = staged.dir_ / fmt::format(".{}.{}-{}.tmp", destination.filename().string(),
                                                 getpid(), random_hex());
  staged.fd_ = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (staged.fd_ < 0) return file_error(destination, "escribir", errno);
  staged.temporary_ = tmp;
  return staged;
}

StagedWrite::StagedWrite(StagedWrite&& other) noexcept
    : destination_(std::move(other.destination_)),
      dir_(std::move(other.dir_)),
      temporary_(std::exchange(other.temporary_, {})),
      fd_(std::exchange(other.fd_, -1)) {}

StagedWrite::~StagedWrite() {
  if (fd_ >= 0) ::close(fd_);
  if (!temporary_.empty()) ::unlink(temporary_.c_str());
}

Status StagedWrite::write(std::string_view content) {
  if (fd_ < 0) return file_error(destination_, "escribir", EBADF);
  bool ok = ::write(fd_, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
            ::fsync(fd_) == 0;
  const int saved = errno;
  if (!ok) return file_error(destination_, "escribir", saved);
  return Ok{};
}

Status StagedWrite::commit() {
  if (fd_ < 0 || temporary_.empty()) return file_error(destination_, "escribir", EBADF);
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) return file_error(destination_, "escribir", errno);
  if (std::rename(temporary_.c_str(), destination_.c_str()) != 0)
    return file_error(destination_, "escribir", errno);
  temporary_.clear();
  int dirfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd >= 0) {
    ::fsync(dirfd);
    ::close(dirfd);
  }
  return Ok{};
}

Status write_file_atomically(const fs::path& path, std::string_view content, mode_t mode) {
  auto staged = StagedWrite::open(path, mode);
  if (!staged) return staged.error();
  LLAVERO_TRY(staged->write(content));
  return staged->commit();
}

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return file_error(path, "leer", errno);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace llavero
