// MlpLayout: where each parameter of the MLP actor-critic lives in the flat
// parameter buffer, derived from the network's shape alone (no LibTorch).
//
// The order is exactly ActorCritic's parameters() order — the order
// PpoUpdater::FlattenParameters packs params_flat_/grads_flat_ and the Adam
// moments in, and the order of weight snapshots and checkpoints:
//   log_std [act_dim]                      (continuous heads only: it is the
//                                           root module's own parameter, so
//                                           it comes before every submodule's)
//   policy_trunk.{0,2,4,..}.weight [h, in], .bias [h]   ("trunk." when shared)
//   value_trunk.{0,2,4,..}.weight/.bias                 (separate trunks only)
//   policy_head.weight [act_dim, h_last], .bias [act_dim]
//   value_head.weight [1, h_last], .bias [1]
// Weights are row-major [out, in] like torch::nn::Linear's. The Sequential
// index of hidden layer k is 2k (an activation module sits between layers).
// tests/learner/fused_layout_test.cc checks names, shapes and offsets against
// a real ActorCritic for every trunk × head combination. It lives in common/
// (proxima::mlp) because both fused engines use it: the learner's PPO kernel
// (learner/fused/) and the actor's inference (common/policy/policy_inference.h).
//
// Plain data; thread-compatible.
#ifndef PROXIMA_COMMON_FUSED_MLP_LAYOUT_H_
#define PROXIMA_COMMON_FUSED_MLP_LAYOUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/envs/env.h"
#include "common/wire/model_spec.h"

namespace proxima::fused {

enum class Activation { kTanh, kRelu };

// One named parameter: its torch name, shape and place in the flat buffer.
struct ParamBlock {
  std::string name;
  std::vector<int64_t> shape;
  int64_t offset = 0;
  int64_t size = 0;
};

// A Linear layer's two blocks as offsets into the flat buffer.
struct LinearRef {
  int in = 0, out = 0;
  int64_t weight = 0;  // [out, in] row-major
  int64_t bias = 0;    // [out]
};

struct MlpLayout {
  int obs_dim = 0;
  int action_dim = 0;  // logits (discrete) or action dimensions (continuous)
  bool discrete = true;
  bool shared_trunk = false;
  Activation activation = Activation::kTanh;
  std::vector<int> hidden_sizes;

  std::vector<ParamBlock> params;  // parameters() order
  int64_t total = 0;               // floats in the flat buffer

  std::vector<LinearRef> policy_trunk;  // the shared trunk when shared_trunk
  std::vector<LinearRef> value_trunk;   // empty when shared_trunk
  LinearRef policy_head, value_head;
  int64_t log_std = -1;  // offset of log_std; -1 for a Categorical head

  int last_hidden() const { return hidden_sizes.back(); }
  int max_hidden() const;
};

// The layout of ActorCritic(obs_dim, action_space, spec). Errors name the bad
// field: obs_dim < 1, an empty action space, no or non-positive hidden sizes,
// an activation other than "tanh"/"relu".
absl::StatusOr<MlpLayout> MakeMlpLayout(int obs_dim, const Space& action_space,
                                        const ModelSpec& spec);

}  // namespace proxima::fused

#endif  // PROXIMA_COMMON_FUSED_MLP_LAYOUT_H_
