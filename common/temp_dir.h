// Fresh private directories: the one place that picks a temp root and calls
// mkdtemp — for `proxima plot`'s data files, `proxima bench`'s work dir and
// (through tests/support/temp_dir.h) every test. Takes no locks.
#ifndef PROXIMA_COMMON_TEMP_DIR_H_
#define PROXIMA_COMMON_TEMP_DIR_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace proxima {

// $TMPDIR if set, else /tmp.
std::string TempRoot();

// Creates a new empty directory named PREFIX followed by six random
// characters under `root` (empty: TempRoot()) and returns its path (no
// trailing slash). The caller owns it.
absl::StatusOr<std::string> CreateTempDir(absl::string_view prefix,
                                          const std::string& root = "");

// A directory from CreateTempDir that is removed, with everything in it,
// when this object goes away. Movable, not copyable.
class ScopedTempDir {
 public:
  static absl::StatusOr<ScopedTempDir> Create(absl::string_view prefix);
  ScopedTempDir(ScopedTempDir&& other) noexcept;
  ScopedTempDir& operator=(ScopedTempDir&&) = delete;
  ScopedTempDir(const ScopedTempDir&) = delete;
  ~ScopedTempDir();

  const std::string& path() const { return path_; }

 private:
  explicit ScopedTempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_TEMP_DIR_H_
