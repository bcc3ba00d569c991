#include "learner/ppo_updater.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "common/envs/registry.h"
#include "learner/ppo_loss.h"
#include "torch/nn/utils/clip_grad.h"
#include "torch/serialize.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

std::vector<at::Tensor> Snapshot(ActorCritic& m) {
  std::vector<at::Tensor> out;
  for (const auto& p : m->parameters()) out.push_back(p.detach().clone());
  return out;
}

bool SameWeights(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!at::equal(a[i], b[i])) return false;
  }
  return true;
}

std::unique_ptr<PpoUpdater> MakeUpdater(const std::string& env, PpoConfig* config_out = nullptr) {
  auto config = PresetFor(env);
  EXPECT_TRUE(config.ok()) << config.status();
  config->num_envs = 2;
  config->rollout_length = 8;
  config->num_minibatches = 2;
  config->device = "cpu";
  if (config_out) *config_out = *config;
  auto spec = GetEnvSpec(env);
  auto u = PpoUpdater::Create(*config, *spec, torch::Device(torch::kCPU));
  EXPECT_TRUE(u.ok()) << u.status();
  return std::move(*u);
}

Minibatch RandomMinibatch(int n, int obs_dim) {
  Minibatch mb;
  mb.obs = at::randn({n, obs_dim});
  mb.actions = at::randint(0, 2, {n}).to(at::kFloat);
  mb.behaviour_logp = at::full({n}, std::log(0.5f));
  mb.advantages = at::randn({n});
  mb.returns = at::randn({n});
  mb.old_values = at::randn({n});
  return mb;
}

TEST(PpoUpdaterTest, FiniteMinibatchChangesWeights) {
  auto u = MakeUpdater("CartPole-v1");
  auto before = Snapshot(u->model());
  MinibatchResult r = u->TrainMinibatch(RandomMinibatch(16, 4));
  EXPECT_TRUE(r.applied);
  EXPECT_TRUE(std::isfinite(r.grad_norm));
  EXPECT_FALSE(SameWeights(before, Snapshot(u->model())));
}

// The updater steps Adam on flat buffers (ppo_updater.h ClipAndStep); a plain
// torch::optim::Adam with clip_grad_norm_ on the same loss is the reference.
TEST(PpoUpdaterTest, FlatAdamMatchesTorchAdamWithGradClipping) {
  PpoConfig config;
  auto u = MakeUpdater("CartPole-v1", &config);
  auto spec = GetEnvSpec("CartPole-v1");
  ActorCritic ref(spec->obs_dim(), spec->action_space, config.model);
  {
    torch::NoGradGuard no_grad;
    auto src = u->model()->parameters();
    auto dst = ref->parameters();
    for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  }
  torch::optim::Adam adam(ref->parameters(),
                          torch::optim::AdamOptions(config.learning_rate).eps(config.adam_eps));
  const PpoLossOptions o = PpoLossOptionsFor(config, /*kl_beta=*/0);
  at::manual_seed(3);
  for (int step = 0; step < 5; ++step) {
    Minibatch mb = RandomMinibatch(32, 4);
    // Large advantages so that some steps clip the gradient norm (0.5).
    mb.advantages = mb.advantages * 50;
    MinibatchResult r = u->TrainMinibatch(mb);
    ASSERT_TRUE(r.applied);
    PolicyHeads heads = ref->forward(mb.obs);
    auto [logp, entropy] = ref->LogProbEntropy(heads.dist_params, mb.actions);
    PpoLossTerms t = ComputePpoLoss(logp, mb.behaviour_logp, entropy, mb.advantages, heads.value,
                                    mb.old_values, mb.returns, o);
    adam.zero_grad();
    t.total.backward();
    const double norm = torch::nn::utils::clip_grad_norm_(ref->parameters(), config.max_grad_norm);
    adam.step();
    EXPECT_NEAR(r.grad_norm, norm, 1e-4 * norm) << "step " << step;
    auto got = u->model()->parameters();
    auto want = ref->parameters();
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_LT((got[i] - want[i]).abs().max().item<double>(), 1e-6) << "step " << step;
    }
  }
}

