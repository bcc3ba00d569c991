#include "tests/test_util.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace proxima {

std::string GoldenDir() {
  const char* env = std::getenv("PROXIMA_GOLDEN_DIR");
  if (env != nullptr && env[0] != '\0') return env;
  return PROXIMA_DEFAULT_GOLDEN_DIR;
}

bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

std::string BinaryDir() { return PROXIMA_BINARY_DIR; }

nlohmann::json LoadJsonOrDie(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  if (!in.good()) return nlohmann::json();
  return nlohmann::json::parse(in);
}

std::string MakeTempDir(const std::string& prefix) {
  absl::StatusOr<std::string> dir = testing::CreateTempDir(prefix);
  EXPECT_TRUE(dir.ok()) << dir.status();
  return dir.ok() ? *dir : std::string();
}

std::string BinPath(const std::string& name) { return BinaryDir() + "/bin/" + name; }

}  // namespace proxima
