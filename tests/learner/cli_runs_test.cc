// `proxima train`'s run directories (issue 22): a new run never writes into
// another run's directory, --resume continues a run with its history and
// refuses flags that cannot change, and a standalone learner's config.json
// says what it knows. Part of the cli_test binary (cli_test.cc).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/learner/train_run.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::testing::HasSubstr;

// A command line and the message its refusal must contain.
struct Case {
  std::string args;
  std::string message;
};

// The update column of metrics.csv, in file order.
std::vector<int> MetricsUpdates(const std::string& run_dir) {
  std::vector<int> out;
  std::ifstream in(run_dir + "/metrics.csv");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) out.push_back(std::stoi(line.substr(0, line.find(','))));
  return out;
}

// Issue 22: a new run never writes into another run's directory.
TEST(CliRunsTest, ANewRunNeverWritesIntoAnotherRun) {
  const std::string cwd = MakeTempDir("cli_runs");
  const std::string train =
      "cd " + cwd + " && " + BinPath("proxima") + " train --in-process --total-steps 512 --quiet";
  CommandResult r = RunCommand(train);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("run directory: runs/CartPole-v1-1\n"));
  // The same env and seed again: a directory of its own, named on stderr.
  r = RunCommand(train + " --ent-coef 0.02");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("runs/CartPole-v1-1 holds another run; this one goes to "
                                  "runs/CartPole-v1-1-2"));
  EXPECT_THAT(r.output, HasSubstr("run directory: runs/CartPole-v1-1-2\n"));
  EXPECT_EQ(LoadJsonOrDie(cwd + "/runs/CartPole-v1-1/config.json")["ent_coef"], 0.01);
  EXPECT_EQ(LoadJsonOrDie(cwd + "/runs/CartPole-v1-1-2/config.json")["ent_coef"], 0.02);

  // A --run-dir that holds a run is refused, and left as it was ...
  r = RunCommand(train + " --seed 5 --run-dir runs/CartPole-v1-1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--run-dir runs/CartPole-v1-1 already holds a run"));
  EXPECT_EQ(LoadJsonOrDie(cwd + "/runs/CartPole-v1-1/config.json")["seed"], 1);
  // ... unless --overwrite: the old run's files go first, other files stay.
  const std::string old_dir = cwd + "/runs/CartPole-v1-1";
  std::ofstream(old_dir + "/checkpoints/ckpt-000000000099.pt") << "old";
  std::ofstream(old_dir + "/notes.txt") << "mine";
  r = RunCommand(train + " --seed 5 --run-dir runs/CartPole-v1-1 --overwrite");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(LoadJsonOrDie(old_dir + "/config.json")["seed"], 5);
  EXPECT_FALSE(std::filesystem::exists(old_dir + "/checkpoints/ckpt-000000000099.pt"));
  EXPECT_TRUE(std::filesystem::exists(old_dir + "/notes.txt"));
  EXPECT_EQ(MetricsUpdates(old_dir), std::vector<int>{1});
}