// Checkpoints save the model and Adam in torch's formats; a restored updater
// continues exactly as the original would.
TEST(PpoUpdaterTest, SaveStateLoadStateContinuesIdentically) {
  auto a = MakeUpdater("CartPole-v1");
  at::manual_seed(5);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(a->TrainMinibatch(RandomMinibatch(16, 4)).applied);
  torch::serialize::OutputArchive model_out, optimizer_out;
  a->SaveState(model_out, optimizer_out);
  std::ostringstream model_bytes, optimizer_bytes;
  model_out.save_to(model_bytes);
  optimizer_out.save_to(optimizer_bytes);

  auto b = MakeUpdater("CartPole-v1");  // a's initial weights, never trained
  torch::serialize::InputArchive model_in, optimizer_in;
  std::istringstream mi(model_bytes.str()), oi(optimizer_bytes.str());
  model_in.load_from(mi);
  optimizer_in.load_from(oi);
  b->LoadState(model_in, optimizer_in);
  EXPECT_TRUE(SameWeights(Snapshot(a->model()), Snapshot(b->model())));
  for (int i = 0; i < 2; ++i) {
    Minibatch mb = RandomMinibatch(16, 4);
    ASSERT_TRUE(a->TrainMinibatch(mb).applied);
    ASSERT_TRUE(b->TrainMinibatch(mb).applied);
    // Bit-identical only if Adam's moments and step count came back too.
    EXPECT_TRUE(SameWeights(Snapshot(a->model()), Snapshot(b->model()))) << "step " << i;
  }
}

TEST(PpoUpdaterTest, NaNAdvantagesSkipMinibatchAndNeverChangeWeights) {
  auto u = MakeUpdater("CartPole-v1");
  // One good step first so that Adam has state that a bad step could corrupt.
  ASSERT_TRUE(u->TrainMinibatch(RandomMinibatch(16, 4)).applied);
  auto before = Snapshot(u->model());
  Minibatch mb = RandomMinibatch(16, 4);
  mb.advantages[3] = std::numeric_limits<float>::quiet_NaN();
  MinibatchResult r = u->TrainMinibatch(mb);
  EXPECT_FALSE(r.applied);
  EXPECT_EQ(u->skipped_minibatches_total(), 1);
  EXPECT_TRUE(SameWeights(before, Snapshot(u->model())));
  // Infinite returns make the value loss infinite: also skipped.
  Minibatch mb2 = RandomMinibatch(16, 4);
  mb2.returns[0] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(u->TrainMinibatch(mb2).applied);
  EXPECT_EQ(u->skipped_minibatches_total(), 2);
  EXPECT_TRUE(SameWeights(before, Snapshot(u->model())));
  // And training goes on afterwards.
  EXPECT_TRUE(u->TrainMinibatch(RandomMinibatch(16, 4)).applied);
  EXPECT_FALSE(SameWeights(before, Snapshot(u->model())));
}

TEST(PpoUpdaterTest, NaNRewardInBatchIsCountedInUpdateMetrics) {
  auto u = MakeUpdater("CartPole-v1");
  RolloutBatch b = RolloutBatch::Allocate(8, 2, 4, 1, /*discrete=*/true);
  b.obs.normal_();
  b.bootstrap_obs.normal_();
  b.behaviour_logp.fill_(std::log(0.5f));
  b.rewards.fill_(1.0f);
  b.rewards[7][1] = std::numeric_limits<float>::quiet_NaN();  // poisons every minibatch (adv norm)
  auto before = Snapshot(u->model());
  auto m = u->Update(b, 0.0);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->minibatches, 0);
  EXPECT_EQ(m->skipped_minibatches, u->config().update_epochs * u->config().num_minibatches);
  EXPECT_TRUE(SameWeights(before, Snapshot(u->model())));
}

