#include "tests/support/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace proxima::testing {

absl::StatusOr<std::string> CreateTempDir(absl::string_view prefix) {
  std::filesystem::path base;
  if (const char* t = std::getenv("TEST_TMPDIR"); t != nullptr && *t != '\0') {
    base = t;
  } else {
    std::error_code ec;
    base = std::filesystem::temp_directory_path(ec);  // $TMPDIR, else /tmp
    if (ec) base = "/tmp";
  }
  std::string tmpl = (base / absl::StrCat(prefix, "XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("mkdtemp failed for ", tmpl));
  }
  return tmpl;
}

}  // namespace proxima::testing
