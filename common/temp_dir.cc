#include "common/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace proxima {

std::string TempRoot() {
  std::error_code ec;
  std::filesystem::path base = std::filesystem::temp_directory_path(ec);  // $TMPDIR, else /tmp
  return ec ? std::string("/tmp") : base.string();
}

absl::StatusOr<std::string> CreateTempDir(absl::string_view prefix, const std::string& root) {
  const std::filesystem::path base = root.empty() ? TempRoot() : root;
  std::string tmpl = (base / absl::StrCat(prefix, "XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot create a temporary directory ", tmpl));
  }
  return tmpl;
}

absl::StatusOr<ScopedTempDir> ScopedTempDir::Create(absl::string_view prefix) {
  absl::StatusOr<std::string> dir = CreateTempDir(prefix);
  if (!dir.ok()) return dir.status();
  return ScopedTempDir(std::move(*dir));
}

ScopedTempDir::ScopedTempDir(ScopedTempDir&& other) noexcept
    : path_(std::exchange(other.path_, std::string())) {}

ScopedTempDir::~ScopedTempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

}  // namespace proxima
