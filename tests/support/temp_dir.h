// Fresh private directories for tests and fuzz targets: common/temp_dir.h's
// CreateTempDir under the test temp root.
#ifndef PROXIMA_TESTS_SUPPORT_TEMP_DIR_H_
#define PROXIMA_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace proxima::testing {

// Creates a new empty directory named PREFIX followed by six random
// characters under $TEST_TMPDIR if set, else $TMPDIR, else /tmp, and returns
// its path (no trailing slash). The caller owns (and may remove) it.
absl::StatusOr<std::string> CreateTempDir(absl::string_view prefix);

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_SUPPORT_TEMP_DIR_H_
