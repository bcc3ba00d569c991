// The fused PPO kernel (learner/fused/ppo_kernel.h) in float32 against
// PpoUpdater::TrainMinibatch itself (the LibTorch engine), norm-wise:
// gradients ‖Δ‖/‖ref‖ ≤ 1e-5, weights and Adam moments ≤ 1e-4 after several
// steps; non-finite minibatches are skipped exactly when the updater skips.
#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "learner/fused/ppo_kernel.h"
#include "learner/ppo_updater.h"
#include "tests/learner/fused_test_cases.h"

namespace proxima::fused {
namespace {

using namespace fused_test;  // NOLINT: the shared cases and helpers


double RelDiff(const std::vector<float>& a, const std::vector<float>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (double(a[i]) - ref[i]) * (double(a[i]) - ref[i]);
    den += double(ref[i]) * ref[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

struct FloatSetup {
  std::unique_ptr<PpoUpdater> updater;
  MlpLayout layout;
  LossOptions loss;
  AdamOptions adam;
};

FloatSetup MakeFloatSetup(const Case& c, int obs_dim, const Space& head, double max_grad_norm) {
  FloatSetup s;
  PpoConfig config;
  config.model = SpecOf(c);
  config.device = "cpu";
  config.engine = "torch";  // the reference
  config.normalize_advantages = c.norm_adv;
  config.clip_value_loss = c.clip_vloss;
  config.adaptive_kl = c.kl_beta > 0;
  config.kl_beta = c.kl_beta > 0 ? c.kl_beta : 1.0;
  config.max_grad_norm = max_grad_norm;
  config.learning_rate = 1e-3;
  EnvSpec env;
  env.id = "fused-test";
  env.observation_space = Space::Box(std::vector<float>(obs_dim, -10), std::vector<float>(obs_dim, 10));
  env.action_space = head;
  auto u = PpoUpdater::Create(config, env, torch::Device(torch::kCPU));
  EXPECT_TRUE(u.ok()) << u.status();
  s.updater = std::move(*u);
  s.layout = *MakeMlpLayout(obs_dim, head, config.model);
  s.loss = PpoLossOptionsFor(config, s.updater->kl_beta());
  s.adam.lr = config.learning_rate;
  s.adam.eps = config.adam_eps;
  s.adam.max_grad_norm = config.max_grad_norm;
  return s;
}

Minibatch ToMinibatch(const TorchBatch& b) {
  return Minibatch{b.obs, b.actions, b.behaviour_logp, b.advantages, b.returns, b.old_values};
}

TEST(FusedPpoFloatTest, StepsMatchPpoUpdaterNormWise) {
  torch::manual_seed(11);
  for (bool discrete : {true, false}) {
    for (bool shared : {false, true}) {
      for (const char* act : {"tanh", "relu"}) {
        for (double max_grad_norm : {0.1, 100.0}) {
          const Case c{discrete, shared, act, {64, 64}, 128, true, true, discrete ? 0.0 : 0.5};
          SCOPED_TRACE(Describe(c) + " max_grad_norm " + std::to_string(max_grad_norm));
          FloatSetup s = MakeFloatSetup(c, kObsDim, Head(discrete), max_grad_norm);
          ActorCritic& model = s.updater->model();
          Randomize(model);
          auto kernel = PpoKernel<float>::Create(s.layout, 128);
          ASSERT_TRUE(kernel.ok());
          std::vector<float> params = FlatParams<float>(model);
          std::vector<float> grads(s.layout.total), m(s.layout.total), v(s.layout.total);
          int64_t steps = 0;
          FlatState<float> state{params.data(), grads.data(), m.data(), v.data(), &steps};
          for (int step = 0; step < 4; ++step) {
            const TorchBatch tb = MakeBatch(model, 128, at::kFloat);
            const HostBatch<float> hb(tb);
            MinibatchResult ref = s.updater->TrainMinibatch(ToMinibatch(tb), /*measure_ratio=*/true);
            auto r = kernel->TrainMinibatch(state, hb.View(), s.loss, s.adam);
            ASSERT_TRUE(r.ok()) << r.status();
            ASSERT_TRUE(ref.applied);
            ASSERT_TRUE(r->applied);
            auto near = [](double a, double b) { return std::abs(a - b) <= 1e-5 * std::max(1.0, std::abs(b)); };
            EXPECT_PRED2(near, r->terms.policy_loss, ref.policy_loss);
            EXPECT_PRED2(near, r->terms.value_loss, ref.value_loss);
            EXPECT_PRED2(near, r->terms.entropy, ref.entropy);
            EXPECT_PRED2(near, r->terms.approx_kl, ref.approx_kl);
            EXPECT_PRED2(near, r->terms.clip_fraction, ref.clip_fraction);
            EXPECT_PRED2(near, r->terms.ratio_max_deviation, ref.ratio_max_deviation);
            EXPECT_PRED2(near, r->grad_norm, ref.grad_norm);
            EXPECT_LE(RelDiff(grads, FlatGrads<float>(model)), 1e-5) << "clipped gradient, step " << step;
            EXPECT_LE(RelDiff(params, FlatParams<float>(model)), 1e-4) << "weights, step " << step;
            EXPECT_LE(RelDiff(m, ToVector<float>(s.updater->adam_exp_avg())), 1e-4) << "exp_avg";
            EXPECT_LE(RelDiff(v, ToVector<float>(s.updater->adam_exp_avg_sq())), 1e-4) << "exp_avg_sq";
            EXPECT_EQ(steps, s.updater->adam_steps());
          }
        }
      }
    }
  }
}

TEST(FusedPpoFloatTest, NonFiniteMinibatchesAreSkippedWhereTheUpdaterSkipsThem) {
  torch::manual_seed(5);
  const Case c{true, false, "tanh", {64, 64}, 16, true, true, 0.0};
  FloatSetup s = MakeFloatSetup(c, kObsDim, Head(true), 0.5);
  ActorCritic& model = s.updater->model();
  auto kernel = PpoKernel<float>::Create(s.layout, 16);
  ASSERT_TRUE(kernel.ok());
  std::vector<float> params = FlatParams<float>(model);
  std::vector<float> grads(s.layout.total, 1.0f), m(s.layout.total), v(s.layout.total);
  int64_t steps = 0;
  FlatState<float> state{params.data(), grads.data(), m.data(), v.data(), &steps};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  struct Poison {
    const char* what;
    int rows;
    void (*apply)(TorchBatch&, float, float);
  };
  const std::vector<Poison> poisons = {
      {"NaN advantage", 16, [](TorchBatch& b, float nan, float) { b.advantages[3] = nan; }},
      {"infinite return", 16, [](TorchBatch& b, float, float inf) { b.returns[5] = inf; }},
      {"NaN observation", 16, [](TorchBatch& b, float nan, float) { b.obs[2][1] = nan; }},
      {"infinite behaviour log-prob", 16,
       [](TorchBatch& b, float, float inf) { b.behaviour_logp[0] = -inf; }},
      {"one row, normalized advantages (std of one element)", 1, [](TorchBatch&, float, float) {}},
  };
  for (const Poison& p : poisons) {
    SCOPED_TRACE(p.what);
    TorchBatch tb = MakeBatch(model, p.rows, at::kFloat);
    p.apply(tb, nan, inf);
    const std::vector<float> before = params;
    MinibatchResult ref = s.updater->TrainMinibatch(ToMinibatch(tb));
    auto r = kernel->TrainMinibatch(state, HostBatch<float>(tb).View(), s.loss, s.adam);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(ref.applied);
    EXPECT_FALSE(r->applied);
    EXPECT_EQ(params, before);
    EXPECT_EQ(steps, 0);
    for (float g : grads) ASSERT_EQ(g, 0.0f);
    for (float x : m) ASSERT_EQ(x, 0.0f);
  }
  EXPECT_EQ(s.updater->adam_steps(), 0);
}

}  // namespace
}  // namespace proxima::fused
