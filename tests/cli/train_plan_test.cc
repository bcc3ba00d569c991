// What `proxima train` and `proxima-learner` say about a run before it
// trains: the start-up lines (TrainStartLines, learner/cli/command_help.h),
// config.json's "run" of a learner started by itself (learner/cli/
// train_plan.h) and the settings a resume compares with its checkpoint
// (ResumeChangesGiven, learner/cli/learner_flags.h). No process starts here.
#include "learner/cli/train_plan.h"

#include <set>
#include <string>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/cli/command_help.h"
#include "learner/cli/learner_flags.h"
#include "learner/cli/ppo_flags.h"
#include "learner/run_files.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

PpoConfig PresetOrDie(const std::string& env_id) {
  absl::StatusOr<PpoConfig> c = PresetFor(env_id);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : PpoConfig();
}

TEST(TrainStartLinesTest, NameThePresetTheFlagsAndTheRunDirectory) {
  PpoConfig c = PresetOrDie("CartPole-v1");
  c.seed = 3;
  c.learning_rate = 1e-3;
  const std::string text = TrainStartLines(c, {"seed", "lr", "actors", "quiet"}, "runs/x", "");
  EXPECT_EQ(text,
            "proxima train: CartPole-v1, preset from CleanRL ppo.py; from flags: seed=3 "
            "learning_rate=0.001\n"
            "  4 envs x 128 steps, 4 epochs x 4 minibatches, lr 0.001 (annealed)\n"
            "  gamma 0.99, gae-lambda 0.95, clip-coef 0.2, ent-coef 0.01, 500000 env steps\n"
            "  run directory: runs/x\n");
  // No PPO flag: "none"; a continuous env names its CleanRL script.
  const std::string pendulum = TrainStartLines(PresetOrDie("Pendulum-v1"), {}, "d", "");
  EXPECT_THAT(pendulum, HasSubstr("Pendulum-v1, preset from CleanRL ppo_continuous_action.py; "
                                  "from flags: none\n"));
  EXPECT_THAT(pendulum, HasSubstr("1 env x 2048 steps, 10 epochs x 32 minibatches, lr 0.0003"));
}

// The local cluster splits a MuJoCo preset's one env column over its actors:
// values neither the preset's nor a flag's are named as the launcher's.
TEST(TrainStartLinesTest, ValuesTheLauncherSetAreNamedAsItsOwn) {
  PpoConfig c = PresetOrDie("Hopper-v4");
  c.num_envs = 2;
  c.rollout_length = 1024;
  const std::string text = TrainStartLines(c, {"actors"}, "d", "");
  EXPECT_THAT(text, HasSubstr("; from flags: none; set by proxima train: num_envs=2 "
                              "rollout_length=1024\n"));
  EXPECT_THAT(text, HasSubstr("  2 envs x 1024 steps,"));
}

TEST(TrainStartLinesTest, AResumedRunNamesItsCheckpoint) {
  PpoConfig c = PresetOrDie("Acrobot-v1");
  c.total_steps = 4096;
  c.model.hidden_sizes = {32};  // the checkpoint's own value, not a flag's
  const std::string text =
      TrainStartLines(c, {"total_steps"}, "runs/a", "runs/a/checkpoints/ckpt-000000000002.pt");
  EXPECT_THAT(text, HasSubstr("proxima train: resuming Acrobot-v1 from "
                              "runs/a/checkpoints/ckpt-000000000002.pt with its config; "
                              "from flags: total_steps=4096\n"));
  EXPECT_THAT(text, Not(HasSubstr("hidden_sizes")));
  EXPECT_THAT(text, HasSubstr("4096 env steps\n  run directory: runs/a\n"));
}

// A proxima-learner started by itself cannot know its actors; what it knows
// (mode, the columns an actor gets) goes into config.json's "run".
TEST(RunJsonTest, AStandaloneLearnerWritesWhatItKnows) {
  PpoConfig c = PresetOrDie("CartPole-v1");
  TrainPlan plan;
  plan.learner_only = true;
  plan.mode = "sync";
  nlohmann::json run = RunToJson(plan, c);
  EXPECT_EQ(run["launch"], "learner") << run.dump();
  EXPECT_EQ(run["mode"], "sync");
  EXPECT_TRUE(run["actors"].is_null());
  EXPECT_EQ(run["env_columns_per_actor"], 4);  // --num-envs: no --actor-num-envs
  EXPECT_TRUE(run["env_columns"].is_null());
  EXPECT_TRUE(run["actor_threads"].is_null());
  plan.actor_num_envs = 3;
  EXPECT_EQ(RunToJson(plan, c)["env_columns_per_actor"], 3);

  // Added to the config.json a learner wrote, from that file's own config
  // (a resumed learner's is its checkpoint's).
  const std::string dir = MakeTempDir("train_plan_run");
  c.num_envs = 6;
  ASSERT_TRUE(InitRunDir(dir, c).ok());
  plan.actor_num_envs = 0;
  ASSERT_TRUE(AddRunToConfigJson(dir, plan).ok());
  const nlohmann::json written = LoadJsonOrDie(dir + "/config.json");
  EXPECT_EQ(written["run"]["launch"], "learner") << written.dump();
  EXPECT_EQ(written["run"]["env_columns_per_actor"], 6);
  EXPECT_EQ(written["num_envs"], 6);
  EXPECT_FALSE(AddRunToConfigJson(dir + "/missing", plan).ok());
}

// `--env CartPole-v1` is the flag's default, yet given with --resume it is a
// change to compare with the checkpoint's env, as any other value is.
TEST(ResumeChangesTest, AGivenEnvCountsEvenWithTheDefaultValue) {
  absl::FlagSaver saver;
  EXPECT_EQ(ResumeChangesGiven({}).count("env"), 0u);
  const ResumeChanges given = ResumeChangesGiven({"env"});
  ASSERT_EQ(given.count("env"), 1u);
  EXPECT_EQ(given.at("env"), "CartPole-v1");
  std::string err;
  ASSERT_TRUE(absl::FindCommandLineFlag("total_steps")->ParseFrom("4096", &err)) << err;
  EXPECT_EQ(ResumeChangesGiven({"total_steps"}).at("total_steps"), "4096");
}

}  // namespace
}  // namespace proxima