TEST(PpoUpdaterTest, UpdateReportsSaneMetricsAndAnnealsLr) {
  PpoConfig config;
  auto u = MakeUpdater("CartPole-v1", &config);
  RolloutBatch b = RolloutBatch::Allocate(8, 2, 4, 1, true);
  b.obs.normal_();
  b.bootstrap_obs.normal_();
  b.behaviour_logp.fill_(std::log(0.5f));
  b.rewards.fill_(1.0f);
  b.truncated[3][0] = 1;
  b.final_index.push_back({3, 0});
  b.final_obs = at::randn({1, 4});
  auto m = u->Update(b, 0.5);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->minibatches, config.update_epochs * config.num_minibatches);
  EXPECT_EQ(m->skipped_minibatches, 0);
  EXPECT_NEAR(m->learning_rate, config.learning_rate * 0.5, 1e-12);
  EXPECT_GT(m->entropy, 0.6);  // near log 2 for a fresh 2-action policy
  // A fresh policy's probabilities are 0.5 ± 1% (policy head gain 0.01) and
  // one update at this learning rate barely moves them: every ratio
  // π/π_behaviour stays within 1 ± clip_coef.
  EXPECT_EQ(m->clip_fraction, 0.0);
  EXPECT_EQ(m->samples, 16);
  // Now half the samples claim a behaviour probability of 0.1: their ratio
  // is about 5, outside the clip range, in every minibatch of every epoch.
  for (int t = 0; t < 8; ++t) b.behaviour_logp[t][0] = std::log(0.1f);
  m = u->Update(b, 0.5);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->skipped_minibatches, 0);
  EXPECT_NEAR(m->clip_fraction, 0.5, 1e-6);
}

TEST(PpoUpdaterTest, BatchWithMissingFinalObsIsRejected) {
  auto u = MakeUpdater("CartPole-v1");
  RolloutBatch b = RolloutBatch::Allocate(8, 2, 4, 1, true);
  b.final_index.push_back({3, 0});  // but final_obs has 0 rows
  auto m = u->Update(b, 0.0);
  EXPECT_THAT(m, testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                   ::testing::HasSubstr("final_obs")));
}

TEST(PpoUpdaterTest, AdaptiveKlBetaMovesByFactorTwo) {
  PpoConfig config;
  auto spec = GetEnvSpec("CartPole-v1");
  config.num_envs = 2;
  config.rollout_length = 8;
  config.num_minibatches = 2;
  config.adaptive_kl = true;
  config.kl_target = 1e-9;  // any real update overshoots: β doubles
  config.kl_beta = 1.0;
  auto u = PpoUpdater::Create(config, *spec, torch::Device(torch::kCPU));
  ASSERT_TRUE(u.ok());
  RolloutBatch b = RolloutBatch::Allocate(8, 2, 4, 1, true);
  b.obs.normal_();
  b.behaviour_logp.fill_(std::log(0.5f));
  b.rewards.normal_();
  auto m = (*u)->Update(b, 0.0);
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ(m->kl_beta, 2.0);
  (*u)->mutable_config().kl_target = 1e9;  // now far below target: β halves
  m = (*u)->Update(b, 0.0);
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ(m->kl_beta, 1.0);
}

TEST(PpoUpdaterTest, ContinuousPolicyLogProbMatchesGaussianFormula) {
  auto spec = GetEnvSpec("Pendulum-v1");
  ModelSpec ms;
  ms.init_log_std = std::log(0.5);
  ActorCritic m(spec->obs_dim(), spec->action_space, ms);
  at::Tensor mean = at::tensor({0.3f, -1.0f}).reshape({2, 1});
  at::Tensor a = at::tensor({0.8f, 2.5f}).reshape({2, 1});
  auto [logp, ent] = m->LogProbEntropy(mean, a);
  const double s = 0.5;
  for (int i = 0; i < 2; ++i) {
    const double x = a[i][0].item<double>(), mu = mean[i][0].item<double>();
    const double want = -0.5 * (x - mu) * (x - mu) / (s * s) - std::log(s) - 0.5 * std::log(2 * M_PI);
    EXPECT_NEAR(logp[i].item<double>(), want, 1e-5);
    EXPECT_NEAR(ent[i].item<double>(), 0.5 + 0.5 * std::log(2 * M_PI) + std::log(s), 1e-5);
  }
}

