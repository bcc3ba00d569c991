// Return-based reward scaling (docs/training.md "The PPO core": "optional
// return-based reward scaling"; common/running_stats.h RewardScaler): each
// env column keeps a discounted return G ← γ·G·(1 − terminated) + r, the
// running variance of G over all columns and steps is tracked, and each
// reward is divided by that running std (no centering) and clipped to ±clip.
//
// The expected values come from an independent NumPy model of the same rule:
//   /usr/bin/python3 tests/common/reward_scaler_expected.py
// (inputs, γ = 0.9 and clip = 3 are the same in both files).
#include "common/running_stats.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace proxima {
namespace {

constexpr double kGamma = 0.9;
constexpr double kClip = 3.0;
constexpr int kSteps = 8;
constexpr int kColumns = 2;

constexpr float kRewards[kSteps][kColumns] = {
    {1.0f, -2.0f}, {0.5f, 3.0f},  {2.0f, 1.0f},   {-1.0f, 0.0f},
    {4.0f, -0.5f}, {0.25f, 10.0f}, {1.5f, -12.0f}, {-3.0f, 2.0f},
};
constexpr uint8_t kTerminated[kSteps][kColumns] = {
    {0, 0}, {0, 1}, {1, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 1}, {0, 0},
};

// Printed by reward_scaler_expected.py: the scaled rewards of each step and the
// running variance of G after it (G shown for the reader).
constexpr double kExpected[kSteps][kColumns] = {
    {0.666674072, -1.33334814},   // var 2.24995, G = [1, -2]
    {0.276608023, 1.65964814},    // var 3.26746138, G = [1.4, 3] (column 1 terminated)
    {1.09962247, 0.549811236},    // var 3.30805543, G = [2, 3.7] (column 0 terminated)
    {-0.583461613, 0},            // var 2.9374834, G = [0.8, 3.33]
    {2.23312062, -0.279140077},   // var 3.20845253, G = [4.72, 2.497]
    {0.0762941308, 3},            // var 10.737366, G = [4.498, 12.2473]; 3.05 clipped to 3
    {0.299400596, -2.39520477},   // var 25.1002009, G = [5.5482, -12] (column 1 terminated)
    {-0.556778752, 0.371185835},  // var 29.0320165, G = [1.99338, -8.8]
};
constexpr double kExpectedVar[kSteps] = {2.24995,    3.26746138, 3.30805543, 2.9374834,
                                         3.20845253, 10.737366,  25.1002009, 29.0320165};

TEST(RewardScalerTest, DividesByRunningStdOfDiscountedReturnAndClips) {
  RewardScaler scaler(kColumns, kGamma, kClip);
  for (int t = 0; t < kSteps; ++t) {
    float r[kColumns] = {kRewards[t][0], kRewards[t][1]};
    scaler.ScaleStep(r, kTerminated[t]);
    for (int e = 0; e < kColumns; ++e) {
      EXPECT_NEAR(r[e], kExpected[t][e], 2e-6 * (1 + std::abs(kExpected[t][e])))
          << "step " << t << " column " << e;
    }
    EXPECT_NEAR(scaler.return_stats().var()[0], kExpectedVar[t], 1e-5 * kExpectedVar[t])
        << "step " << t;
    EXPECT_DOUBLE_EQ(scaler.return_stats().count(), RunningMeanStd::kInitialCount +
                                                        kColumns * (t + 1));
  }
}

// By hand: a single column with constant reward 1 and no termination has
// G = 1, 1 + γ, 1 + γ + γ², ...; with γ = 0 instead, G = r at every step, so
// the variance (and the scaling) no longer depends on the past. The two must
// differ from the second step on: γ is really used.
TEST(RewardScalerTest, GammaShapesTheReturn) {
  RewardScaler discounted(1, 0.5, 100.0);
  RewardScaler myopic(1, 0.0, 100.0);
  const uint8_t not_done = 0;
  std::vector<double> with_gamma, without_gamma;
  for (int t = 0; t < 3; ++t) {
    float a = 1.0f, b = 1.0f;
    discounted.ScaleStep(&a, &not_done);
    myopic.ScaleStep(&b, &not_done);
    with_gamma.push_back(a);
    without_gamma.push_back(b);
  }
  // γ = 0: G = 1 every step. After step 1 the stats hold the values {prior
  // (mean 0, var 1, count 1e-4), 1}: var = (1e-4 + 1e-4·1/(1 + 1e-4)) / (1 + 1e-4)
  // ≈ 2e-4, so the reward 1 is scaled to 1/sqrt(2e-4) ≈ 70.7.
  EXPECT_NEAR(without_gamma[0], 1 / std::sqrt(2e-4), 0.01);
  EXPECT_NEAR(with_gamma[0], without_gamma[0], 1e-4);  // G = 1 in both at step 1
  // γ = 0.5: G = 1, 1.5, 1.75 spreads the returns, so the variance grows and
  // the scaled rewards shrink well below the γ = 0 ones (whose G never moves).
  EXPECT_LT(with_gamma[1], 0.1 * without_gamma[1]);
  EXPECT_LT(with_gamma[2], 0.1 * without_gamma[2]);
}

}  // namespace
}  // namespace proxima
