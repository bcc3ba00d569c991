// The lm tests' walk over the float64 NumPy reference files: ForEachLmCase
// calls fn(case, label) for every case of every <prefix>*.json under
// tests/reference/lm/ and, when it exists, $PROXIMA_GOLDEN_DIR/lm, with a
// label naming the file and the case; it returns the number of cases and
// fails the test (EXPECT) when there are none or a folder cannot be listed.
// The including test target defines PROXIMA_SOURCE_DIR (tests/lm/CMakeLists.txt).
#ifndef PROXIMA_TESTS_LM_LM_REFERENCE_CASES_H_
#define PROXIMA_TESTS_LM_LM_REFERENCE_CASES_H_

#include <filesystem>
#include <functional>
#include <string>

#include "common/file_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

#ifndef PROXIMA_SOURCE_DIR
#error "PROXIMA_SOURCE_DIR must name the source tree (tests/lm/CMakeLists.txt)"
#endif

namespace proxima::lm_testing {

inline int ForEachLmCase(
    const std::string& prefix,
    const std::function<void(const nlohmann::json&, const std::string&)>& fn) {
  int cases = 0;
  for (const std::string& dir : {std::string(PROXIMA_SOURCE_DIR) + "/tests/reference/lm",
                                GoldenDir() + "/lm"}) {
    if (!std::filesystem::is_directory(dir)) continue;
    auto files = ListFiles(dir, ".json");
    EXPECT_TRUE(files.ok()) << dir << ": " << files.status();
    if (!files.ok()) continue;
    for (const auto& f : *files) {
      if (f.substr(f.find_last_of('/') + 1).rfind(prefix, 0) != 0) continue;
      const nlohmann::json doc = LoadJsonOrDie(f);
      for (const auto& c : doc.at("cases")) fn(c, f + " case " + std::to_string(cases++));
    }
  }
  EXPECT_GT(cases, 0) << "no " << prefix << "*.json";
  return cases;
}

}  // namespace proxima::lm_testing

#endif  // PROXIMA_TESTS_LM_LM_REFERENCE_CASES_H_
