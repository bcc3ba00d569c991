// PolicyInference against the learner's own computation: for the same weights
// and raw observations its behaviour log-probs must be what the learner's
// ActorCritic::forward + LogProbEntropy give (the importance ratio of fresh
// data is then 1), for every head, activation and trunk kind, with and
// without observation normalization.
#include "common/policy/policy_inference.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/envs/registry.h"
#include "gtest/gtest.h"
#include "tests/actor/actor_test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::MakeModel;
using ::proxima::testing::MakeNormalizer;
using ::proxima::testing::MakeSnapshot;
using ::proxima::testing::ShapeFor;

struct Case {
  std::string env;
  std::vector<int> hidden;
  std::string activation;
  bool shared;
  bool normalize;
};

std::string Name(const Case& c) {
  std::string s = c.env + " " + c.activation + (c.shared ? " shared" : " separate") +
                  (c.normalize ? " norm" : " raw") + " [";
  for (int h : c.hidden) s += std::to_string(h) + ",";
  return s + "]";
}

// Raw observations spread beyond the normalizer's clip for some entries.
std::vector<float> RawObs(int rows, int dim, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> obs(static_cast<size_t>(rows) * dim);
  for (float& x : obs) x = static_cast<float>(rng.Normal() * 3.0);
  return obs;
}

// What the learner computes for behaviour data: PpoUpdater::NormalizeObs
// (RunningMeanStd::Normalize, or a copy), forward, LogProbEntropy.
at::Tensor LearnerLogProbs(ActorCritic& model, const NormalizerState& n,
                           const std::vector<float>& raw, int rows, int dim,
                           const std::vector<float>& actions) {
  std::vector<float> norm(raw.size());
  if (n.enabled) {
    n.stats.Normalize(raw.data(), norm.data(), rows, n.clip);
  } else {
    norm = raw;
  }
  torch::NoGradGuard no_grad;
  at::Tensor obs = at::from_blob(norm.data(), {rows, dim}, at::kFloat).clone();
  PolicyHeads heads = model->forward(obs);
  const int64_t adim = static_cast<int64_t>(actions.size()) / rows;
  at::Tensor a = at::from_blob(const_cast<float*>(actions.data()),
                               model->discrete() ? std::vector<int64_t>{rows}
                                                 : std::vector<int64_t>{rows, adim},
                               at::kFloat)
                     .clone();
  return model->LogProbEntropy(heads.dist_params, a).first.contiguous();
}

TEST(PolicyInferenceTest, LogProbsEqualTheLearnersForEveryHeadAndTrunk) {
  const std::vector<Case> cases = {
      {"CartPole-v1", {64, 64}, "tanh", false, false},
      {"CartPole-v1", {64, 64}, "tanh", false, true},
      {"Acrobot-v1", {32}, "relu", true, true},
      {"MountainCar-v0", {16, 8, 4}, "tanh", true, false},
      {"Pendulum-v1", {64, 64}, "tanh", false, true},
      {"MountainCarContinuous-v0", {64, 64}, "relu", true, false},
  };
  const int kRows = 37;
  for (const Case& c : cases) {
    SCOPED_TRACE(Name(c));
    ModelSpec ms;
    ms.hidden_sizes = c.hidden;
    ms.activation = c.activation;
    ms.shared_trunk = c.shared;
    const PolicyShape shape = ShapeFor(c.env, ms);
    ActorCritic model = MakeModel(shape, 7);
    const NormalizerState norm = MakeNormalizer(shape.obs_dim, c.normalize, 2.5);
    PolicyInference inference(shape, kRows);
    ASSERT_TRUE(inference.SetPolicy(MakeSnapshot(model, norm, 3, shape)).ok());
    const int adim = inference.action_dim();
    Rng rng(11);
    for (int round = 0; round < 5; ++round) {
      const std::vector<float> raw = RawObs(kRows, shape.obs_dim, 100 + round);
      std::vector<float> actions(static_cast<size_t>(kRows) * adim), logp(kRows);
      inference.Act(raw.data(), rng, actions.data(), logp.data());
      const at::Tensor want = LearnerLogProbs(model, norm, raw, kRows, shape.obs_dim, actions);
      const float* w = want.data_ptr<float>();
      for (int i = 0; i < kRows; ++i) {
        ASSERT_TRUE(std::isfinite(logp[i]));
        EXPECT_NEAR(logp[i], w[i], 1e-6) << "row " << i;
        // The ratio the learner will form on this fresh data.
        EXPECT_NEAR(std::exp(static_cast<double>(w[i]) - logp[i]), 1.0, 1e-6);
        if (shape.action_space.is_discrete()) {
          EXPECT_EQ(actions[i], std::round(actions[i]));
          EXPECT_GE(actions[i], 0);
          EXPECT_LT(actions[i], shape.action_space.n);
        }
      }
    }
  }
}

