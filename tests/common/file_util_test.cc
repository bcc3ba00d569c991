#include "common/file_util.h"

#include <filesystem>

#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

TEST(FileUtilTest, AtomicWriteReplacesAndLeavesNoTemp) {
  const std::string dir = MakeTempDir("file_util");
  const std::string path = dir + "/a.txt";
  ASSERT_TRUE(WriteFileAtomic(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "second").ok());
  auto read = ReadFile(path);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, "second");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(FileUtilTest, MissingFileIsNotFoundNamingPath) {
  auto read = ReadFile("/nonexistent/proxima/x");
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(read.status().message().find("/nonexistent/proxima/x"), std::string::npos);
}

TEST(FileUtilTest, ListFilesFiltersAndSorts) {
  const std::string dir = MakeTempDir("list");
  ASSERT_TRUE(WriteFileAtomic(dir + "/b.csv", "").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/a.csv", "").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/c.json", "").ok());
  auto files = ListFiles(dir, ".csv");
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0], dir + "/a.csv");
  EXPECT_EQ((*files)[1], dir + "/b.csv");
}

}  // namespace
}  // namespace proxima
