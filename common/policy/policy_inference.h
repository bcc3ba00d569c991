// PolicyInference: batched action selection for the actor's stepping loop.
//
// Act() takes the RAW observations of all env columns, normalizes them with
// the snapshot's statistics exactly as the learner does (RunningMeanStd::
// Normalize, clamp to ±clip, or a plain copy when normalization is off), runs
// the policy MLP under c10::InferenceMode and samples one action per column
// with the caller's Rng.
//
// Log-probabilities are the learner's: the network is evaluated with the same
// LibTorch kernels as ActorCritic::forward (addmm with the bias broadcast,
// tanh/relu) and a Categorical log-prob is read from the same log_softmax
// kernel ActorCritic::LogProbEntropy uses, so for the same weights and
// observations they agree to float rounding (policy_inference_test pins it).
// Only the policy trunk and head are evaluated: the actor needs no values.
//
// No heap allocation per Act() once SetPolicy() has run: every intermediate is
// a tensor allocated in the constructor, filled with LibTorch's *_out / in-
// place ops, and the bias is pre-expanded to [batch, width] so addmm never
// materializes a broadcast (rollout_no_alloc_test counts operator new).
// Not thread-safe: owned by the stepping thread.
#ifndef PROXIMA_COMMON_POLICY_POLICY_INFERENCE_H_
#define PROXIMA_COMMON_POLICY_POLICY_INFERENCE_H_

#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "common/policy/policy_snapshot.h"
#include "common/rng.h"

namespace proxima {

class PolicyInference {
 public:
  // `batch`: rows per Act() call (the actor's number of env columns).
  PolicyInference(const PolicyShape& shape, int batch);

  // Binds the weights and normalizer of `snapshot`, which stays alive until
  // the next SetPolicy. Allocates (views, expanded biases): call between
  // rollouts only. Fails if the snapshot's network does not have `shape`.
  absl::Status SetPolicy(std::shared_ptr<const PolicySnapshot> snapshot);

  // The bound snapshot (null before the first SetPolicy).
  const std::shared_ptr<const PolicySnapshot>& policy() const { return policy_; }

  // raw_obs: batch × obs_dim floats, row-major. Writes batch × action_dim
  // floats to `actions` (Discrete: the index as a float; Box: the unclipped
  // sample) and batch behaviour log-probs to `logp`. With `deterministic`,
  // takes the argmax / mean (log-prob still of the action taken).
  void Act(const float* raw_obs, Rng& rng, float* actions, float* logp,
           bool deterministic = false);

  int batch() const { return batch_; }
  int obs_dim() const { return shape_.obs_dim; }
  int action_dim() const { return discrete_ ? 1 : num_outputs_; }

 private:
  struct Layer {
    at::Tensor weight_t;  // [in, out] view of the snapshot's [out, in] weight
    at::Tensor bias;      // [batch, out] expanded view of the snapshot's bias
    at::Tensor out;       // [batch, out] owned buffer
  };

  PolicyShape shape_;
  int batch_;
  bool discrete_;
  bool relu_;
  int num_outputs_;  // logits (Discrete) or action dimensions (Box)
  std::shared_ptr<const PolicySnapshot> policy_;
  at::Tensor input_;             // [batch, obs_dim] normalized observations
  std::vector<Layer> layers_;    // hidden layers, then the policy head
  at::Tensor log_probs_;         // [batch, n] Discrete: log_softmax of the logits
  std::vector<float> log_std_;   // Box: per-dimension log-std
  std::vector<float> std_;       // Box: exp(log_std), as the sampler draws
  std::vector<float> inv_std_;   // Box: exp(-log_std), as LogProbEntropy computes it
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_POLICY_POLICY_INFERENCE_H_
