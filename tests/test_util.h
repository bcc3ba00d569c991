// Shared test helpers: where the golden reference data lives, a StatusIs
// matcher (Abseil 20220623 has none), and a JSON loader; ChildProcess and
// RunCommand come from tests/support/child_process.h.
#ifndef PROXIMA_TESTS_TEST_UTIL_H_
#define PROXIMA_TESTS_TEST_UTIL_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "nlohmann/json.hpp"
#include "tests/support/child_process.h"

namespace proxima {

// $PROXIMA_GOLDEN_DIR if set, else ../shared/golden beside the source tree.
std::string GoldenDir();

// True when running in CI (environment CI=true, as .ci/run sets it).
bool InCi();

// Directory of the build tree (for locating build/bin executables).
std::string BinaryDir();

// Parses a JSON file; fails the calling test on error.
nlohmann::json LoadJsonOrDie(const std::string& path);

// A fresh empty directory under the test temp dir (testing::CreateTempDir);
// fails the calling test if it cannot be made.
std::string MakeTempDir(const std::string& prefix);

// Path of an executable in build/bin.
std::string BinPath(const std::string& name);

// Child processes and shell commands (tests/support/child_process.h).
using ::proxima::testing::ChildProcess;
using ::proxima::testing::CommandResult;
using ::proxima::testing::RunCommand;

}  // namespace proxima

// Skips the calling test outside CI, fails it in CI: CI installs every
// dependency (deploy/install-deps.sh), so a missing one there is a bug of the
// install script, not a reason for a green run that proved nothing.
#define PROXIMA_SKIP_OR_FAIL_IN_CI()                             \
  if (::proxima::InCi()) GTEST_FAIL() << "CI=true, cannot skip: "; \
  else GTEST_SKIP()

// Lets gtest print absl::Status values readably.
namespace absl {
inline void PrintTo(const Status& s, std::ostream* os) { *os << s.ToString(); }
}  // namespace absl

namespace proxima::testing {

inline const absl::Status& internal_status(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& internal_status(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER(IsOk, "is OK") { return arg.ok(); }

// EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lr")))
MATCHER_P2(StatusIs, code, message_matcher,
           "has code " + absl::StatusCodeToString(code)) {
  const absl::Status& s = internal_status(arg);
  if (s.code() != code) {
    *result_listener << "whose code is " << absl::StatusCodeToString(s.code())
                     << " (" << s.message() << ")";
    return false;
  }
  return ::testing::ExplainMatchResult(message_matcher, std::string(s.message()),
                                       result_listener);
}

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_TEST_UTIL_H_
