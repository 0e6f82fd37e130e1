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

Status write_file_atomically(const fs::path& path, std::string_view content, mode_t mode) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  remove_stale_temporaries(dir);
  const fs::path tmp =
      dir / fmt::format(".{}.{}-{}.tmp", path.filename().string(), getpid(), random_hex());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return file_error(path, "escribir", errno);
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
            ::fsync(fd) == 0;
  int saved = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    saved = errno;
  }
  if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    saved = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    return file_error(path, "escribir", saved);
  }
  int dirfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd >= 0) {
    ::fsync(dirfd);
    ::close(dirfd);
  }
  return Ok{};
}

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return file_error(path, "leer", errno);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace llavero
