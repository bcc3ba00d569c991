#include "tests/test_util.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace proxima {

std::string GoldenDir() {
  const char* env = std::getenv("PROXIMA_GOLDEN_DIR");
  if (env != nullptr && env[0] != '\0') return env;
  return PROXIMA_DEFAULT_GOLDEN_DIR;
}

std::string BinaryDir() { return PROXIMA_BINARY_DIR; }

nlohmann::json LoadJsonOrDie(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  if (!in.good()) return nlohmann::json();
  return nlohmann::json::parse(in);
}

std::string MakeTempDir(const std::string& prefix) {
  std::filesystem::path base = std::filesystem::temp_directory_path();
  if (const char* t = std::getenv("TEST_TMPDIR")) base = t;
  std::string tmpl = (base / absl::StrCat(prefix, "XXXXXX")).string();
  char* made = ::mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr) << "mkdtemp failed for " << tmpl;
  return tmpl;
}

CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  const std::string full = command + " 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  EXPECT_NE(pipe, nullptr) << "popen failed: " << command;
  if (pipe == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) r.output.append(buf, n);
  const int status = ::pclose(pipe);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  return r;
}

std::string BinPath(const std::string& name) { return BinaryDir() + "/bin/" + name; }

}  // namespace proxima
