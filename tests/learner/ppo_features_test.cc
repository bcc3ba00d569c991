// The PPO features of docs/training.md ("The PPO core") at realistic
// settings, on batches built so the policy really moves:
//   - target-KL early stop (PpoConfig::target_kl): after each epoch, the
//     approx_kl of that epoch's LAST minibatch — measured in its forward pass,
//     i.e. before its optimizer step, as CleanRL's ppo.py does — is compared
//     with the target; above it, no further epoch runs. Unset: all epochs run.
//   - adaptive KL penalty β (PPO paper §4, docs/training.md "β ×2 when KL >
//     1.5·d_targ, ÷2 when KL < d_targ/1.5") at d_targ = 0.01, both as the pure
//     rule (AdaptKlBeta) and through Update(), whose KL is the mean approx_kl
//     of the last epoch run.
#include <ATen/ATen.h>
#include <torch/utils.h>

#include <cmath>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/envs/registry.h"
#include "gtest/gtest.h"
#include "learner/ppo_loss.h"
#include "learner/ppo_updater.h"

namespace proxima {
namespace {

constexpr int kSteps = 64;
constexpr int kEnvs = 4;  // 256 transitions

PpoConfig BaseConfig() {
  PpoConfig c = *PresetFor("CartPole-v1");
  c.num_envs = kEnvs;
  c.rollout_length = kSteps;
  c.num_minibatches = 4;
  c.update_epochs = 10;
  c.anneal_lr = false;
  c.gamma = 0;  // advantage = this step's reward − value
  c.gae_lambda = 0;
  c.device = "cpu";
  return c;
}

std::unique_ptr<PpoUpdater> Make(const PpoConfig& c) {
  auto u = PpoUpdater::Create(c, *GetEnvSpec("CartPole-v1"), torch::Device(torch::kCPU));
  EXPECT_TRUE(u.ok()) << u.status();
  return std::move(*u);
}

// A CartPole-shaped batch that is on-policy for `u`'s current weights
// (behaviour log-probs from its own model, so the first minibatch's ratio is
// 1) with random actions, rewarded +1 when the action is 1 exactly when
// obs[0] > 0 and −1 otherwise: a rule the policy can learn, so every
// minibatch pushes it the same way and a large learning rate moves it far.
RolloutBatch OnPolicyBatch(PpoUpdater& u, uint64_t seed) {
  at::manual_seed(seed);
  RolloutBatch b = RolloutBatch::Allocate(kSteps, kEnvs, 4, 1, /*discrete=*/true);
  b.obs.normal_();
  b.bootstrap_obs.normal_();
  b.actions.copy_(at::randint(0, 2, b.actions.sizes()).to(at::kFloat));
  at::Tensor right = b.actions.eq(b.obs.select(2, 0).gt(0).to(at::kFloat));
  b.rewards.copy_(right.to(at::kFloat) * 2 - 1);
  torch::NoGradGuard no_grad;
  at::Tensor obs = u.NormalizeObs(b.obs.reshape({kSteps * kEnvs, 4}));
  PolicyHeads heads = u.model()->forward(obs);
  auto [logp, entropy] =
      u.model()->LogProbEntropy(heads.dist_params, b.actions.reshape({kSteps * kEnvs}));
  b.behaviour_logp.copy_(logp.reshape({kSteps, kEnvs}));
  return b;
}

UpdateMetrics UpdateOnce(PpoUpdater& u, uint64_t seed = 7) {
  RolloutBatch b = OnPolicyBatch(u, seed);
  auto m = u.Update(b, 0.0);
  EXPECT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->skipped_minibatches, 0);
  return *m;
}

// --- target-KL early stop ---------------------------------------------------

// 4× CartPole's learning rate: on this batch the policy passes a KL of 0.01
// within a few epochs (CartPole's preset runs 4; these run 10).
constexpr double kFastLr = 1e-3;

TEST(TargetKlTest, UnsetRunsEveryEpoch) {
  PpoConfig c = BaseConfig();
  c.learning_rate = kFastLr;
  ASSERT_FALSE(c.target_kl.has_value());
  auto u = Make(c);
  UpdateMetrics m = UpdateOnce(*u);
  EXPECT_EQ(m.epochs_run, 10);
  EXPECT_EQ(m.minibatches, 40);
  RecordProperty("approx_kl", absl::StrCat(m.approx_kl));
  // The same batch moves the policy past the realistic targets below.
  EXPECT_GT(m.approx_kl, 0.02);
}

TEST(TargetKlTest, RealisticTargetStopsEarlyAtAnEpochBoundary) {
  int epochs_at_lower_target = 0;
  for (double target : {0.01, 0.02}) {
    PpoConfig c = BaseConfig();
    c.learning_rate = kFastLr;
    c.target_kl = target;
    auto u = Make(c);
    UpdateMetrics m = UpdateOnce(*u);
    RecordProperty(absl::StrCat("epochs_run_at_target_", target), m.epochs_run);
    EXPECT_GE(m.epochs_run, 1) << "target " << target;
    EXPECT_LT(m.epochs_run, c.update_epochs) << "target " << target;
    // Only whole epochs: the check sits after an epoch's last minibatch.
    EXPECT_EQ(m.minibatches, m.epochs_run * c.num_minibatches) << "target " << target;
    // Same seed, same batch, same steps until the lower target stops: the
    // higher one sees the same KLs, so it cannot stop sooner.
    EXPECT_GE(m.epochs_run, epochs_at_lower_target) << "target " << target;
    epochs_at_lower_target = m.epochs_run;
  }
}

TEST(TargetKlTest, HugeTargetRunsEveryEpoch) {
  PpoConfig c = BaseConfig();
  c.learning_rate = kFastLr;
  c.target_kl = 1e9;
  auto u = Make(c);
  UpdateMetrics m = UpdateOnce(*u);
  EXPECT_EQ(m.epochs_run, 10);
  EXPECT_EQ(m.minibatches, 40);
}

// Which KL and when: with one minibatch per epoch, epoch e's KL is that of the
// policy after e steps, measured before step e + 1. Epoch 0 sees the behaviour
// policy itself (KL 0), so even a tiny target cannot stop after epoch 1; the
// one step of epoch 0 at lr 1e-2 overshoots it, so epoch 2 is the last (a
// check after the step, or before the first epoch, would stop after epoch 1).
TEST(TargetKlTest, ChecksThePreStepKlAfterEachEpoch) {
  PpoConfig c = BaseConfig();
  c.learning_rate = 1e-2;
  c.num_minibatches = 1;
  c.target_kl = 1e-6;
  auto u = Make(c);
  UpdateMetrics m = UpdateOnce(*u);
  EXPECT_EQ(m.epochs_run, 2);
  EXPECT_EQ(m.minibatches, 2);
  EXPECT_LT(m.first_minibatch_ratio_max_deviation, 1e-5);
}

// --- adaptive KL β: the rule -------------------------------------------------

TEST(AdaptKlBetaTest, DoublesAboveOneAndAHalfTargets) {
  const double d = 0.01;  // 1.5·d = 0.015
  EXPECT_DOUBLE_EQ(AdaptKlBeta(1.0, 0.0151, d), 2.0);
  EXPECT_DOUBLE_EQ(AdaptKlBeta(0.25, 0.0151, d), 0.5);
  EXPECT_DOUBLE_EQ(AdaptKlBeta(1.0, 0.5, d), 2.0);
  EXPECT_DOUBLE_EQ(AdaptKlBeta(1.0, 0.0149, d), 1.0);  // just below: unchanged
  EXPECT_DOUBLE_EQ(AdaptKlBeta(1.0, 1.5 * d, d), 1.0);  // the bound itself
}

TEST(AdaptKlBetaTest, HalvesBelowTargetOverOneAndAHalf) {
  const double d = 0.01;  // d/1.5 = 0.00666…
  EXPECT_DOUBLE_EQ(AdaptKlBeta(1.0, 0.0066, d), 0.5);
  EXPECT_DOUBLE_EQ(AdaptKlBeta(3.0, 0.0066, d), 1.5);
  EXPECT_DOUBLE_EQ(AdaptKlBeta(1.0, 0.0, d), 0.5);
  EXPECT_DOUBLE_EQ(AdaptKlBeta(1.0, 0.0067, d), 1.0);  // just above: unchanged
  EXPECT_DOUBLE_EQ(AdaptKlBeta(1.0, d / 1.5, d), 1.0);  // the bound itself
}

TEST(AdaptKlBetaTest, UnchangedInsideTheBand) {
  const double d = 0.01;
  for (double kl : {0.007, 0.009, 0.01, 0.011, 0.013, 0.0145}) {
    EXPECT_DOUBLE_EQ(AdaptKlBeta(0.7, kl, d), 0.7) << "kl " << kl;
  }
}

// --- adaptive KL β: through Update() ------------------------------------------

PpoConfig AdaptiveConfig(double lr) {
  PpoConfig c = BaseConfig();
  c.adaptive_kl = true;
  c.kl_target = 0.01;
  c.kl_beta = 1.0;
  c.learning_rate = lr;
  // One epoch: the update's reported approx_kl (mean over its minibatches) is
  // exactly the KL the β rule sees (mean over the last epoch's minibatches).
  c.update_epochs = 1;
  return c;
}

TEST(AdaptiveKlUpdateTest, LargeStepsDoubleBeta) {
  auto u = Make(AdaptiveConfig(5e-2));
  UpdateMetrics m = UpdateOnce(*u);
  ASSERT_EQ(m.epochs_run, 1);
  RecordProperty("approx_kl", absl::StrCat(m.approx_kl));
  EXPECT_GT(m.approx_kl, 0.015);
  EXPECT_DOUBLE_EQ(m.kl_beta, AdaptKlBeta(1.0, m.approx_kl, 0.01));
  EXPECT_DOUBLE_EQ(m.kl_beta, 2.0);
  EXPECT_DOUBLE_EQ(u->kl_beta(), 2.0);
}

TEST(AdaptiveKlUpdateTest, ModerateStepsKeepBeta) {
  auto u = Make(AdaptiveConfig(7e-3));
  UpdateMetrics m = UpdateOnce(*u);
  RecordProperty("approx_kl", absl::StrCat(m.approx_kl));
  ASSERT_GT(m.approx_kl, 0.01 / 1.5);  // the step size lands this batch in the band
  ASSERT_LT(m.approx_kl, 0.015);
  EXPECT_DOUBLE_EQ(m.kl_beta, 1.0);
}

TEST(AdaptiveKlUpdateTest, TinyStepsHalveBetaAgainAndAgain) {
  auto u = Make(AdaptiveConfig(1e-6));
  UpdateMetrics m = UpdateOnce(*u, 7);
  RecordProperty("approx_kl", absl::StrCat(m.approx_kl));
  EXPECT_LT(m.approx_kl, 0.01 / 1.5);
  EXPECT_DOUBLE_EQ(m.kl_beta, 0.5);
  m = UpdateOnce(*u, 8);  // a fresh on-policy batch for the new weights
  EXPECT_DOUBLE_EQ(m.kl_beta, 0.25);
}

}  // namespace
}  // namespace proxima
