// `proxima export` and `proxima eval` end to end: a CartPole policy trained
// to solve by `proxima train` is exported, both the checkpoint and the export
// evaluate deterministically to a solved mean return and play exactly the same
// episodes; a random-init policy scores far lower; bad input exits 2 with a
// message naming the problem. A HalfCheetah-v4 run (a MuJoCo preset, trained
// with ClipAction) exports and evaluates with the same action clipping.
#include <torch/csrc/jit/serialization/import.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/learner/policy_test_util.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::testing::HasSubstr;

std::string Proxima(const std::string& args) {
  return absl::StrCat(BinPath("proxima"), " ", args);
}

// Runs `proxima eval --json ARGS` and parses its output.
nlohmann::json EvalJson(const std::string& args) {
  CommandResult r = RunCommand(Proxima("eval --json " + args));
  EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.output;
  try {
    return nlohmann::json::parse(r.output);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON: " << r.output;
    return nlohmann::json::object();
  }
}

class PolicyEvalCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("eval_cli"));
    // Sync mode: reproducible for the seed; stops once the last-100 mean
    // return reaches 475 and writes its final checkpoint.
    train_ = new CommandResult(RunCommand(absl::StrCat(
        BinPath("proxima"), " train --env CartPole-v1 --seed 1 --mode sync --actors 2 "
        "--stop-when-solved --quiet --run-dir ", *dir_, "/run")));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete train_;
  }

  static std::string* dir_;
  static CommandResult* train_;
};

std::string* PolicyEvalCliTest::dir_ = nullptr;
CommandResult* PolicyEvalCliTest::train_ = nullptr;

TEST_F(PolicyEvalCliTest, TrainedPolicySolvesFromCheckpointAndExportAlike) {
  ASSERT_EQ(train_->exit_code, 0) << train_->output;
  const std::string run = *dir_ + "/run";
  const std::string pt = *dir_ + "/policy.pt";
  CommandResult exported = RunCommand(Proxima("export --checkpoint " + run + " --out " + pt));
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_THAT(exported.output, HasSubstr("CartPole-v1 policy, obs_dim 4, actions Discrete(2)"));

  const std::string common = " --episodes 10 --deterministic --seed 3";
  const nlohmann::json a = EvalJson("--checkpoint " + run + common);
  const nlohmann::json b = EvalJson("--policy " + pt + common);
  ASSERT_TRUE(a.contains("returns") && b.contains("returns")) << a << b;
  EXPECT_EQ(a["env"], "CartPole-v1");
  EXPECT_EQ(a["episodes"], 10);
  EXPECT_EQ(a["returns"].size(), 10u);
  EXPECT_EQ(a["lengths"].size(), 10u);
  EXPECT_GE(a["mean_return"].get<double>(), 475.0) << a;
  EXPECT_GE(b["mean_return"].get<double>(), 475.0) << b;
  // Same seed, same episodes, whichever form the policy takes.
  EXPECT_EQ(a["returns"], b["returns"]);
  EXPECT_EQ(a["lengths"], b["lengths"]);
  EXPECT_EQ(a["mean_return"], b["mean_return"]);
  EXPECT_EQ(a["std_length"], b["std_length"]);
  RecordProperty("mean_return", a["mean_return"].dump());
  std::printf("trained policy, 10 deterministic episodes: %s\n", a.dump().c_str());

  // Without --json: one line with mean ± std.
  CommandResult text = RunCommand(Proxima("eval --policy " + pt + common));
  EXPECT_EQ(text.exit_code, 0) << text.output;
  EXPECT_THAT(text.output,
              HasSubstr("CartPole-v1: 10 episodes (deterministic, seed 3): return "));
  EXPECT_THAT(text.output, HasSubstr(" ± "));

  // Stochastic evaluation is reproducible for a seed (each form on its own).
  for (const std::string& source : {"--checkpoint " + run, "--policy " + pt}) {
    const nlohmann::json x = EvalJson(source + " --episodes 3 --seed 7");
    const nlohmann::json y = EvalJson(source + " --episodes 3 --seed 7");
    EXPECT_EQ(x["deterministic"], false);
    EXPECT_EQ(x["returns"], y["returns"]) << source;
  }
}

