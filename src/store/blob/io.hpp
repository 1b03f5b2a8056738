#pragma once
// File-system helpers shared by the blob and pack stores.
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace valija::store::blob {

// ENOSPC/EDQUOT become NoSpace (a full disk is a temporary failure for senders),
// ENOENT NotFound, the rest Internal.
Error io_error(std::string_view what, const std::string& path, int err);
// Opens `path` with `flags` and fsyncs it (a file, or a directory with O_DIRECTORY).
Result<void> fsync_path(const std::string& path, int flags);

}  // namespace valija::store::blob
