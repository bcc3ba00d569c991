// `proxima-learner --env lm/... --algo grpo --resume DIR --resume-or-start`
// (learner/cli/seq_learner_flags.h, SeqResumeOrStartResumes), the way
// deploy/docker-compose.lm.yml restarts a sequence learner on one volume,
// with real processes: the same command line starts a new run in a missing
// DIR, starts it again when it stopped before its first checkpoint, and
// continues it (version and metrics.csv carry on) once DIR holds one. A DIR
// holding another kind of run, another task's run or no config.json next to
// its checkpoints exits 2 naming --resume. A few seconds.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/listening_line.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/lm/lm_test_commands.h"
#include "tests/support/child_process.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::string TinySftRun() { return lm_testing::TinySftRun("seq_ros_sft"); }

// metrics.csv's update column after the header, without a start row
// (update 0) that a new run may write first.
std::vector<int> Updates(const std::string& path) {
  std::ifstream in(path);
  std::vector<int> updates;
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const int update = std::stoi(line.substr(0, line.find(',')));
    if (update > 0) updates.push_back(update);
  }
  return updates;
}

// The learner's command line, identical on every start but for --lm-updates.
std::vector<std::string> LearnerArgs(const std::string& sft, const std::string& run,
                                     int updates) {
  return {BinPath("proxima-learner"), "--env", "lm/Addition-v0", "--init-checkpoint", sft,
          "--listen", "127.0.0.1:0", "--group-size", "4", "--prompts-per-chunk", "2",
          "--max-new-tokens", "5", "--algo", "grpo", "--chunks-per-update", "2",
          "--lm-learning-rate", "1e-3", "--lm-eval-every", "0", "--lm-eval-prompts", "20",
          "--lm-updates", std::to_string(updates), "--resume", run, "--resume-or-start"};
}

// Starts the learner and one actor, waits for the learner to stop by itself
// at --lm-updates, stops the actor; returns the learner's log.
std::string TrainTo(const std::string& sft, const std::string& run, int updates,
                    const std::string& log) {
  ChildProcess learner(LearnerArgs(sft, run, updates), log);
  const absl::StatusOr<std::string> address = learner.ReadListeningAddress(kLearnerProgram, 60);
  EXPECT_TRUE(address.ok()) << address.status();
  if (!address.ok()) return "";
  ChildProcess actor({BinPath("proxima-actor"), "--learner", *address, "--name", "gen"},
                     log + ".actor");
  EXPECT_EQ(learner.Wait(60), 0) << ReadFile(log).value_or("");
  actor.Signal(SIGTERM);
  EXPECT_EQ(actor.Wait(20), 0);
  return ReadFile(log).value_or("");
}

TEST(SeqResumeOrStartTest, StartsANewRunThenContinuesItFromTheVolume) {
  const std::string sft = TinySftRun();
  const std::string dir = MakeTempDir("seq_ros");
  const std::string run = dir + "/run";  // does not exist yet

  // 1. No actor: the learner starts a run in DIR and stops before any
  // update, so DIR holds config.json but no checkpoint.
  {
    ChildProcess learner(LearnerArgs(sft, run, 2), dir + "/first.log");
    ASSERT_TRUE(learner.ReadListeningAddress(kLearnerProgram, 60).ok());
    learner.Signal(SIGTERM);
    ASSERT_EQ(learner.Wait(20), 0);
  }
  EXPECT_THAT(ReadFile(dir + "/first.log").value_or(""),
              HasSubstr("starting a new run (--resume-or-start)"));
  EXPECT_EQ(LoadJsonOrDie(run + "/config.json")["kind"], "sequence");
  EXPECT_TRUE(!std::filesystem::exists(run + "/checkpoints") ||
              std::filesystem::is_empty(run + "/checkpoints"));

  // 2. The same command: still no checkpoint, so a new run again; it trains
  // to version 2 and checkpoints at the end.
  const std::string second = TrainTo(sft, run, 2, dir + "/second.log");
  EXPECT_THAT(second, HasSubstr("starting a new run (--resume-or-start)"));
  ASSERT_TRUE(std::filesystem::exists(run + "/checkpoints/ckpt-000000000002.pt")) << second;
  EXPECT_THAT(Updates(run + "/metrics.csv"), ElementsAre(1, 2));

  // 3. The same command with a larger budget continues the run.
  const std::string third = TrainTo(sft, run, 4, dir + "/third.log");
  EXPECT_THAT(third, HasSubstr("(version 2)"));
  EXPECT_THAT(third, Not(HasSubstr("starting a new run")));
  EXPECT_THAT(Updates(run + "/metrics.csv"), ElementsAre(1, 2, 3, 4)) << third;
  EXPECT_EQ(LoadJsonOrDie(run + "/summary.json")["updates"], 4);
}

TEST(SeqResumeOrStartTest, DirectoryOfAnotherRunExits2NamingResume) {
  const std::string sft = TinySftRun();
  const std::string dir = MakeTempDir("seq_ros_bad");
  const std::string mlp = dir + "/mlp";
  std::filesystem::create_directories(mlp);
  std::ofstream(mlp + "/config.json") << R"({"env": "CartPole-v1", "seed": 1})";
  const std::string other = dir + "/other";
  std::filesystem::create_directories(other);
  std::ofstream(other + "/config.json")
      << R"({"kind": "sequence", "env": "lm/Reverse-v0", "learner_flags": {}})";
  const std::string learner = BinPath("proxima-learner") +
                              " --env lm/Addition-v0 --listen 127.0.0.1:0 --init-checkpoint " +
                              sft + " ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--algo grpo --resume-or-start", "--resume-or-start needs --resume"},
      {"--resume " + dir + "/new --resume-or-start", "--resume sets the training"},
      {"--algo grpo --resume " + mlp + " --resume-or-start", "not a sequence run's"},
      {"--algo grpo --resume " + other + " --resume-or-start", "is a run of lm/Reverse-v0"},
      // The SFT run: a checkpoint, but no run's config.json.
      {"--algo grpo --resume " + sft + " --resume-or-start", "--resume: "},
  };
  for (const auto& [flags, named] : cases) {
    const CommandResult r = RunCommand(learner + flags + " 2>&1");
    EXPECT_EQ(r.exit_code, 2) << flags << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr(named)) << flags;
  }
  // Nothing of the refused runs was replaced.
  EXPECT_TRUE(std::filesystem::exists(mlp + "/config.json"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/new"));
}

}  // namespace
}  // namespace proxima
