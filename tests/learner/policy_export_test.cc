// TorchScript export (learner/export/torchscript_export.h): the exported
// module reproduces the live policy — the actor's PolicyInference and the
// learner's ActorCritic — on random observations, for every network shape
// Proxima builds; and evaluation (policy_evaluator.h) of a checkpoint and of
// its export agree exactly.
#include <ATen/ATen.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/utils.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "learner/export/checkpoint_policy.h"
#include "learner/export/policy_evaluator.h"
#include "learner/export/torchscript_export.h"
#include "tests/learner/policy_test_util.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::HasSubstr;

// The export runs the live network's ops on the same LibTorch, so its batched
// outputs are bit-identical to the live policy's (docs/export.md,
// "Numerics": max abs difference 0). One unbatched observation goes through
// other BLAS kernels than a batch does, so those outputs agree with the
// batch's row only to rounding (7e-7 seen).
constexpr double kUnbatchedTolerance = 1e-6;

at::Tensor Call(torch::jit::Module& m, const std::string& method,
                std::vector<c10::IValue> args) {
  return m.get_method(method)(std::move(args)).toTensor();
}

class PolicyExportTest : public ::testing::TestWithParam<PolicyVariant> {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("export_" + GetParam().name);
    absl::StatusOr<std::string> ckpt =
        WriteRandomPolicyCheckpoint(GetParam(), dir_ + "/checkpoints", 11);
    ASSERT_TRUE(ckpt.ok()) << ckpt.status();
    checkpoint_ = *ckpt;
    absl::StatusOr<CheckpointPolicy> live = LoadCheckpointPolicy(checkpoint_);
    ASSERT_TRUE(live.ok()) << live.status();
    live_ = *std::move(live);
    absl::StatusOr<TorchScriptExportInfo> info =
        ExportCheckpointToTorchScript(checkpoint_, dir_ + "/policy.pt");
    ASSERT_TRUE(info.ok()) << info.status();
    info_ = *info;
    module_ = torch::jit::load(dir_ + "/policy.pt");
  }

  std::string dir_;
  std::string checkpoint_;
  CheckpointPolicy live_;
  TorchScriptExportInfo info_;
  torch::jit::Module module_;
};

