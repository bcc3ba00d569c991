// The fused PPO kernel (learner/fused/ppo_kernel.h) against LibTorch.
//
// float64: the kernel's loss terms, every parameter's gradient and the
// parameters + Adam moments after two Adam steps (clipping active, inactive
// and off) match LibTorch's float64 autograd + torch::optim::Adam elementwise
// to 1e-10, for every head × activation × trunk, odd sizes (hidden 7 and 33,
// minibatch 1 and 127) and every loss option (advantage normalization, value
// clipping, KL penalty).
// (float32 against PpoUpdater: fused_ppo_float_test.cc.)
#include "learner/fused/ppo_kernel.h"

#include <torch/torch.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/policy/actor_critic.h"
#include "learner/ppo_loss.h"
#include "learner/ppo_updater.h"
#include "gtest/gtest.h"
#include "tests/learner/fused_test_cases.h"

namespace proxima::fused {
namespace {

using namespace fused_test;  // NOLINT: the shared cases and helpers

constexpr double kTol = 1e-10;

// Loss terms and gradients, then two clipped Adam steps, against float64
// LibTorch.
void CheckDouble(const Case& c, double max_grad_norm) {
  SCOPED_TRACE(Describe(c) + " max_grad_norm " + std::to_string(max_grad_norm));
  const ModelSpec spec = SpecOf(c);
  ActorCritic model(kObsDim, Head(c.discrete), spec);
  model->to(at::kDouble);
  Randomize(model);
  auto layout = MakeMlpLayout(kObsDim, Head(c.discrete), spec);
  ASSERT_TRUE(layout.ok()) << layout.status();
  auto kernel = PpoKernel<double>::Create(*layout, 127);
  ASSERT_TRUE(kernel.ok()) << kernel.status();

  const TorchBatch tb = MakeBatch(model, c.n, at::kDouble);
  const HostBatch<double> hb(tb);
  // One struct for both engines (PpoLossOptions is fused::LossOptions).
  const PpoLossOptions to = TorchLoss(c);
  const LossOptions& fo = to;

  std::vector<double> params = FlatParams<double>(model);
  std::vector<double> grads(layout->total, 0.0);
  auto terms = kernel->LossAndGradient(params.data(), hb.View(), fo, grads.data());
  ASSERT_TRUE(terms.ok()) << terms.status();
  PpoLossTerms ref = TorchLossOf(model, tb, to);
  const double ref_total = ref.total.item<double>();
  ASSERT_EQ(std::isfinite(terms->total), std::isfinite(ref_total))
      << "fused " << terms->total << " torch " << ref_total;
  if (!std::isfinite(ref_total)) {
    // The minibatch PpoUpdater skips: the kernel leaves the gradient alone.
    for (double g : grads) ASSERT_EQ(g, 0.0);
    return;
  }
  EXPECT_NEAR(terms->total, ref_total, kTol);
  EXPECT_NEAR(terms->policy_loss, ref.policy_loss.item<double>(), kTol);
  EXPECT_NEAR(terms->value_loss, ref.value_loss.item<double>(), kTol);
  EXPECT_NEAR(terms->entropy, ref.entropy.item<double>(), kTol);
  EXPECT_NEAR(terms->approx_kl, ref.approx_kl.item<double>(), kTol);
  EXPECT_NEAR(terms->clip_fraction, ref.clip_fraction.item<double>(), kTol);
  {
    torch::NoGradGuard no_grad;
    PolicyHeads h = model->forward(tb.obs);
    const double dev = (model->LogProbEntropy(h.dist_params, tb.actions).first -
                        tb.behaviour_logp).exp().sub(1.0).abs().max().item<double>();
    EXPECT_NEAR(terms->ratio_max_deviation, dev, kTol);
  }
  model->zero_grad();
  ref.total.backward();
  const std::vector<double> ref_grads = FlatGrads<double>(model);
  for (const ParamBlock& b : layout->params) {
    double worst = 0;
    for (int64_t i = b.offset; i < b.offset + b.size; ++i) {
      worst = std::max(worst, std::abs(grads[i] - ref_grads[i]));
    }
    EXPECT_LE(worst, kTol) << "gradient of " << b.name;
  }

  // Two optimizer steps: torch::optim::Adam after clip_grad_norm_ vs the
  // kernel's TrainMinibatch on the flat buffers.
  AdamOptions ao;
  ao.lr = 3e-3;
  ao.eps = 1e-5;
  ao.max_grad_norm = max_grad_norm;
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(ao.lr).eps(ao.eps));
  std::vector<double> m(layout->total, 0.0), v(layout->total, 0.0);
  int64_t steps = 0;
  FlatState<double> state{params.data(), grads.data(), m.data(), v.data(), &steps};
  for (int step = 0; step < 2; ++step) {
    opt.zero_grad();
    PpoLossTerms t = TorchLossOf(model, tb, to);
    t.total.backward();
    double ref_norm = 0;
    {
      torch::NoGradGuard no_grad;
      for (const at::Tensor& p : model->parameters()) ref_norm += p.grad().pow(2).sum().item<double>();
      ref_norm = std::sqrt(ref_norm);
    }
    if (max_grad_norm > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), max_grad_norm);
    opt.step();
    auto r = kernel->TrainMinibatch(state, hb.View(), fo, ao);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->applied);
    EXPECT_NEAR(r->grad_norm, ref_norm, kTol);
    if (max_grad_norm > 0) {
      // The cases are what they claim: clipping active (0.05) or not (1e6).
      EXPECT_EQ(r->grad_norm > max_grad_norm, max_grad_norm < 1) << r->grad_norm;
    }
    EXPECT_EQ(steps, step + 1);
    EXPECT_LE(MaxAbsDiff(grads, FlatGrads<double>(model)), kTol) << "clipped gradient, step " << step;
    EXPECT_LE(MaxAbsDiff(params, FlatParams<double>(model)), kTol) << "parameters, step " << step;
    EXPECT_LE(MaxAbsDiff(m, AdamMoments(opt, model, false)), kTol) << "exp_avg, step " << step;
    EXPECT_LE(MaxAbsDiff(v, AdamMoments(opt, model, true)), kTol) << "exp_avg_sq, step " << step;
  }
}


