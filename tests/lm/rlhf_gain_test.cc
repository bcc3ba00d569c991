// Issue 26's slow test: a short seeded RLHF pipeline — a small SFT warm
// start, preference pairs labelled by the hidden true score, a Bradley–Terry
// reward model, PPO against that reward model with a KL penalty to the
// reference — raises the true reward of the policy's held-out samples over
// the SFT policy's by more than 2 seed standard deviations, at a KL to the
// reference it reports.
//
// All four steps are `proxima lm` commands run in this process (RunLm), the
// commands a user runs, on lm/Sort-v0 (a 120-step warm start leaves room:
// 69% of its samples at temperature 1 are right, 86% greedy):
//   lm sft           120 steps, the default 2-layer model, seed 1;
//   lm preferences   1,000 training pairs, 10% label noise, true score =
//                    exact reward + 0.1 · min(length, 4) (the defaults);
//   lm reward-model  200 Bradley–Terry steps (0.937 noise-free accuracy on
//                    300 held-out pairs);
//   lm rl            PPO against the reward model, 40 iterations of 32
//                    prompts × 8 at lr 1e-4, --reward-kl-beta 0.5.
// The figures are `proxima lm rl`'s summary.json: one sample per held-out
// prompt on 2,000 prompts (the same prompts and sampling stream before the
// first update and after the last).
//
// The margin (issue 26: "more than 2 seed standard deviations"), measured
// with these commands over RL seeds 1–5, everything before the RL step
// fixed (`proxima lm rl --seed S`):
//   true score      1.022 → 1.063 / 1.073 / 1.070 / 1.057 / 1.048:
//                   gain +0.040 ± 0.010 (mean ± seed standard deviation;
//                   exact match 0.686 → 0.711–0.736);
//   learned reward  −2.373 → −2.017 / −1.976 / −1.988 / −1.935 / −1.981;
//   KL              0.09 / 0.09 / 0.10 / 0.13 / 0.12 nats per sequence.
// The assertion: seed 1's true-score gain exceeds 2 × kTrueGainSeedSd
// (+0.041 against 2 × 0.0101 = 0.020: 4.0 seed standard deviations; the
// lowest of the five, +0.026, would pass too). The KL leash matters: at
// --reward-kl-beta 0.05 the same run climbs the learned reward further
// (gain 0.429 ± 0.041) but not the true score (+0.006 ± 0.015, KL
// 0.24–0.36): the reward model is over-optimised (docs/sequence-policies.md,
// "Over-optimisation"). The learned reward must rise too, and the KL stay
// under 0.5 nats. Deterministic for the seeds at one thread: seed 1 gives
// exactly the figures above. About 45 s (40 s of CPU) on the 2-core
// development machine beside other work.
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

// The seed standard deviation of the held-out true-score gain over RL seeds
// 1–5 (above).
constexpr double kTrueGainSeedSd = 0.0101;

TEST(RlhfGainTest, ShortSeededPipelineRaisesTheTrueReward) {
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
                   "--iterations", "40", "--lr", "1e-4", "--reward-kl-beta", "0.5",
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
  std::printf("held-out samples (%d prompts): true score %.3f -> %.3f (%+.3f, %.1f seed "
              "standard deviations); learned reward %.3f -> %.3f (%+.3f); exact %.3f -> %.3f; KL "
              "to the reference %.3f nats/sequence\n",
              after["prompts"].get<int>(), before["true_reward"].get<double>(),
              after["true_reward"].get<double>(), true_gain, true_gain / kTrueGainSeedSd,
              before["learned_reward"].get<double>(), after["learned_reward"].get<double>(),
              learned_gain, before["exact"].get<double>(), after["exact"].get<double>(), kl);
  EXPECT_EQ(after["prompts"], 2000);
  EXPECT_GT(true_gain, 2 * kTrueGainSeedSd);
  EXPECT_GT(learned_gain, 0.0);
  EXPECT_GT(kl, 0.0);
  EXPECT_LT(kl, 0.5);
}

}  // namespace
}  // namespace proxima
