// ActorCritic: the MLP policy/value network shared by actors (inference) and
// the learner (training).
//
// Inputs are normalized observations [N, obs_dim]. A Categorical head (logits)
// for Discrete action spaces, a diagonal Gaussian with a state-independent
// log-std for Box spaces (the sampled action is stored unclipped; the env
// clips). Policy and value MLPs are separate by default (CleanRL) or share a
// trunk. Orthogonal initialization: gain √2 for hidden layers, 0.01 for the
// policy head, 1.0 for the value head, zero biases.
//
// Parameters are registered in a fixed order (NamedParameters()) that defines
// the layout of weight snapshots and checkpoints.
#ifndef PROXIMA_COMMON_POLICY_ACTOR_CRITIC_H_
#define PROXIMA_COMMON_POLICY_ACTOR_CRITIC_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <utility>
#include <vector>

#include "common/envs/env.h"
#include "common/wire/model_spec.h"

namespace proxima {

struct PolicyHeads {
  torch::Tensor dist_params;  // logits [N, n] or Gaussian mean [N, act_dim]
  torch::Tensor value;        // [N]
};

class ActorCriticImpl : public torch::nn::Module {
 public:
  // `initialize` false skips the orthogonal initialization (a QR per layer)
  // for a network whose every parameter is about to be overwritten — the
  // actor decoding a weight snapshot (DecodeSnapshot).
  ActorCriticImpl(int obs_dim, const Space& action_space, const ModelSpec& spec,
                  bool initialize = true);

  // Policy distribution parameters and state values for normalized obs.
  PolicyHeads forward(const torch::Tensor& obs);
  // State values only [N].
  torch::Tensor Value(const torch::Tensor& obs);

  // Log-probability [N] of `actions` (discrete: [N] integer-valued floats or
  // ints; continuous: [N, act_dim]) and the entropy [N] of the distribution.
  std::pair<torch::Tensor, torch::Tensor> LogProbEntropy(const torch::Tensor& dist_params,
                                                         const torch::Tensor& actions) const;

  bool discrete() const { return discrete_; }
  int obs_dim() const { return obs_dim_; }
  int action_dim() const { return action_dim_; }
  const torch::Tensor& log_std() const { return log_std_; }

 private:
  torch::nn::Sequential MakeMlp(int in, const ModelSpec& spec, bool initialize);

  bool discrete_;
  int obs_dim_;
  int action_dim_;  // number of logits (discrete) or action dimensions
  bool shared_;
  torch::nn::Sequential policy_trunk_{nullptr};
  torch::nn::Sequential value_trunk_{nullptr};  // null when shared
  torch::nn::Linear policy_head_{nullptr};
  torch::nn::Linear value_head_{nullptr};
  torch::Tensor log_std_;  // [act_dim], continuous only
};
TORCH_MODULE(ActorCritic);

}  // namespace proxima

#endif  // PROXIMA_COMMON_POLICY_ACTOR_CRITIC_H_
