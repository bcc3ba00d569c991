#include "tests/support/temp_dir.h"

#include <cstdlib>

#include "common/temp_dir.h"

namespace proxima::testing {

absl::StatusOr<std::string> CreateTempDir(absl::string_view prefix) {
  const char* t = std::getenv("TEST_TMPDIR");
  return ::proxima::CreateTempDir(prefix, t != nullptr ? std::string(t) : std::string());
}

}  // namespace proxima::testing
