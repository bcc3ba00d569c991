// Issue 26's slow test: a short seeded RLHF pipeline — a small SFT warm
// start, preference pairs labelled by the hidden true score, a Bradley–Terry
// reward model, PPO against that reward model with a KL penalty to the
// reference — measured the way issue 26 measures every method: the learned
// and the true reward of the policy's own held-out samples, at the KL to
// the reference it reports.
//
// All four steps are `proxima lm` commands run in this process (RunLm), the
// commands a user runs, on lm/Sort-v0 (a 120-step warm start leaves room:
// 69% of its samples at temperature 1 are right, 86% greedy):
//   lm sft           120 steps, the default 2-layer model, seed 1;
//   lm preferences   1,000 training pairs, 10% label noise, true score =
//                    exact reward + 0.1 · min(length, 4) (the defaults);
//   lm reward-model  200 Bradley–Terry steps (0.937 noise-free accuracy on
//                    300 held-out pairs);
//   lm rl            PPO against the reward model, --reward-kl-beta 0.05,
//                    40 iterations of 32 prompts × 8 at lr 1e-4.
// The figures are `proxima lm rl`'s summary.json: one sample per held-out
// prompt on 2,000 prompts (the same prompts and sampling stream before the
// first update and after the last).
//
// What it asserts, and the margins. Measured with these commands over RL
// seeds 1–5 (everything before the RL step fixed; `proxima lm rl --seed S`):
//   learned reward  −2.373 → −1.925 / −1.898 / −1.998 / −1.977 / −1.925:
//                   gain 0.429 ± 0.041 (mean ± seed standard deviation);
//   true score      1.022 → 1.035 / 1.041 / 1.040 / 1.006 / 1.020:
//                   gain +0.006 ± 0.015;
//   KL              0.28 / 0.26 / 0.24 / 0.36 / 0.31 nats per sequence.
// So the run raises the LEARNED reward by more than 2 seed standard
// deviations (seed 1: +0.449, against 2 × 0.041 = 0.083: the assertion),
// while the TRUE reward stays within its seed spread: issue 26's target, a
// true-reward gain of more than 2 seed standard deviations, is not met by
// this pipeline, and the test does not pretend it is. The reward model is
// exploited from the first iterations (docs/sequence-policies.md,
// "Over-optimisation"); GRPO against it does no better (−0.014 … +0.007 on
// the same 2,000 prompts, seeds 1–3). What the test guards instead: the
// pipeline runs end to end from the commands, PPO climbs the learned
// reward by the measured margin, the true score does not collapse (the
// bound −0.05 is 3.7 seed standard deviations below the mean gain; a
// diverging critic, as in the first unnormalized runs, loses 0.3), and the
// KL stays on its leash (< 1 nat per sequence; 0.24–0.36 measured).
// Deterministic for the seeds at one thread: seed 1 gives exactly the
// figures above. About 43 s (39 s of CPU) on the 2-core development
// machine beside other work.
#include <cstdio>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/lm/lm_test_commands.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using lm_testing::RunLm;

// The seed standard deviation of the held-out learned-reward gain over RL
// seeds 1–5 (above).
constexpr double kLearnedGainSeedSd = 0.041;

TEST(RlhfGainTest, ShortSeededPipelineClimbsTheLearnedRewardOnALeash) {
  const std::string d = MakeTempDir("rlhfgain");
  std::string out, err;
  auto run = [&](std::vector<std::string> args) {
    const int rc = RunLm(std::move(args), &out, &err);
    EXPECT_EQ(rc, 0) << out << err;
    return rc == 0;
  };
  ASSERT_TRUE(run({"sft", "--task", "lm/Sort-v0", "--steps", "120", "--warmup", "20",
                   "--eval-every", "0", "--eval-prompts", "200", "--seed", "1", "--run-dir",
                   d + "/sft"}));
  ASSERT_TRUE(run({"preferences", "--init", d + "/sft", "--out", d + "/train.jsonl", "--pairs",
                   "1000", "--label-noise", "0.1", "--seed", "1"}));
  ASSERT_TRUE(run({"reward-model", "--init", d + "/sft", "--pairs", d + "/train.jsonl",
                   "--steps", "200", "--seed", "1", "--run-dir", d + "/rm"}));
  ASSERT_TRUE(run({"rl", "--init", d + "/sft", "--reward-model", d + "/rm", "--algo", "ppo",
                   "--iterations", "40", "--lr", "1e-4", "--reward-kl-beta", "0.05",
                   "--eval-every", "0", "--eval-prompts", "2000", "--seed", "1", "--run-dir",
                   d + "/ppo"}));
  const nlohmann::json s =
      nlohmann::json::parse(ReadFile(d + "/ppo/summary.json").value_or("{}"), nullptr, false);
  ASSERT_TRUE(s.is_object() && s.contains("before") && s.contains("after")) << s.dump();
  const nlohmann::json &before = s["before"], &after = s["after"];
  const double learned_gain =
      after["learned_reward"].get<double>() - before["learned_reward"].get<double>();
  const double true_gain = after["true_reward"].get<double>() - before["true_reward"].get<double>();
  const double kl = after["seq_kl_to_ref"];
  std::printf("held-out samples (%d prompts): learned reward %.3f -> %.3f (%+.3f, %.1f seed "
              "standard deviations); true score %.3f -> %.3f (%+.3f); exact %.3f -> %.3f; KL to "
              "the reference %.3f nats/sequence\n",
              after["prompts"].get<int>(), before["learned_reward"].get<double>(),
              after["learned_reward"].get<double>(), learned_gain,
              learned_gain / kLearnedGainSeedSd, before["true_reward"].get<double>(),
              after["true_reward"].get<double>(), true_gain, before["exact"].get<double>(),
              after["exact"].get<double>(), kl);
  EXPECT_EQ(after["prompts"], 2000);
  EXPECT_GT(learned_gain, 2 * kLearnedGainSeedSd);
  EXPECT_GT(true_gain, -0.05);
  EXPECT_GT(kl, 0.0);
  EXPECT_LT(kl, 1.0);
}

}  // namespace
}  // namespace proxima
