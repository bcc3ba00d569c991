#include "learner/eval_episodes.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/envs/registry.h"
#include "common/policy/policy_inference.h"
#include "common/rng.h"
#include "common/status_macros.h"

namespace proxima {
namespace {

std::string Describe(int obs_dim, const Space& actions) {
  return absl::StrCat("obs_dim ", obs_dim, " and actions ", actions.DebugString());
}

class SnapshotEvalPolicy : public EvalPolicy {
 public:
  // The torch inference engine: the exported TorchScript module runs the
  // same LibTorch ops, so a checkpoint and its export evaluate exactly alike.
  SnapshotEvalPolicy(const EnvSpec& env, const ModelSpec& model, bool clip_action)
      : env_(env),
        clip_action_(clip_action),
        inference_(PolicyShape{env.obs_dim(), env.action_space, model}, /*batch=*/1,
                   InferenceEngine::kTorch) {}

  absl::Status Init(std::shared_ptr<const PolicySnapshot> snapshot) {
    return inference_.SetPolicy(std::move(snapshot));
  }

  const std::string& env_id() const override { return env_.id; }
  int obs_dim() const override { return env_.obs_dim(); }
  const Space& action_space() const override { return env_.action_space; }
  bool clip_action() const override { return clip_action_; }
  void Seed(uint64_t seed) override { rng_.Seed(seed ^ kPolicySeedSalt); }

  absl::Status Act(const float* raw_obs, bool deterministic, float* action) override {
    float logp;
    inference_.Act(raw_obs, rng_, action, &logp, deterministic);
    return absl::OkStatus();
  }

 private:
  EnvSpec env_;
  bool clip_action_;
  PolicyInference inference_;
  Rng rng_;
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

absl::StatusOr<std::unique_ptr<EvalPolicy>> MakeSnapshotEvalPolicy(
    const EnvSpec& env, const ModelSpec& model, bool clip_action,
    std::shared_ptr<const PolicySnapshot> snapshot) {
  if (snapshot == nullptr) return absl::InvalidArgumentError("no policy snapshot");
  auto p = std::make_unique<SnapshotEvalPolicy>(env, model, clip_action);
  PROXIMA_RETURN_IF_ERROR(p->Init(std::move(snapshot)));
  return std::unique_ptr<EvalPolicy>(std::move(p));
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
