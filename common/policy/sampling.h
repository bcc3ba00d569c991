// Action sampling for a batch of observations, shared by actors and the
// in-process trainer so that behaviour log-probs are computed exactly as the
// learner computes them (ActorCritic::LogProbEntropy on the same logits).
//
// Random draws come from our own Rng (not torch's generator), so a rollout is
// reproducible for a fixed seed regardless of how many tensors torch creates.
#ifndef PROXIMA_COMMON_POLICY_SAMPLING_H_
#define PROXIMA_COMMON_POLICY_SAMPLING_H_

#include "common/policy/actor_critic.h"
#include "common/rng.h"

namespace proxima {

// Runs `model` on normalized observations `obs` [N, obs_dim] (no grad) and
// samples one action per row. Writes N × action_dim floats to `actions`
// (discrete: the index) and N log-probs to `logp`. With `deterministic`, takes
// the argmax / mean instead of sampling.
void SampleActions(ActorCritic& model, const torch::Tensor& obs, Rng& rng, float* actions,
                   float* logp, bool deterministic = false);

}  // namespace proxima

#endif  // PROXIMA_COMMON_POLICY_SAMPLING_H_