TEST_P(PolicyExportTest, MatchesThePolicyTheActorsRun) {
  const bool discrete = live_.env.action_space.is_discrete();
  EXPECT_EQ(info_.path, dir_ + "/policy.pt");
  EXPECT_EQ(info_.checkpoint, checkpoint_);
  EXPECT_EQ(info_.self_check_max_abs_diff, 0.0);

  const at::Tensor raw = RandomRawObs(live_, 256, 5);
  const LiveOutputs live = ComputeLiveOutputs(live_, raw);
  ASSERT_TRUE(live.det_action.defined());
  if (GetParam().normalize_obs) {
    // The batch reaches the clip, so clipping is covered too.
    EXPECT_TRUE((live.normalized.abs() == 3.0f).any().item<bool>());
  }

  torch::NoGradGuard no_grad;
  const at::Tensor normalized = Call(module_, "normalize", {raw});
  const at::Tensor params = Call(module_, "dist_params", {raw});
  const at::Tensor value = Call(module_, "value", {raw});
  const at::Tensor action = module_.forward({raw}).toTensor();
  const at::Tensor det_logp = Call(module_, "log_prob", {raw, action});
  const at::Tensor sampled_logp = Call(module_, "log_prob", {raw, live.sampled_action});
  const at::Tensor entropy = Call(module_, "entropy", {raw});

  const double d_norm = MaxAbsDiff(normalized, live.normalized);
  const double d_params = MaxAbsDiff(params, live.dist_params);
  const double d_value = MaxAbsDiff(value, live.value);
  const double d_action = MaxAbsDiff(action, live.det_action);
  const double d_det_logp = MaxAbsDiff(det_logp, live.det_logp);
  const double d_sampled_logp = MaxAbsDiff(sampled_logp, live.sampled_logp);
  const double d_entropy = MaxAbsDiff(entropy, live.entropy);
  if (discrete) {
    EXPECT_EQ(action.scalar_type(), at::kLong);
    EXPECT_EQ(action.sizes(), (std::vector<int64_t>{256}));
  } else {
    EXPECT_EQ(action.scalar_type(), at::kFloat);
    EXPECT_EQ(action.sizes(), (std::vector<int64_t>{256, live_.env.action_dim()}));
  }
  EXPECT_EQ(d_norm, 0.0);
  EXPECT_EQ(d_params, 0.0);
  EXPECT_EQ(d_value, 0.0);
  EXPECT_EQ(d_action, 0.0);
  EXPECT_EQ(d_det_logp, 0.0);
  EXPECT_EQ(d_sampled_logp, 0.0);
  EXPECT_EQ(d_entropy, 0.0);

  // act(): a sample and its log-prob under the live network.
  torch::manual_seed(3);
  auto tuple = module_.get_method("act")({raw}).toTuple();
  const at::Tensor act_action = tuple->elements()[0].toTensor();
  const at::Tensor act_logp = tuple->elements()[1].toTensor();
  const double d_act_logp = MaxAbsDiff(act_logp, LiveLogProb(live_, live.normalized, act_action));
  EXPECT_EQ(d_act_logp, 0.0);
  if (discrete) {
    EXPECT_EQ(act_action.scalar_type(), at::kLong);
    EXPECT_GE(act_action.min().item<int64_t>(), 0);
    EXPECT_LT(act_action.max().item<int64_t>(), live_.env.action_space.n);
  } else {
    EXPECT_TRUE(at::isfinite(act_action).all().item<bool>());
    // Sampled, not the mean.
    EXPECT_GT((act_action - live.dist_params).abs().max().item<double>(), 1e-3);
  }

  const std::string diffs = absl::StrCat(
      "normalize ", d_norm, ", dist_params ", d_params, ", value ", d_value, ", forward ",
      d_action, ", log_prob(forward) ", d_det_logp, ", log_prob(sampled) ", d_sampled_logp,
      ", act log_prob ", d_act_logp, ", entropy ", d_entropy);
  RecordProperty("max_abs_diffs", diffs);
  std::printf("[ %s ] max |exported - live|: %s\n", GetParam().name.c_str(), diffs.c_str());
}

TEST_P(PolicyExportTest, AcceptsOneObservationAndRejectsWrongShapes) {
  torch::NoGradGuard no_grad;
  const at::Tensor raw = RandomRawObs(live_, 8, 6);
  const at::Tensor one = raw[3];
  const at::Tensor batch_action = module_.forward({raw}).toTensor();
  const at::Tensor action = module_.forward({one}).toTensor();
  EXPECT_EQ(action.dim(), batch_action.dim() - 1);
  EXPECT_LE(MaxAbsDiff(action, batch_action[3]), kUnbatchedTolerance);
  const at::Tensor value = Call(module_, "value", {one});
  EXPECT_EQ(value.dim(), 0);
  EXPECT_LE(MaxAbsDiff(value, Call(module_, "value", {raw})[3]), kUnbatchedTolerance);
  auto tuple = module_.get_method("act")({one}).toTuple();
  EXPECT_EQ(tuple->elements()[1].toTensor().dim(), 0);

  const int d = live_.env.obs_dim();
  EXPECT_THROW(module_.forward({at::zeros({2, d + 1})}), std::exception);
  EXPECT_THROW(module_.forward({at::zeros({2, 2, d})}), std::exception);
}

