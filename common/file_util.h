// Small file helpers with absl::Status errors that name the path.
#ifndef PROXIMA_COMMON_FILE_UTIL_H_
#define PROXIMA_COMMON_FILE_UTIL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace proxima {

// Reads a whole file.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `contents` atomically: a temporary file in the same directory is
// written, fsync'ed and renamed over `path`, then the directory is fsync'ed.
// A reader never sees a torn file; a crash leaves either the old or the new one
// (plus, possibly, the temporary file `path` + ".tmp"). `failpoint`, when not
// empty, is a test-only fail point (common/failpoint.h) between the temporary
// file's fsync and the rename.
absl::Status WriteFileAtomic(const std::string& path, absl::string_view contents,
                             absl::string_view failpoint = {});

// Creates `path` and its parents if needed.
absl::Status MakeDirs(const std::string& path);

// Regular files in `dir` whose names end with `suffix`, sorted by name.
absl::StatusOr<std::vector<std::string>> ListFiles(const std::string& dir,
                                                   absl::string_view suffix);
// The same, also in every sub-folder (following no symlinked folders), sorted
// by path.
absl::StatusOr<std::vector<std::string>> ListFilesRecursively(const std::string& dir,
                                                              absl::string_view suffix);

}  // namespace proxima

#endif  // PROXIMA_COMMON_FILE_UTIL_H_