TEST_F(PolicyEvalCliTest, RandomInitPolicyScoresFarLower) {
  const std::string dir = MakeTempDir("eval_cli_random");
  PolicyVariant v{"CartPole", "CartPole-v1", {64, 64}, "tanh", false, false};
  absl::StatusOr<std::string> ckpt = WriteRandomPolicyCheckpoint(v, dir, 1, /*perturb=*/false);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  ASSERT_EQ(RunCommand(Proxima("export --checkpoint " + *ckpt + " --out " + dir + "/p.pt"))
                .exit_code,
            0);
  const std::string common = " --episodes 10 --deterministic --seed 3";
  const nlohmann::json a = EvalJson("--checkpoint " + *ckpt + common);
  const nlohmann::json b = EvalJson("--policy " + dir + "/p.pt" + common);
  EXPECT_LT(a["mean_return"].get<double>(), 100.0) << a;
  std::printf("random-init policy, 10 deterministic episodes: %s\n", a.dump().c_str());
  EXPECT_EQ(a["returns"], b["returns"]);
}

// --env defaults to the policy's env, not to --env's CartPole-v1 default; an
// explicit --env that does not fit is refused.
TEST_F(PolicyEvalCliTest, EnvDefaultsToThePolicysEnv) {
  const std::string dir = MakeTempDir("eval_cli_env");
  PolicyVariant v{"Pendulum", "Pendulum-v1", {64, 64}, "tanh", false, true};
  absl::StatusOr<std::string> ckpt = WriteRandomPolicyCheckpoint(v, dir, 2);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  const nlohmann::json a = EvalJson("--checkpoint " + dir + " --episodes 2");
  EXPECT_EQ(a["env"], "Pendulum-v1");
  EXPECT_EQ(a["lengths"], nlohmann::json::parse("[200, 200]"));
  const nlohmann::json b = EvalJson("--checkpoint " + dir + " --episodes 2 --env Pendulum-v1");
  EXPECT_EQ(a["returns"], b["returns"]);
  CommandResult r = RunCommand(Proxima("eval --checkpoint " + dir + " --env CartPole-v1"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("but CartPole-v1 has obs_dim 4"));
}

TEST_F(PolicyEvalCliTest, BadInputExitsTwoNamingTheProblem) {
  const std::string dir = MakeTempDir("eval_cli_bad");
  PolicyVariant v{"CartPole", "CartPole-v1", {8}, "tanh", false, false};
  absl::StatusOr<std::string> ckpt = WriteRandomPolicyCheckpoint(v, dir, 4);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  ASSERT_EQ(RunCommand("echo garbage > " + dir + "/garbage.pt").exit_code, 0);
  struct Case {
    std::string args;
    std::string message;
  };
  const Case cases[] = {
      {"eval --checkpoint " + dir + "/none.pt", "no such checkpoint file or directory"},
      {"eval --policy " + dir + "/none.pt", "no such policy file"},
      {"eval --policy " + *ckpt, "not a Proxima policy"},
      {"eval --checkpoint " + dir + "/garbage.pt", "not a readable checkpoint"},
      {"eval --checkpoint " + *ckpt + " --env Pendulum-v1",
       "expects obs_dim 4 and actions Discrete(2), but Pendulum-v1 has obs_dim 3"},
      {"eval --checkpoint " + *ckpt + " --env Acrobot-v1", "but Acrobot-v1 has obs_dim 6"},
      {"eval --checkpoint " + *ckpt + " --env CartPole-v9", "CartPole-v9"},
      {"eval --checkpoint " + *ckpt + " --episodes 0", "--episodes must be >= 1 (got 0)"},
      {"eval --checkpoint " + *ckpt + " --episodes=-3", "--episodes must be >= 1 (got -3)"},
      {"eval", "give exactly one of --checkpoint PATH and --policy FILE"},
      {"eval --checkpoint " + *ckpt + " --policy x.pt", "give exactly one of"},
      {"export --out " + dir + "/p.pt", "--checkpoint PATH is required"},
      {"export --checkpoint " + *ckpt, "--out FILE is required"},
      {"export --checkpoint " + dir + "/none.pt --out " + dir + "/p.pt",
       "no such checkpoint file or directory"},
      {"export --checkpoint " + dir + "/garbage.pt --out " + dir + "/p.pt",
       "not a readable checkpoint"},
  };
  for (const Case& c : cases) {
    CommandResult r = RunCommand(Proxima(c.args));
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr(c.message)) << c.args;
  }
}

