// Conversions between the in-memory run description and the wire RunConfig
// (config.proto) that Register hands to actors.
//
// The learner fills a RunConfig from its PpoConfig (FillRunConfig, in the
// learner); an actor turns it back into what it needs with ActorRunConfig.
#ifndef PROXIMA_COMMON_WIRE_RUN_CONFIG_H_
#define PROXIMA_COMMON_WIRE_RUN_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/envs/env.h"
#include "common/wire/model_spec.h"
#include "proxima/v1/config.pb.h"
#include "proxima/v1/space.pb.h"

namespace proxima {

void SpaceToProto(const Space& space, v1::Space* out);
void EnvSpecToProto(const EnvSpec& spec, v1::EnvSpec* out);
// `obs_dim`/`action_dim` as the model sees them (action_dim: logits for
// Discrete, action dimensions for Box).
void ModelSpecToProto(const ModelSpec& spec, int obs_dim, const Space& action_space,
                      v1::ModelSpec* out);
absl::StatusOr<ModelSpec> ModelSpecFromProto(const v1::ModelSpec& proto);

// What an actor needs from a RunConfig, checked for consistency with the
// locally built environment: the env id must be registered here and its
// observation/action sizes must match the model spec.
struct ActorRunConfig {
  std::string env_id;
  EnvSpec env_spec;  // from the local registry
  ModelSpec model;
  int num_envs = 0;
  int rollout_length = 0;
  bool sync = false;  // TRAINING_MODE_SYNC: wait for a new version after each chunk
  // Async flow control (RunConfig.target_policy_lag; 0: off).
  uint32_t target_policy_lag = 0;
  uint64_t batch_transitions = 0;
  bool clip_actions = false;  // RunConfig.clip_actions
  uint64_t env_seed_base = 0;
  uint64_t action_seed = 0;
  v1::ChannelHints channel;
};
absl::StatusOr<ActorRunConfig> ActorRunConfigFromProto(const v1::RunConfig& proto);

}  // namespace proxima

#endif  // PROXIMA_COMMON_WIRE_RUN_CONFIG_H_