TEST(FusedPpoDoubleTest, LossGradientsAndAdamMatchLibTorchFloat64) {
  torch::manual_seed(7);
  int checked = 0;
  for (const Case& c : AllCases()) {
    CheckDouble(c, /*max_grad_norm=*/0.05);  // clipping active
    CheckDouble(c, /*max_grad_norm=*/1e6);   // clipping inactive
    ++checked;
    if (::testing::Test::HasFatalFailure()) return;
  }
  CheckDouble(AllCases()[0], /*max_grad_norm=*/0);  // clipping off
  EXPECT_EQ(checked, 8 * 11);
}

TEST(FusedPpoDoubleTest, ForwardMatchesActorCritic) {
  torch::manual_seed(3);
  for (bool discrete : {true, false}) {
    for (bool shared : {false, true}) {
      const Case c{discrete, shared, "relu", {33, 7}, 127, true, true, 0};
      ActorCritic model(kObsDim, Head(discrete), SpecOf(c));
      model->to(at::kDouble);
      Randomize(model);
      auto layout = MakeMlpLayout(kObsDim, Head(discrete), SpecOf(c));
      auto kernel = PpoKernel<double>::Create(*layout, 64);
      ASSERT_TRUE(kernel.ok());
      const std::vector<double> params = FlatParams<double>(model);
      at::Tensor obs = at::randn({50, kObsDim}, at::kDouble);
      std::vector<double> x = ToVector<double>(obs);
      std::vector<double> dist(50 * model->action_dim()), values(50);
      ASSERT_TRUE(kernel->Forward(params.data(), x.data(), 50, dist.data(), values.data()).ok());
      torch::NoGradGuard no_grad;
      PolicyHeads h = model->forward(obs);
      EXPECT_LE(MaxAbsDiff(dist, ToVector<double>(h.dist_params)), kTol);
      EXPECT_LE(MaxAbsDiff(values, ToVector<double>(h.value)), kTol);
      EXPECT_FALSE(kernel->Forward(params.data(), x.data(), 65, dist.data(), values.data()).ok());
    }
  }
}

TEST(FusedPpoDoubleTest, BadInputIsAClearError) {
  const Case c{true, false, "tanh", {4}, 4, true, true, 0};
  auto layout = MakeMlpLayout(kObsDim, Head(true), SpecOf(c));
  EXPECT_FALSE(PpoKernel<double>::Create(*layout, 0).ok());
  auto kernel = PpoKernel<double>::Create(*layout, 4);
  ASSERT_TRUE(kernel.ok());
  std::vector<double> params(layout->total, 0.1), grads(layout->total);
  std::vector<double> obs(8 * kObsDim, 0.0), actions = {0, 1, 3, 2}, zeros(8, 0.0);
  MinibatchView<double> mb{4, obs.data(), actions.data(), zeros.data(), zeros.data(), zeros.data(),
                           zeros.data()};
  auto bad_action = kernel->LossAndGradient(params.data(), mb, LossOptions(), grads.data());
  EXPECT_NE(bad_action.status().message().find("action 3 of row 2"), std::string::npos)
      << bad_action.status();
  mb.n = 5;
  auto too_many = kernel->LossAndGradient(params.data(), mb, LossOptions(), grads.data());
  EXPECT_NE(too_many.status().message().find("5 rows"), std::string::npos) << too_many.status();
}

}  // namespace
}  // namespace proxima::fused