TEST(PolicyInferenceTest, DiscreteSamplesFollowThePolicy) {
  const PolicyShape shape = ShapeFor("CartPole-v1");
  ActorCritic model = MakeModel(shape, 3);
  {
    // Make the policy strongly state-independent: P(action 1) = sigmoid(1).
    torch::NoGradGuard no_grad;
    for (auto& item : model->named_parameters()) {
      if (item.key() == "policy_head.weight") item.value().zero_();
      if (item.key() == "policy_head.bias") {
        item.value()[0] = 0.0f;
        item.value()[1] = 1.0f;
      }
    }
  }
  const int kRows = 256;
  PolicyInference inference(shape, kRows);
  ASSERT_TRUE(inference.SetPolicy(MakeSnapshot(model, MakeNormalizer(4, false), 0, shape)).ok());
  Rng rng(5);
  std::vector<float> raw(kRows * 4, 0.1f), actions(kRows), logp(kRows);
  int ones = 0, total = 0;
  for (int round = 0; round < 40; ++round) {
    inference.Act(raw.data(), rng, actions.data(), logp.data());
    for (float a : actions) {
      ones += a == 1.0f;
      ++total;
    }
  }
  const double p1 = 1.0 / (1.0 + std::exp(-1.0));
  EXPECT_NEAR(static_cast<double>(ones) / total, p1, 0.015);
  inference.Act(raw.data(), rng, actions.data(), logp.data(), /*deterministic=*/true);
  for (int i = 0; i < kRows; ++i) {
    EXPECT_EQ(actions[i], 1.0f);
    EXPECT_NEAR(logp[i], std::log(p1), 1e-6);
  }
}

TEST(PolicyInferenceTest, SameSeedSameActions) {
  const PolicyShape shape = ShapeFor("Pendulum-v1");
  ActorCritic model = MakeModel(shape, 9);
  auto snap = MakeSnapshot(model, MakeNormalizer(3, true), 1, shape);
  PolicyInference a(shape, 8), b(shape, 8);
  ASSERT_TRUE(a.SetPolicy(snap).ok());
  ASSERT_TRUE(b.SetPolicy(snap).ok());
  Rng ra(42), rb(42);
  const std::vector<float> raw = RawObs(8, 3, 1);
  std::vector<float> xa(8), xb(8), la(8), lb(8);
  a.Act(raw.data(), ra, xa.data(), la.data());
  b.Act(raw.data(), rb, xb.data(), lb.data());
  EXPECT_EQ(xa, xb);
  EXPECT_EQ(la, lb);
}

TEST(PolicyInferenceTest, RejectsASnapshotOfAnotherShape) {
  ModelSpec wide;
  wide.hidden_sizes = {32};
  const PolicyShape other = ShapeFor("CartPole-v1", wide);
  ActorCritic model = MakeModel(other, 1);
  auto snap = MakeSnapshot(model, MakeNormalizer(4, false), 0, other);
  PolicyInference inference(ShapeFor("CartPole-v1"), 4);
  const absl::Status st = inference.SetPolicy(snap);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_EQ(inference.policy(), nullptr);
}

}  // namespace
}  // namespace proxima