// Every return finite, every episode the full 1,000 steps (HalfCheetah never
// terminates; its TimeLimit truncates).
void ExpectFullFiniteEpisodes(const nlohmann::json& j, size_t episodes) {
  ASSERT_TRUE(j.contains("returns") && j.contains("lengths")) << j;
  ASSERT_EQ(j["returns"].size(), episodes) << j;
  for (const auto& ret : j["returns"]) {
    ASSERT_TRUE(ret.is_number()) << j;  // NaN and inf are written as null
    EXPECT_TRUE(std::isfinite(ret.get<double>())) << j;
  }
  EXPECT_EQ(j["lengths"], nlohmann::json(std::vector<int>(episodes, 1000))) << j;
}

// A short HalfCheetah-v4 run of `proxima train` (the MuJoCo preset: ClipAction
// on), exported and evaluated. The local cluster, not --in-process: only it
// writes checkpoints.
TEST(MujocoEvalCliTest, HalfCheetahExportsAndEvaluatesWithTheRunsActionClipping) {
  const std::string dir = MakeTempDir("eval_cli_mujoco");
  const std::string run = dir + "/run";
  const std::string pt = dir + "/policy.pt";
  CommandResult train = RunCommand(Proxima(
      "train --env HalfCheetah-v4 --seed 1 --mode sync --actors 2 --total-steps 4096 --quiet "
      "--run-dir " + run));
  ASSERT_EQ(train.exit_code, 0) << train.output;
  CommandResult exported = RunCommand(Proxima("export --checkpoint " + run + " --out " + pt));
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_THAT(exported.output, HasSubstr("HalfCheetah-v4 policy, obs_dim 17, actions Box("));
  torch::jit::Module m = torch::jit::load(pt);
  ASSERT_TRUE(m.hasattr("clip_action"));
  EXPECT_TRUE(m.attr("clip_action").toBool());

  for (const std::string& source : {"--checkpoint " + run, "--policy " + pt}) {
    SCOPED_TRACE(source);
    const nlohmann::json clipped = EvalJson(source + " --episodes 2 --seed 5");
    ExpectFullFiniteEpisodes(clipped, 2);
    EXPECT_EQ(clipped["env"], "HalfCheetah-v4");
    EXPECT_EQ(clipped["clip_action"], true) << "the run trained with ClipAction";
    // The same samples unclipped: MuJoCo clamps the controls to ctrlrange
    // itself, so the motion is the same and only the control cost (0.1 ·
    // sum a², of the action as given) differs — the raw Gaussian samples,
    // often beyond ±1, cost strictly more in every episode.
    const nlohmann::json raw = EvalJson(source + " --episodes 2 --seed 5 --clip-action=false");
    ExpectFullFiniteEpisodes(raw, 2);
    EXPECT_EQ(raw["clip_action"], false);
    for (size_t i = 0; i < 2 && i < raw["returns"].size(); ++i) {
      EXPECT_GT(clipped["returns"][i].get<double>(), raw["returns"][i].get<double>())
          << clipped << "\n" << raw;
    }
    std::printf("%s: clipped %s\n  unclipped %s\n", source.c_str(), clipped.dump().c_str(),
                raw.dump().c_str());
  }

  // Deterministic: the checkpoint and its export play the same episodes (to
  // float rounding: the actor's inference and LibTorch may take different
  // kernels for the Gaussian mean).
  const nlohmann::json a = EvalJson("--checkpoint " + run + " --episodes 2 --deterministic");
  const nlohmann::json b = EvalJson("--policy " + pt + " --episodes 2 --deterministic");
  ExpectFullFiniteEpisodes(a, 2);
  ExpectFullFiniteEpisodes(b, 2);
  for (size_t i = 0; i < 2 && i < a["returns"].size() && i < b["returns"].size(); ++i) {
    EXPECT_NEAR(a["returns"][i].get<double>(), b["returns"][i].get<double>(), 1e-3) << a << b;
  }
  CommandResult text = RunCommand(Proxima("eval --policy " + pt + " --episodes 1 --seed 2"));
  EXPECT_EQ(text.exit_code, 0) << text.output;
  EXPECT_THAT(text.output,
              HasSubstr("HalfCheetah-v4: 1 episodes (stochastic, seed 2, actions clipped): "));
}

}  // namespace
}  // namespace proxima
