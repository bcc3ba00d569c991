// Command-line and environment parsing (common/flags.h): what a container's
// configuration turns into, and the errors a bad setting produces.
#include "common/flags.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

ABSL_FLAG(int64_t, test_total_steps, 100, "test flag");
ABSL_FLAG(std::string, test_listen, "0.0.0.0:1", "test flag");
ABSL_FLAG(bool, test_quiet, false, "test flag");
ABSL_FLAG(double, test_rate, 0.5, "test flag");

namespace proxima {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class FlagsTest : public ::testing::Test {
 protected:
  absl::FlagSaver saver_;  // every test starts from the defaults
};

TEST_F(FlagsTest, DashedAndUnderscoredNamesAndBooleanForms) {
  ParsedArgs parsed;
  ASSERT_TRUE(ParseFlags({"--test-total-steps=7", "--test_listen", "h:2", "--test-quiet", "pos"},
                         &parsed)
                  .ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_test_total_steps), 7);
  EXPECT_EQ(absl::GetFlag(FLAGS_test_listen), "h:2");
  EXPECT_TRUE(absl::GetFlag(FLAGS_test_quiet));
  EXPECT_THAT(parsed.positional, ::testing::ElementsAre("pos"));
  ASSERT_TRUE(ParseFlags({"--notest-quiet"}, &parsed).ok());
  EXPECT_FALSE(absl::GetFlag(FLAGS_test_quiet));
}

TEST_F(FlagsTest, UnknownFlagAndBadValueAreNamed) {
  ParsedArgs parsed;
  absl::Status s = ParseFlags({"--test-totl-steps=3"}, &parsed);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("unknown flag --test-totl-steps"));
  s = ParseFlags({"--test-total-steps=many"}, &parsed);
  EXPECT_THAT(std::string(s.message()),
              AllOf(HasSubstr("'many'"), HasSubstr("--test-total-steps")));
}

TEST_F(FlagsTest, EnvironmentSetsFlagsAndCommandLineOverrides) {
  const EnvVars env = {{"P_TEST_TOTAL_STEPS", "42"},
                       {"P_TEST_LISTEN", "learner:50051"},
                       {"P_TEST_QUIET", "true"},
                       {"OTHER_TEST_RATE", "9"},  // another prefix: not ours
                       {"P_TEST_RATE", ""}};      // empty: ignored
  ParsedArgs parsed;
  ASSERT_TRUE(ParseFlagsWithEnv("P_", env, {"--test-listen=cli:1"}, &parsed).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_test_total_steps), 42);
  EXPECT_EQ(absl::GetFlag(FLAGS_test_listen), "cli:1");  // the command line wins
  EXPECT_TRUE(absl::GetFlag(FLAGS_test_quiet));
  EXPECT_DOUBLE_EQ(absl::GetFlag(FLAGS_test_rate), 0.5);
}

TEST_F(FlagsTest, UnknownOrBadEnvironmentVariableIsNamed) {
  ParsedArgs parsed;
  absl::Status s = ParseFlagsWithEnv("P_", {{"P_TEST_TOTL_STEPS", "5"}}, {}, &parsed);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              AllOf(HasSubstr("environment variable P_TEST_TOTL_STEPS"),
                    HasSubstr("no such flag --test-totl-steps")));
  s = ParseFlagsWithEnv("P_", {{"P_TEST_TOTAL_STEPS", "1e9x"}}, {}, &parsed);
  EXPECT_THAT(std::string(s.message()),
              AllOf(HasSubstr("environment variable P_TEST_TOTAL_STEPS"), HasSubstr("'1e9x'")));
  // Nothing was applied from a rejected variable.
  EXPECT_EQ(absl::GetFlag(FLAGS_test_total_steps), 100);
}

TEST_F(FlagsTest, FlagFileFromEnvironment) {
  const std::string dir = MakeTempDir("flags_test");
  const std::string path = dir + "/proxima_flags_test.flags";
  ASSERT_TRUE(WriteFileAtomic(path, "# learner settings\n--test-total-steps=77\n\n--test-quiet\n").ok());
  ParsedArgs parsed;
  ASSERT_TRUE(ParseFlagsWithEnv("P_", {{"P_FLAGFILE", path}}, {}, &parsed).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_test_total_steps), 77);
  EXPECT_TRUE(absl::GetFlag(FLAGS_test_quiet));

  absl::Status s = ParseFlagsWithEnv("P_", {{"P_FLAGFILE", dir + "/missing.flags"}}, {}, &parsed);
  EXPECT_THAT(std::string(s.message()),
              AllOf(HasSubstr("environment variable P_FLAGFILE"), HasSubstr("missing.flags")));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace proxima