TEST_P(PolicyExportTest, CarriesMetadata) {
  const PolicyVariant& v = GetParam();
  const Space& a = live_.env.action_space;
  EXPECT_EQ(module_.attr("format_version").toInt(), kTorchScriptPolicyFormat);
  EXPECT_FALSE(module_.attr("proxima_version").toStringRef().empty());
  EXPECT_EQ(module_.attr("env_id").toStringRef(), v.env_id);
  EXPECT_EQ(module_.attr("obs_dim").toInt(), live_.env.obs_dim());
  EXPECT_EQ(module_.attr("action_space").toStringRef(), a.DebugString());
  EXPECT_EQ(module_.attr("discrete").toBool(), a.is_discrete());
  EXPECT_EQ(module_.attr("num_actions").toInt(), a.is_discrete() ? a.n : 0);
  EXPECT_EQ(module_.attr("action_dim").toInt(), a.flat_dim());
  EXPECT_EQ(module_.attr("action_low").toDoubleList().size(), a.low.size());
  EXPECT_EQ(module_.attr("hidden_sizes").toIntList().vec(),
            std::vector<int64_t>(v.hidden_sizes.begin(), v.hidden_sizes.end()));
  EXPECT_EQ(module_.attr("activation").toStringRef(), v.activation);
  EXPECT_EQ(module_.attr("shared_trunk").toBool(), v.shared_trunk);
  EXPECT_EQ(module_.attr("normalize_obs").toBool(), v.normalize_obs);
  EXPECT_EQ(module_.attr("obs_clip").toDouble(), 3.0);
  EXPECT_EQ(module_.attr("obs_count").toDouble(), 4321.5);
  EXPECT_EQ(module_.attr("policy_version").toInt(), 7);
  EXPECT_EQ(module_.attr("env_steps").toInt(), 9000);
  // Parameters under their checkpoint names, '.' → '_'; no gradients.
  int params = 0;
  for (const auto& p : module_.named_parameters()) {
    EXPECT_EQ(p.name.find('.'), std::string::npos) << p.name;
    EXPECT_FALSE(p.value.requires_grad()) << p.name;
    ++params;
  }
  EXPECT_EQ(static_cast<size_t>(params), live_.snapshot->model->parameters().size());
  EXPECT_TRUE(module_.hasattr("policy_head_weight"));
  EXPECT_TRUE(module_.hasattr("obs_mean"));
  EXPECT_EQ(module_.hasattr("log_std"), !a.is_discrete());
}

// Deterministic evaluation of the checkpoint (PolicyInference) and of its
// export (the module's forward) play exactly the same episodes.
TEST_P(PolicyExportTest, EvaluationOfCheckpointAndExportAgreeExactly) {
  absl::StatusOr<std::unique_ptr<EvalPolicy>> from_ckpt = LoadCheckpointEvalPolicy(dir_);
  ASSERT_TRUE(from_ckpt.ok()) << from_ckpt.status();
  absl::StatusOr<std::unique_ptr<EvalPolicy>> from_pt =
      LoadTorchScriptEvalPolicy(dir_ + "/policy.pt");
  ASSERT_TRUE(from_pt.ok()) << from_pt.status();
  EXPECT_EQ((*from_pt)->env_id(), GetParam().env_id);
  EvalOptions options;
  options.episodes = 3;
  options.deterministic = true;
  options.seed = 5;
  absl::StatusOr<EvalResult> a = Evaluate(**from_ckpt, options);
  absl::StatusOr<EvalResult> b = Evaluate(**from_pt, options);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->env, GetParam().env_id);
  EXPECT_EQ(a->returns, b->returns);
  EXPECT_EQ(a->lengths, b->lengths);
  ASSERT_EQ(a->returns.size(), 3u);

  // Stochastic runs are reproducible for a seed.
  options.deterministic = false;
  for (auto* p : {&*from_ckpt, &*from_pt}) {
    absl::StatusOr<EvalResult> x = Evaluate(**p, options);
    absl::StatusOr<EvalResult> y = Evaluate(**p, options);
    ASSERT_TRUE(x.ok() && y.ok());
    EXPECT_EQ(x->returns, y->returns);
    EXPECT_EQ(x->lengths, y->lengths);
  }
}

INSTANTIATE_TEST_SUITE_P(AllShapes, PolicyExportTest, ::testing::ValuesIn(AllPolicyVariants()),
                         [](const ::testing::TestParamInfo<PolicyVariant>& info) {
                           return info.param.name;
                         });

