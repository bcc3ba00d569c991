// Evaluation episodes: run N episodes of a policy on Proxima's C++
// environments and report return and length statistics. The core of
// `proxima eval` (learner/export/policy_evaluator.h adds the checkpoint and
// TorchScript sources) and of evaluation during training (--eval-every,
// learner/periodic_eval.h), so both play episodes exactly alike.
//
// An EvalPolicy maps one raw observation to one action. MakeSnapshotEvalPolicy
// wraps a PolicySnapshot (weights + observation-normalizer statistics, one
// policy version) in the actor's own inference path, PolicyInference with
// the torch engine; stochastic actions are drawn from Proxima's Rng exactly
// as actors draw them.
//
// Evaluate() seeds one fresh env with `seed` and plays the episodes back to
// back (each ends by termination or the env's TimeLimit), so a (policy, env,
// seed, deterministic, clip) tuple always gives the same episodes.
//
// Action clipping: a run trained with ClipAction (PpoConfig::clip_action, on
// in the MuJoCo presets) had every Box action clipped to the action space
// before its envs saw it, so evaluation clips too by default — a MuJoCo env's
// control cost would otherwise charge the raw Gaussian sample.
// EvalOptions::clip_action overrides the policy's setting. Discrete actions
// are never clipped.
//
// Not thread-safe per policy; Evaluate() owns its env.
#ifndef PROXIMA_LEARNER_EVAL_EPISODES_H_
#define PROXIMA_LEARNER_EVAL_EPISODES_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/envs/env.h"
#include "common/policy/policy_snapshot.h"
#include "nlohmann/json.hpp"

namespace proxima {

class EvalPolicy {
 public:
  virtual ~EvalPolicy() = default;

  // The env the policy was trained on (its default eval env).
  virtual const std::string& env_id() const = 0;
  virtual int obs_dim() const = 0;
  virtual const Space& action_space() const = 0;
  // Whether the run clipped Box actions to the action space (ClipAction).
  virtual bool clip_action() const = 0;

  // Seeds the policy's sampler (stochastic actions only).
  virtual void Seed(uint64_t seed) = 0;

  // raw_obs: obs_dim() floats. Writes action_space().flat_dim() floats to
  // `action` (Discrete: the index as a float; Box: unclipped — Evaluate()
  // clips when clip_action()).
  // Not thread-safe.
  virtual absl::Status Act(const float* raw_obs, bool deterministic, float* action) = 0;
};

// Salt that decorrelates a policy's sampler stream from the env's, which is
// seeded with the same seed.
inline constexpr uint64_t kPolicySeedSalt = 0x706f6c6963790001ULL;

// `snapshot` (never null) acting on `env` with a network of `model`;
// `clip_action` as the run trained. InvalidArgument if the snapshot's network
// does not fit.
absl::StatusOr<std::unique_ptr<EvalPolicy>> MakeSnapshotEvalPolicy(
    const EnvSpec& env, const ModelSpec& model, bool clip_action,
    std::shared_ptr<const PolicySnapshot> snapshot);

// InvalidArgument unless `env` has the policy's observation size and action
// space kind and size.
absl::Status CheckPolicyFitsEnv(const EvalPolicy& policy, const EnvSpec& env);

struct EvalOptions {
  std::string env_id;  // empty: policy.env_id()
  int episodes = 10;
  bool deterministic = false;
  uint64_t seed = 1;
  // Clip Box actions to the env's action space; unset: policy.clip_action().
  std::optional<bool> clip_action;
};

struct EvalResult {
  std::string env;
  bool deterministic = false;
  uint64_t seed = 0;
  bool clip_action = false;  // Box actions were clipped (always false for Discrete)
  std::vector<double> returns;
  std::vector<int64_t> lengths;
  // Mean and population standard deviation over the episodes.
  double mean_return = 0, std_return = 0;
  double mean_length = 0, std_length = 0;
};

// InvalidArgument for episodes <= 0, an unknown env or one the policy does
// not fit; otherwise runs the episodes on a new env of its own.
absl::StatusOr<EvalResult> Evaluate(EvalPolicy& policy, const EvalOptions& options);

// {env, episodes, deterministic, seed, clip_action, mean_return, std_return, mean_length,
//  std_length, returns: [...], lengths: [...]}
nlohmann::ordered_json EvalResultToJson(const EvalResult& r);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_EVAL_EPISODES_H_