// Issue 22: --in-process writes checkpoints and resumes; --resume keeps the
// history, applies what can change and refuses the rest (exit 2).
TEST(CliRunsTest, InProcessRunCheckpointsAndResumesKeepingHistory) {
  const std::string dir = MakeTempDir("cli_resume") + "/run";
  const std::string train = BinPath("proxima") + " train --in-process --quiet ";
  CommandResult r = RunCommand(train + "--total-steps 1024 --run-dir " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/checkpoints/ckpt-000000000002.pt"));

  const std::string empty = MakeTempDir("cli_resume_empty");
  const Case refused[] = {
      {"--resume " + dir + "-typo", "--resume " + dir + "-typo: no such directory"},
      {"--resume " + empty, "--resume " + empty + ": no checkpoint in " + empty},
      {"--resume " + dir + " --env Acrobot-v1",
       "--env cannot change when resuming: the checkpoint's run has CartPole-v1, got Acrobot-v1"},
      {"--resume " + dir + " --hidden-sizes 32", "--hidden-sizes cannot change when resuming"},
      {"--resume " + dir + " --num-envs 8", "--num-envs cannot change when resuming"},
      {"--resume " + dir + " --total-steps 512",
       "--total-steps 512 is below the 1024 env steps the resumed run has already done"},
  };
  for (const Case& c : refused) {
    r = RunCommand(train + c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr(c.message)) << c.args;
  }
  // The cluster refuses the actors' env columns too.
  r = RunCommand(BinPath("proxima") + " train --quiet --resume " + dir + " --actor-num-envs 2");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--actor-num-envs cannot change when resuming"));
  EXPECT_EQ(MetricsUpdates(dir), (std::vector<int>{1, 2}));

  r = RunCommand(train + "--resume " + dir + " --total-steps 2048 --ent-coef 0.02");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--ent-coef 0.02 (was 0.01 in the checkpoint)"));
  EXPECT_THAT(r.output, HasSubstr("run directory: " + dir + "\n"));
  EXPECT_EQ(MetricsUpdates(dir), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(LoadJsonOrDie(dir + "/config.json")["ent_coef"], 0.02);
  EXPECT_EQ(LoadJsonOrDie(dir + "/summary.json")["total_env_steps"], 2048);
  EXPECT_TRUE(std::filesystem::exists(dir + "/checkpoints/ckpt-000000000004.pt"));
}

// A flag that cannot change is refused when it is given, whatever its value:
// `--env CartPole-v1`, the flag's default, does not resume an Acrobot-v1 run
// (in process, on the local cluster or in proxima-learner), nor does
// `--actor-num-envs 0`.
TEST(CliRunsTest, ResumeRefusesAGivenEnvEvenWithTheDefaultValue) {
  const TrainRun run =
      TrainIntoNewDir("cli_resume_env", "--in-process --quiet --env Acrobot-v1 --total-steps 512");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string& dir = run.dir;
  const std::string message =
      "--env cannot change when resuming: the checkpoint's run has Acrobot-v1, got CartPole-v1";
  const Case refused[] = {
      {"proxima train --in-process --env CartPole-v1", message},
      {"proxima train --env=CartPole-v1", message},
      {"proxima-learner --listen 127.0.0.1:0 --env CartPole-v1", message},
      {"proxima train --actor-num-envs 0", "--actor-num-envs cannot change when resuming"},
  };
  for (const Case& c : refused) {
    const CommandResult r = RunCommand(BinPath("") + c.args + " --quiet --resume " + dir);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr(c.message)) << c.args;
  }
  EXPECT_EQ(MetricsUpdates(dir), std::vector<int>{1});
}

// A proxima-learner started by itself writes into config.json's "run" what it
// knows: its mode and the env columns an actor gets; its actors come and go,
// so "actors" is null (learner/cli/train_plan.h).
TEST(CliTest, StandaloneLearnerConfigJsonSaysWhatItKnows) {
  const std::string dir = MakeTempDir("cli_learner_config") + "/run";
  ChildProcess learner({BinPath("proxima-learner"), "--env", "CartPole-v1", "--mode", "sync",
                        "--actor-num-envs", "3", "--listen", "127.0.0.1:0", "--run-dir", dir,
                        "--quiet"});
  ASSERT_TRUE(learner.ReadListeningAddress("proxima-learner").ok());
  const nlohmann::json run = LoadJsonOrDie(dir + "/config.json")["run"];
  EXPECT_EQ(run["launch"], "learner") << run.dump();
  EXPECT_EQ(run["mode"], "sync");
  EXPECT_TRUE(run["actors"].is_null());
  EXPECT_EQ(run["env_columns_per_actor"], 3);
  EXPECT_TRUE(run["env_columns"].is_null());
  learner.Signal(SIGTERM);
  EXPECT_EQ(learner.Wait(), 0);
}

// Issue 22: a learner resumed by `proxima train --resume` appends to
// metrics.csv instead of starting it again.
TEST(CliRunsTest, ClusterResumeAppendsToMetricsCsv) {
  const std::string dir = MakeTempDir("cli_cluster_resume") + "/run";
  const std::string train = BinPath("proxima") + " train --actors 1 --mode sync --quiet ";
  CommandResult r = RunCommand(train + "--total-steps 1024 --run-dir " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(MetricsUpdates(dir), (std::vector<int>{1, 2}));
  r = RunCommand(train + "--resume " + dir + " --total-steps 2048");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The budget counts accepted env steps: a chunk of the next round that
  // arrived as the first run stopped counts (the checkpoint may say 1,536),
  // so the resumed run makes one or two updates. Either way it continues
  // the file: 1, 2, 3[, 4].
  const std::vector<int> updates = MetricsUpdates(dir);
  ASSERT_GE(updates.size(), 3u);
  ASSERT_LE(updates.size(), 4u);
  for (size_t i = 0; i < updates.size(); ++i) EXPECT_EQ(updates[i], static_cast<int>(i) + 1);
}

}  // namespace
}  // namespace proxima
