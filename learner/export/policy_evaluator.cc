#include "learner/export/policy_evaluator.h"

#include <sys/stat.h>

#include <ATen/ATen.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/envs/registry.h"
#include "common/policy/policy_inference.h"
#include "common/rng.h"
#include "common/status_macros.h"
#include "learner/export/checkpoint_policy.h"
#include "learner/export/torchscript_export.h"

namespace proxima {
namespace {

// Decorrelates the sampler's stream from the env's, which is seeded with the
// same --seed.
constexpr uint64_t kPolicySeedSalt = 0x706f6c6963790001ULL;

std::string Describe(int obs_dim, const Space& actions) {
  return absl::StrCat("obs_dim ", obs_dim, " and actions ", actions.DebugString());
}

class CheckpointEvalPolicy : public EvalPolicy {
 public:
  explicit CheckpointEvalPolicy(CheckpointPolicy policy)
      // The torch inference engine: the exported TorchScript module runs the
      // same LibTorch ops, so a checkpoint and its export evaluate exactly alike.
      : policy_(std::move(policy)),
        inference_(policy_.shape(), /*batch=*/1, InferenceEngine::kTorch) {}

  absl::Status Init() { return inference_.SetPolicy(policy_.snapshot); }

  const std::string& env_id() const override { return policy_.env.id; }
  int obs_dim() const override { return policy_.env.obs_dim(); }
  const Space& action_space() const override { return policy_.env.action_space; }
  bool clip_action() const override { return policy_.config.clip_action; }
  void Seed(uint64_t seed) override { rng_.Seed(seed ^ kPolicySeedSalt); }

  absl::Status Act(const float* raw_obs, bool deterministic, float* action) override {
    float logp;
    inference_.Act(raw_obs, rng_, action, &logp, deterministic);
    return absl::OkStatus();
  }

 private:
  CheckpointPolicy policy_;
  PolicyInference inference_;
  Rng rng_;
};

class TorchScriptEvalPolicy : public EvalPolicy {
 public:
  static absl::StatusOr<std::unique_ptr<EvalPolicy>> Load(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      return absl::NotFoundError(absl::StrCat("no such policy file: ", path));
    }
    std::unique_ptr<TorchScriptEvalPolicy> p(new TorchScriptEvalPolicy());
    try {
      p->module_ = torch::jit::load(path, torch::Device(torch::kCPU));
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": not a TorchScript module: ", e.what()));
    }
    torch::jit::Module& m = p->module_;
    for (const char* attr : {"format_version", "env_id", "obs_dim", "discrete", "num_actions",
                             "action_low", "action_high"}) {
      if (!m.hasattr(attr)) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": not a Proxima policy (no '", attr, "' attribute; write one with "
            "`proxima export`)"));
      }
    }
    if (!m.find_method("forward") || !m.find_method("act")) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": not a Proxima policy (no forward/act methods)"));
    }
    try {
      const int64_t format = m.attr("format_version").toInt();
      if (format > kTorchScriptPolicyFormat) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": policy format ", format, " is newer than this Proxima's (",
            kTorchScriptPolicyFormat, ")"));
      }
      p->env_id_ = m.attr("env_id").toStringRef();
      p->obs_dim_ = static_cast<int>(m.attr("obs_dim").toInt());
      if (m.attr("discrete").toBool()) {
        p->action_space_ = Space::Discrete(static_cast<int>(m.attr("num_actions").toInt()));
      } else {
        std::vector<float> low, high;
        for (double v : m.attr("action_low").toDoubleList()) low.push_back(static_cast<float>(v));
        for (double v : m.attr("action_high").toDoubleList()) high.push_back(static_cast<float>(v));
        p->action_space_ = Space::Box(std::move(low), std::move(high));
      }
      // Optional: files written before the attribute existed did not record it.
      p->clip_action_ = m.hasattr("clip_action") && m.attr("clip_action").toBool();
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": malformed Proxima policy metadata: ", e.what()));
    }
    return std::unique_ptr<EvalPolicy>(std::move(p));
  }

  const std::string& env_id() const override { return env_id_; }
  int obs_dim() const override { return obs_dim_; }
  const Space& action_space() const override { return action_space_; }
  bool clip_action() const override { return clip_action_; }
  void Seed(uint64_t seed) override { torch::manual_seed(seed ^ kPolicySeedSalt); }

  absl::Status Act(const float* raw_obs, bool deterministic, float* action) override {
    const int n = action_space_.flat_dim();
    try {
      torch::NoGradGuard no_grad;
      // A [1, obs_dim] batch, as the checkpoint path's PolicyInference runs.
      at::Tensor obs = at::from_blob(const_cast<float*>(raw_obs), {1, obs_dim_},
                                     at::TensorOptions().dtype(at::kFloat))
                           .clone();
      at::Tensor out = deterministic
                           ? module_.forward({obs}).toTensor()
                           : module_.get_method("act")({obs}).toTupleRef().elements()[0].toTensor();
      out = out.to(at::kFloat).contiguous();
      if (out.numel() != n) {
        return absl::InternalError(absl::StrCat("the policy returned ", out.numel(),
                                                " action values, expected ", n));
      }
      const float* a = out.data_ptr<float>();
      for (int i = 0; i < n; ++i) action[i] = a[i];
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("the policy failed: ", e.what()));
    }
    return absl::OkStatus();
  }

 private:
  TorchScriptEvalPolicy() = default;

  torch::jit::Module module_;
  std::string env_id_;
  int obs_dim_ = 0;
  Space action_space_;
  bool clip_action_ = false;
};

