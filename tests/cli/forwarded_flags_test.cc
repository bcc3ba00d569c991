// `proxima train` forwards to its learner exactly the PPO and learner flags
// (ForwardedLearnerFlags, an explicit list) minus those the launcher sets
// itself: checked here against the flags ppo_flags.cc and learner_flags.cc
// define, so a new flag in either file cannot be forgotten.
#include <algorithm>
#include <set>
#include <string>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "learner/cli/learner_flags.h"
#include "learner/cli/local_cluster.h"
#include "learner/cli/ppo_flags.h"

namespace proxima {
namespace {

// Called so that the linker keeps both flag files' definitions (the
// results, from default flags, do not matter here).
void LinkFlagFiles() {
  (void)PpoConfigFromFlags();
  (void)LearnerOptionsFromFlags();
}

TEST(ForwardedFlagsTest, AreEveryPpoAndLearnerFlagButTheLaunchersOwn) {
  LinkFlagFiles();
  std::set<std::string> defined;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::StrContains(flag->Filename(), "learner/cli/ppo_flags.cc") ||
        absl::StrContains(flag->Filename(), "learner/cli/learner_flags.cc")) {
      defined.insert(std::string(name));
    }
  }
  ASSERT_GT(defined.size(), 50u);
  defined.erase("run_dir");  // set by the launcher
  defined.erase("quiet");
  defined.erase("overwrite");  // done by the launcher before the learner starts
  std::set<std::string> listed;
  for (absl::string_view name : ForwardedLearnerFlags()) listed.insert(std::string(name));
  EXPECT_EQ(listed, defined);
  EXPECT_TRUE(std::is_sorted(ForwardedLearnerFlags().begin(), ForwardedLearnerFlags().end()));
}

TEST(ForwardedFlagsTest, OnlyChangedValuesAreForwarded) {
  LinkFlagFiles();
  absl::FlagSaver saver;
  absl::CommandLineFlag* gamma = absl::FindCommandLineFlag("gamma");
  absl::CommandLineFlag* quiet = absl::FindCommandLineFlag("quiet");
  ASSERT_NE(gamma, nullptr);
  ASSERT_NE(quiet, nullptr);
  std::string err;
  ASSERT_TRUE(gamma->ParseFrom("0.95", &err)) << err;
  ASSERT_TRUE(quiet->ParseFrom("true", &err)) << err;
  EXPECT_EQ(LearnerFlagsToForward({}), std::vector<std::string>{"--gamma=0.95"});
}

// A flag given at its default value still reaches the learner: an explicit
// `--min-actors 1` must override the launcher's `--min-actors N`, which
// comes first on the learner's command line.
TEST(ForwardedFlagsTest, GivenFlagsAreForwardedAtTheirDefault) {
  LinkFlagFiles();
  absl::FlagSaver saver;
  EXPECT_EQ(LearnerFlagsToForward({"min_actors", "quiet"}),
            std::vector<std::string>{"--min-actors=1"});
}

}  // namespace
}  // namespace proxima