// act() samples from the policy's distribution: frequencies (Categorical) and
// standardized moments (Gaussian) of many draws for one observation.
TEST(PolicyExportSamplingTest, ActDrawsFromThePolicyDistribution) {
  for (const PolicyVariant& v : AllPolicyVariants()) {
    if (v.name != "CartPoleReluShared" && v.name != "PendulumTanhSeparate") continue;
    const std::string dir = MakeTempDir("export_sampling");
    absl::StatusOr<std::string> ckpt = WriteRandomPolicyCheckpoint(v, dir, 21);
    ASSERT_TRUE(ckpt.ok()) << ckpt.status();
    absl::StatusOr<CheckpointPolicy> live = LoadCheckpointPolicy(*ckpt);
    ASSERT_TRUE(live.ok()) << live.status();
    ASSERT_TRUE(ExportTorchScriptPolicy(*live, dir + "/p.pt").ok());
    torch::jit::Module m = torch::jit::load(dir + "/p.pt");
    torch::NoGradGuard no_grad;
    // The observation whose action distribution is least lopsided.
    const at::Tensor candidates = RandomRawObs(*live, 64, 8);
    const at::Tensor params = Call(m, "dist_params", {candidates});
    int64_t row = 0;
    if (v.env_id == "CartPole-v1") {
      row = (params.select(1, 0) - params.select(1, 1)).abs().argmin().item<int64_t>();
    }
    const int64_t n = 20000;
    const at::Tensor obs = candidates[row].unsqueeze(0).expand({n, -1}).contiguous();
    torch::manual_seed(17);
    const at::Tensor draws = m.get_method("act")({obs}).toTuple()->elements()[0].toTensor();
    if (v.env_id == "CartPole-v1") {
      const double p1 = at::softmax(params[row], -1)[1].item<double>();
      const double freq1 = draws.to(at::kDouble).mean().item<double>();
      EXPECT_NEAR(freq1, p1, 0.015) << "P(action 1) " << p1;
    } else {
      const double mean = params[row][0].item<double>();
      const double sd = std::exp(m.attr("log_std").toTensor()[0].item<double>());
      const at::Tensor z = (draws.to(at::kDouble) - mean) / sd;
      EXPECT_NEAR(z.mean().item<double>(), 0.0, 0.03);
      EXPECT_NEAR(z.std().item<double>(), 1.0, 0.03);
    }
  }
}

TEST(PolicyExportErrorsTest, BadInputIsReportedWithTheRightCode) {
  using proxima::testing::StatusIs;
  const std::string dir = MakeTempDir("export_errors");
  EXPECT_THAT(ExportCheckpointToTorchScript(dir + "/missing.pt", dir + "/p.pt"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.pt")));
  EXPECT_THAT(ExportCheckpointToTorchScript(dir, dir + "/p.pt"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no checkpoint")));
  std::ofstream(dir + "/garbage.pt") << "not a checkpoint";
  EXPECT_THAT(ExportCheckpointToTorchScript(dir + "/garbage.pt", dir + "/p.pt"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not a readable checkpoint")));
  EXPECT_THAT(LoadTorchScriptEvalPolicy(dir + "/missing.pt"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no such policy file")));
  EXPECT_THAT(LoadTorchScriptEvalPolicy(dir + "/garbage.pt"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a TorchScript module")));
  // A checkpoint is a LibTorch archive, but not a Proxima policy.
  absl::StatusOr<std::string> ckpt =
      WriteRandomPolicyCheckpoint(AllPolicyVariants()[0], dir + "/checkpoints", 3);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  EXPECT_THAT(LoadTorchScriptEvalPolicy(*ckpt),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a Proxima policy")));
  // A run directory resolves to its newest checkpoint.
  absl::StatusOr<std::string> resolved = ResolveCheckpointPath(dir);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(*resolved, *ckpt);

  absl::StatusOr<std::unique_ptr<EvalPolicy>> policy = LoadCheckpointEvalPolicy(*ckpt);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EvalOptions options;
  options.env_id = "Pendulum-v1";
  EXPECT_THAT(Evaluate(**policy, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("expects obs_dim 4 and actions Discrete(2), but Pendulum-v1 "
                                 "has obs_dim 3")));
  options.env_id = "Acrobot-v1";
  EXPECT_THAT(Evaluate(**policy, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Acrobot-v1 has obs_dim 6")));
  options.env_id = "CartPole-v7";
  EXPECT_THAT(Evaluate(**policy, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("CartPole-v7")));
  options.env_id = "";
  options.episodes = 0;
  EXPECT_THAT(Evaluate(**policy, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--episodes must be >= 1")));
}

}  // namespace
}  // namespace proxima
