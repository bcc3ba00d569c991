// PolicyInference against the learner's own computation: for the same weights
// and raw observations its behaviour log-probs must be what the learner's
// ActorCritic::forward + LogProbEntropy give (the importance ratio of fresh
// data is then 1), for every head, activation and trunk kind, with and
// without observation normalization, on both engines. And the fused engine
// against the torch one: the same actions for the same Rng draws, log-probs
// within 1e-5, for both heads, tanh and ReLU, odd hidden sizes, batches that
// are and are not multiples of the kernel's 4-row tile, and both sides of the
// fused engine's BLAS crossover.
#include "common/policy/policy_inference.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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
  for (InferenceEngine engine : {InferenceEngine::kFused, InferenceEngine::kTorch}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(absl::StrCat(InferenceEngineName(engine), " ", Name(c)));
      ModelSpec ms;
      ms.hidden_sizes = c.hidden;
      ms.activation = c.activation;
      ms.shared_trunk = c.shared;
      const PolicyShape shape = ShapeFor(c.env, ms);
      ActorCritic model = MakeModel(shape, 7);
      const NormalizerState norm = MakeNormalizer(shape.obs_dim, c.normalize, 2.5);
      PolicyInference inference(shape, kRows, engine);
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
  for (InferenceEngine engine : {InferenceEngine::kFused, InferenceEngine::kTorch}) {
    PolicyInference inference(ShapeFor("CartPole-v1"), 4, engine);
    const absl::Status st = inference.SetPolicy(snap);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
    EXPECT_EQ(inference.policy(), nullptr);
  }
}

TEST(PolicyInferenceTest, ParsesTheEngineFlag) {
  EXPECT_EQ(ParseInferenceEngine("auto").value(), InferenceEngine::kFused);
  EXPECT_EQ(ParseInferenceEngine("fused").value(), InferenceEngine::kFused);
  EXPECT_EQ(ParseInferenceEngine("torch").value(), InferenceEngine::kTorch);
  const absl::Status bad = ParseInferenceEngine("cuda").status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("--engine"), absl::string_view::npos) << bad;
  EXPECT_STREQ(InferenceEngineName(InferenceEngine::kFused), "fused");
  EXPECT_STREQ(InferenceEngineName(InferenceEngine::kTorch), "torch");
}

TEST(PolicyInferenceTest, FusedRejectsAnUnknownActivation) {
  ModelSpec ms;
  ms.activation = "gelu";
  const PolicyShape tanh_shape = ShapeFor("CartPole-v1");
  ActorCritic model = MakeModel(tanh_shape, 1);
  PolicyInference inference(ShapeFor("CartPole-v1", ms), 4, InferenceEngine::kFused);
  const absl::Status st =
      inference.SetPolicy(MakeSnapshot(model, MakeNormalizer(4, false), 0, tanh_shape));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find("activation"), absl::string_view::npos) << st;
}

// The fused engine against the torch reference on one snapshot, the same raw
// observations and Rngs seeded alike: Categorical actions identical (the
// sampler is shared code; only probabilities that straddle a uniform draw
// within float rounding could differ, and none do here), Gaussian actions and
// every log-prob within 1e-5. `blas` runs the fused engine's BLAS path on
// every layer at every batch, else its hand loop everywhere.
TEST(PolicyInferenceTest, FusedActsAsTorchDoes) {
  struct Net {
    std::vector<int> hidden;
    std::string activation;
    bool shared;
  };
  const std::vector<Net> nets = {{{7}, "tanh", false},      {{33, 7}, "relu", true},
                                 {{64, 64}, "tanh", false}, {{64, 64}, "relu", false},
                                 {{33, 7}, "tanh", true},   {{5, 9, 17}, "relu", false}};
  std::vector<PolicyShape> heads = {ShapeFor("CartPole-v1"), ShapeFor("Acrobot-v1"),
                                    ShapeFor("Pendulum-v1")};
  // A 3-dimensional Gaussian head on 11 observations (MuJoCo-like, no MuJoCo).
  heads.push_back(PolicyShape{11, Space::Box({-1, -1, -1}, {1, 1, 1}), ModelSpec()});
  int64_t discrete_draws = 0;
  for (const PolicyShape& head : heads) {
    for (const Net& net : nets) {
      PolicyShape shape = head;
      shape.model.hidden_sizes = net.hidden;
      shape.model.activation = net.activation;
      shape.model.shared_trunk = net.shared;
      ActorCritic model = MakeModel(shape, 13);
      const auto snap = MakeSnapshot(model, MakeNormalizer(shape.obs_dim, true, 4.0), 2, shape);
      for (int batch : {1, 4, 33}) {
        for (bool blas : {true, false}) {
          SCOPED_TRACE(absl::StrCat(shape.action_space.is_discrete() ? "discrete " : "gaussian ",
                                    net.activation, net.shared ? " shared [" : " separate [",
                                    absl::StrJoin(net.hidden, ","), "] batch ", batch,
                                    blas ? " blas" : " hand loop"));
          PolicyInference fused(shape, batch, InferenceEngine::kFused);
          PolicyInference torch(shape, batch, InferenceEngine::kTorch);
          ASSERT_NE(fused.fused_forward(), nullptr);
          EXPECT_EQ(torch.fused_forward(), nullptr);
          fused.fused_forward()->set_blas_crossover(blas ? 1 : 1 << 30, 0);
          ASSERT_TRUE(fused.SetPolicy(snap).ok());
          ASSERT_TRUE(torch.SetPolicy(snap).ok());
          const int adim = fused.action_dim();
          Rng rf(77), rt(77);
          for (int round = 0; round < 6; ++round) {
            const bool deterministic = round == 5;
            const std::vector<float> raw = RawObs(batch, shape.obs_dim, 500 + round);
            std::vector<float> af(static_cast<size_t>(batch) * adim), at(af.size());
            std::vector<float> lf(batch), lt(batch);
            fused.Act(raw.data(), rf, af.data(), lf.data(), deterministic);
            torch.Act(raw.data(), rt, at.data(), lt.data(), deterministic);
            for (int i = 0; i < batch; ++i) {
              ASSERT_TRUE(std::isfinite(lf[i])) << "row " << i;
              EXPECT_NEAR(lf[i], lt[i], 1e-5) << "row " << i;
            }
            if (shape.action_space.is_discrete()) {
              EXPECT_EQ(af, at);
              discrete_draws += batch;
            } else {
              for (size_t j = 0; j < af.size(); ++j) EXPECT_NEAR(af[j], at[j], 1e-5) << j;
            }
          }
        }
      }
    }
  }
  EXPECT_GT(discrete_draws, 1000);
}

}  // namespace
}  // namespace proxima

