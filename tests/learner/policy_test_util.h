// Helpers for the policy export / evaluation tests: a checkpoint of a policy
// with perturbed random weights and non-trivial normalizer statistics, written
// by the learner's own SaveCheckpoint, and the live policy's outputs on a
// batch of raw observations computed by the actor's and learner's code
// (PolicyInference, ActorCritic).
#ifndef PROXIMA_TESTS_LEARNER_POLICY_TEST_UTIL_H_
#define PROXIMA_TESTS_LEARNER_POLICY_TEST_UTIL_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "learner/export/checkpoint_policy.h"

namespace proxima {

struct PolicyVariant {
  std::string name;  // test-name suffix
  std::string env_id;
  std::vector<int> hidden_sizes;
  std::string activation;
  bool shared_trunk = false;
  bool normalize_obs = true;
};

// The variants every export test covers: discrete and continuous, separate
// and shared trunks, tanh and relu, with and without normalization.
std::vector<PolicyVariant> AllPolicyVariants();

// Builds a PpoUpdater for `v` (seeded with `seed`), with `perturb` adds noise to
// its weights and sets the log-std so that no output is near-uniform, sets
// normalizer statistics with obs_clip 3, and saves a checkpoint (policy
// version 7) under `dir`. Returns its path.
absl::StatusOr<std::string> WriteRandomPolicyCheckpoint(const PolicyVariant& v,
                                                        const std::string& dir, uint64_t seed,
                                                        bool perturb = true);

// Raw observations [n, obs_dim] (float32): around the normalizer's mean with
// 4 standard deviations of spread, so some features hit the clip.
at::Tensor RandomRawObs(const CheckpointPolicy& policy, int64_t n, uint64_t seed);

// The live policy's outputs on raw observations [N, obs_dim].
struct LiveOutputs {
  at::Tensor normalized;         // [N, obs_dim]: RunningMeanStd::Normalize, as actors do
  at::Tensor dist_params;        // ActorCritic::forward
  at::Tensor value;              // ActorCritic::forward
  at::Tensor det_action;         // PolicyInference::Act(deterministic) [N] or [N, d]
  at::Tensor det_logp;           // its log-probs
  at::Tensor sampled_action;     // PolicyInference::Act(stochastic)
  at::Tensor sampled_logp;
  at::Tensor entropy;            // ActorCritic::LogProbEntropy
};
LiveOutputs ComputeLiveOutputs(const CheckpointPolicy& policy, const at::Tensor& raw_obs);

// Log-probs [N] of `actions` under the live network (ActorCritic::LogProbEntropy).
at::Tensor LiveLogProb(const CheckpointPolicy& policy, const at::Tensor& normalized,
                       const at::Tensor& actions);

// max |a - b| in float64 (shapes must match; +inf when they do not).
double MaxAbsDiff(const at::Tensor& a, const at::Tensor& b);

}  // namespace proxima

#endif  // PROXIMA_TESTS_LEARNER_POLICY_TEST_UTIL_H_