// Largest |G − gain² I| over all entries of G = W Wᵀ (W has no more rows
// than columns) or Wᵀ W (otherwise), relative to gain²: 0 for W orthogonal
// rows (columns) scaled by `gain`.
double OrthogonalityError(const at::Tensor& weight, double gain) {
  const at::Tensor w = weight.detach().to(at::kDouble);
  const at::Tensor g = w.size(0) <= w.size(1) ? w.matmul(w.t()) : w.t().matmul(w);
  const at::Tensor want = at::eye(g.size(0), g.options()) * (gain * gain);
  return (g - want).abs().max().item<double>() / (gain * gain);
}

TEST(PpoUpdaterTest, OrthogonalityErrorSeesEveryEntry) {
  // Rows of norm √2 (the diagonal of W Wᵀ is 2, 2) that are not orthogonal.
  const at::Tensor parallel = at::tensor({1.0, 1.0, 1.0, 1.0}).reshape({2, 2});
  EXPECT_NEAR(OrthogonalityError(parallel, std::sqrt(2.0)), 1.0, 1e-12);
  // The diagonal right for another gain only.
  const at::Tensor eye3 = at::eye(3, at::kDouble);
  EXPECT_NEAR(OrthogonalityError(eye3 * 0.5, 1.0), 0.75, 1e-12);
  EXPECT_NEAR(OrthogonalityError(eye3 * 0.5, 0.5), 0.0, 1e-12);
  // Tall: columns orthonormal. Wide: rows.
  const at::Tensor tall = at::eye(4, at::kDouble).slice(1, 0, 2);  // [4, 2]
  EXPECT_NEAR(OrthogonalityError(tall, 1.0), 0.0, 1e-12);
  EXPECT_NEAR(OrthogonalityError(tall.t(), 1.0), 0.0, 1e-12);
}

TEST(PpoUpdaterTest, OrthogonalInitGainsAndZeroBiases) {
  auto spec = GetEnvSpec("CartPole-v1");
  ActorCritic m(spec->obs_dim(), spec->action_space, ModelSpec{});
  // Every weight of the default model (separate 64×64 tanh trunks) and its
  // gain: √2 in the trunks, 0.01 on the policy head, 1 on the value head.
  const std::map<std::string, double> gains = {
      {"policy_trunk.0.weight", std::sqrt(2.0)}, {"policy_trunk.2.weight", std::sqrt(2.0)},
      {"value_trunk.0.weight", std::sqrt(2.0)},  {"value_trunk.2.weight", std::sqrt(2.0)},
      {"policy_head.weight", 0.01},              {"value_head.weight", 1.0}};
  std::set<std::string> weights_seen;
  for (const auto& item : m->named_parameters()) {
    const std::string& name = item.key();
    const at::Tensor& p = item.value();
    if (name.find("bias") != std::string::npos) {
      EXPECT_EQ(p.abs().max().item<float>(), 0.0f) << name;
      continue;
    }
    weights_seen.insert(name);
    auto gain = gains.find(name);
    ASSERT_NE(gain, gains.end()) << "unexpected parameter " << name;
    // Float32 weights: W Wᵀ is exact to a few 1e-7 relative.
    EXPECT_LT(OrthogonalityError(p, gain->second), 1e-5) << name;
  }
  EXPECT_EQ(weights_seen.size(), gains.size());
}

}  // namespace
}  // namespace proxima
