// Whole-file reads and writes. A write goes to a temporary file beside the
// destination, is synced, then renamed over it (and the directory synced):
// a reader sees the old file or the whole new one, never half of it.
//
// The temporary file is `.<name>.<pid>-<16 random hex>.tmp`, created with
// O_EXCL, so two writers never collide, not even a later process that got
// the pid of one killed mid-write. It is removed on every error path; one
// left by a killed process (its pid no longer running) is removed by the
// next write into the same directory.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "util/result.h"

namespace llavero {

Status write_file_atomically(const std::filesystem::path& path, std::string_view content,
                             mode_t mode = 0644);

// The same in steps, for a writer that must do something between writing
// and publishing (e.g. `llave generar` makes the key active in the store
// first): open() creates the temporary file, write() writes and syncs it,
// commit() renames it over the destination. Destroyed before commit(), it
// removes the temporary file: no error path leaves one behind.
class StagedWrite {
 public:
  static Result<StagedWrite> open(const std::filesystem::path& destination, mode_t mode = 0644);
  StagedWrite(StagedWrite&& other) noexcept;
  StagedWrite& operator=(StagedWrite&&) = delete;
  StagedWrite(const StagedWrite&) = delete;
  ~StagedWrite();

  Status write(std::string_view content);
  Status commit();
  const std::filesystem::path& temporary_path() const { return temporary_; }
  // Keeps the temporary file on disk (e.g. the only copy of a key, when
  // commit() failed) and returns its path.
  std::filesystem::path release() { return std::exchange(temporary_, {}); }

 private:
  StagedWrite() = default;
  std::filesystem::path destination_, dir_, temporary_;
  int fd_ = -1;
};
Result<std::string> read_file(const std::filesystem::path& path);

// Removes the temporary files of write_file_atomically in `dir` whose
// process is gone; returns how many. Files of running processes and every
// other file are left alone.
std::size_t remove_stale_temporaries(const std::filesystem::path& dir);

}  // namespace llavero
