// Whole-file reads and writes. A write goes to a temporary file beside the
// destination, is synced, then renamed over it (and the directory synced):
// a reader sees the old file or the whole new one, never half of it.
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

}  // namespace llavero
