// PolicyInference: batched action selection for the actor's stepping loop.
//
// Act() takes the RAW observations of all env columns, normalizes them with
// the snapshot's statistics exactly as the learner does (RunningMeanStd::
// Normalize, clamp to ±clip, or a plain copy when normalization is off), runs
// the policy MLP and samples one action per column with the caller's Rng.
// Only the policy trunk and head are evaluated: the actor needs no values.
//
// Two engines compute the MLP (InferenceEngine; --engine on proxima-actor,
// PpoConfig::engine in the in-process trainer):
//   fused (default)  fused::PolicyForward (common/fused/policy_forward.h): the
//                    snapshot's float weights packed once at SetPolicy, a hand
//                    loop for small batches and cblas_sgemm for large ones,
//                    the fast float tanh, and a float log_softmax written as
//                    ActorCritic::LogProbEntropy's kernel computes it — no
//                    LibTorch call per Act();
//   torch            the reference: the same LibTorch kernels as
//                    ActorCritic::forward (addmm with the bias broadcast,
//                    tanh/relu) and the same log_softmax kernel.
// Either way the log-probs are the learner's to float rounding (within 1e-6
// of ActorCritic::LogProbEntropy; fused and torch within 1e-5 of each other),
// and sampling is shared code: the same Rng draws give the same Categorical
// action unless the two engines' probabilities straddle the uniform draw,
// which needs the draw within ~1e-7 of a cumulative probability
// (policy_inference_test pins all of it).
//
// No heap allocation per Act() once SetPolicy() has run: the fused engine's
// buffers are sized in the constructor; the torch engine fills tensors
// allocated in the constructor with LibTorch's *_out / in-place ops, the bias
// pre-expanded to [batch, width] so addmm never materializes a broadcast
// (rollout_no_alloc_test counts operator new).
// Not thread-safe: owned by the stepping thread.
#ifndef PROXIMA_COMMON_POLICY_POLICY_INFERENCE_H_
#define PROXIMA_COMMON_POLICY_POLICY_INFERENCE_H_

#include <ATen/core/Tensor.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/fused/policy_forward.h"
#include "common/policy/policy_snapshot.h"
#include "common/rng.h"

namespace proxima {

enum class InferenceEngine { kFused, kTorch };

// --engine's value: "auto" and "fused" are the fused engine (it runs every
// MLP actor-critic on the CPU, where actors act), "torch" the LibTorch one;
// anything else is InvalidArgument naming --engine.
absl::StatusOr<InferenceEngine> ParseInferenceEngine(absl::string_view engine);
const char* InferenceEngineName(InferenceEngine engine);

class PolicyInference {
 public:
  // `batch`: rows per Act() call (the actor's number of env columns).
  PolicyInference(const PolicyShape& shape, int batch,
                  InferenceEngine engine = InferenceEngine::kFused);

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
  InferenceEngine engine() const { return engine_; }

  // The fused engine's forward, to set its BLAS crossover (benchmarks and
  // tests); null for the torch engine.
  fused::PolicyForward* fused_forward() { return fused_ ? &*fused_ : nullptr; }

 private:
  struct Layer {
    at::Tensor weight_t;  // [in, out] view of the snapshot's [out, in] weight
    at::Tensor bias;      // [batch, out] expanded view of the snapshot's bias
    at::Tensor out;       // [batch, out] owned buffer
  };

  absl::Status BindTorch(const PolicySnapshot& snapshot);
  absl::Status BindFused(const PolicySnapshot& snapshot);
  // Fills log_probs / mean for the current input; returns the [batch, n]
  // rows sampling reads (Discrete: log-probs; Box: means).
  const float* ForwardTorch();
  const float* ForwardFused();

  PolicyShape shape_;
  int batch_;
  InferenceEngine engine_;
  bool discrete_;
  bool relu_;
  int num_outputs_;  // logits (Discrete) or action dimensions (Box)
  std::shared_ptr<const PolicySnapshot> policy_;
  float* input_data_ = nullptr;  // [batch, obs_dim] normalized observations
  // The torch engine.
  at::Tensor input_;             // [batch, obs_dim], input_data_'s storage
  std::vector<Layer> layers_;    // hidden layers, then the policy head
  at::Tensor log_probs_;         // [batch, n] Discrete: log_softmax of the logits
  // The fused engine (empty when its layout could not be made: layout_error_
  // says why and SetPolicy returns it).
  std::optional<fused::PolicyForward> fused_;
  absl::Status layout_error_;
  std::vector<float> fused_input_;   // [batch, obs_dim]
  std::vector<float> fused_params_;  // the snapshot's parameters, MlpLayout order
  std::vector<float> fused_out_;     // [batch, n] logits or means
  std::vector<float> fused_logp_;    // [batch, n] Discrete: log_softmax of the logits
  std::vector<float> log_std_;   // Box: per-dimension log-std
  std::vector<float> std_;       // Box: exp(log_std), as the sampler draws
  std::vector<float> inv_std_;   // Box: exp(-log_std), as LogProbEntropy computes it
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_POLICY_POLICY_INFERENCE_H_