void MeanStd(const std::vector<double>& v, double* mean, double* sd) {
  double sum = 0;
  for (double x : v) sum += x;
  *mean = sum / static_cast<double>(v.size());
  double sq = 0;
  for (double x : v) sq += (x - *mean) * (x - *mean);
  *sd = std::sqrt(sq / static_cast<double>(v.size()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<EvalPolicy>> LoadCheckpointEvalPolicy(const std::string& path) {
  PROXIMA_ASSIGN_OR_RETURN(CheckpointPolicy policy, LoadCheckpointPolicy(path));
  auto p = std::make_unique<CheckpointEvalPolicy>(std::move(policy));
  PROXIMA_RETURN_IF_ERROR(p->Init());
  return std::unique_ptr<EvalPolicy>(std::move(p));
}

absl::StatusOr<std::unique_ptr<EvalPolicy>> LoadTorchScriptEvalPolicy(const std::string& path) {
  return TorchScriptEvalPolicy::Load(path);
}

absl::Status CheckPolicyFitsEnv(const EvalPolicy& policy, const EnvSpec& env) {
  const Space& want = policy.action_space();
  const Space& have = env.action_space;
  const bool fits = env.obs_dim() == policy.obs_dim() && want.kind == have.kind &&
                    (want.is_discrete() ? want.n == have.n : want.flat_dim() == have.flat_dim());
  if (fits) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "the policy (trained on ", policy.env_id(), ") expects ",
      Describe(policy.obs_dim(), want), ", but ", env.id, " has ",
      Describe(env.obs_dim(), have)));
}

absl::StatusOr<EvalResult> Evaluate(EvalPolicy& policy, const EvalOptions& options) {
  if (options.episodes <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--episodes must be >= 1 (got ", options.episodes, ")"));
  }
  const std::string env_id = options.env_id.empty() ? policy.env_id() : options.env_id;
  PROXIMA_ASSIGN_OR_RETURN(std::unique_ptr<Env> env, MakeEnv(env_id));
  const EnvSpec& spec = env->spec();
  PROXIMA_RETURN_IF_ERROR(CheckPolicyFitsEnv(policy, spec));

  EvalResult r;
  r.env = spec.id;
  r.deterministic = options.deterministic;
  r.seed = options.seed;
  r.clip_action =
      options.clip_action.value_or(policy.clip_action()) && !spec.action_space.is_discrete();
  env->Seed(options.seed);
  policy.Seed(options.seed);
  std::vector<float> obs(spec.obs_dim());
  std::vector<float> action(spec.action_dim());
  for (int ep = 0; ep < options.episodes; ++ep) {
    env->Reset(obs.data());
    double ret = 0;
    int64_t len = 0;
    while (true) {
      PROXIMA_RETURN_IF_ERROR(policy.Act(obs.data(), options.deterministic, action.data()));
      if (r.clip_action) {
        // As VectorEnv's ClipAction during training: to the env's bounds.
        for (size_t j = 0; j < action.size(); ++j) {
          action[j] = std::clamp(action[j], spec.action_space.low[j], spec.action_space.high[j]);
        }
      }
      const StepResult step = env->Step(action.data(), obs.data());
      ret += step.reward;
      ++len;
      if (step.terminated || step.truncated) break;
    }
    // A remote env that failed ends its episode with zeros; report, not count.
    PROXIMA_RETURN_IF_ERROR(env->status());
    r.returns.push_back(ret);
    r.lengths.push_back(len);
  }
  MeanStd(r.returns, &r.mean_return, &r.std_return);
  MeanStd(std::vector<double>(r.lengths.begin(), r.lengths.end()), &r.mean_length, &r.std_length);
  return r;
}

nlohmann::ordered_json EvalResultToJson(const EvalResult& r) {
  nlohmann::ordered_json j;
  j["env"] = r.env;
  j["episodes"] = r.returns.size();
  j["deterministic"] = r.deterministic;
  j["seed"] = r.seed;
  j["clip_action"] = r.clip_action;
  j["mean_return"] = r.mean_return;
  j["std_return"] = r.std_return;
  j["mean_length"] = r.mean_length;
  j["std_length"] = r.std_length;
  j["returns"] = r.returns;
  j["lengths"] = r.lengths;
  return j;
}

}  // namespace proxima
