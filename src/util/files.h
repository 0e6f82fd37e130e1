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

#include "util/result.h"

namespace llavero {

Status write_file_atomically(const std::filesystem::path& path, std::string_view content,
                             mode_t mode = 0644);
Result<std::string> read_file(const std::filesystem::path& path);

// Removes the temporary files of write_file_atomically in `dir` whose
// process is gone; returns how many. Files of running processes and every
// other file are left alone.
std::size_t remove_stale_temporaries(const std::filesystem::path& dir);

}  // namespace llavero
