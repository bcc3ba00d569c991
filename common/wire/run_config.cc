#include "common/wire/run_config.h"

#include "absl/strings/str_cat.h"
#include "common/envs/registry.h"
#include "common/status_macros.h"

namespace proxima {

void SpaceToProto(const Space& space, v1::Space* out) {
  out->Clear();
  if (space.is_discrete()) {
    out->mutable_discrete()->set_n(space.n);
    return;
  }
  v1::BoxSpace* box = out->mutable_box();
  box->add_shape(static_cast<int64_t>(space.low.size()));
  box->set_dtype(v1::DTYPE_FLOAT32);
  for (float v : space.low) box->add_low(v);
  for (float v : space.high) box->add_high(v);
}

void EnvSpecToProto(const EnvSpec& spec, v1::EnvSpec* out) {
  out->Clear();
  out->set_id(spec.id);
  SpaceToProto(spec.observation_space, out->mutable_observation_space());
  SpaceToProto(spec.action_space, out->mutable_action_space());
  out->set_max_episode_steps(spec.max_episode_steps);
  if (spec.has_reward_threshold) out->set_reward_threshold(spec.reward_threshold);
}

void ModelSpecToProto(const ModelSpec& spec, int obs_dim, const Space& action_space,
                      v1::ModelSpec* out) {
  out->Clear();
  for (int h : spec.hidden_sizes) out->add_hidden_sizes(static_cast<uint32_t>(h));
  out->set_activation(spec.activation == "relu" ? v1::ACTIVATION_RELU : v1::ACTIVATION_TANH);
  out->set_trunk(spec.shared_trunk ? v1::TRUNK_KIND_SHARED : v1::TRUNK_KIND_SEPARATE);
  out->set_action_distribution(action_space.is_discrete()
                                   ? v1::ACTION_DISTRIBUTION_CATEGORICAL
                                   : v1::ACTION_DISTRIBUTION_DIAGONAL_GAUSSIAN);
  out->set_obs_dim(static_cast<uint32_t>(obs_dim));
  out->set_action_dim(static_cast<uint32_t>(action_space.is_discrete()
                                                ? action_space.n
                                                : action_space.flat_dim()));
}

absl::StatusOr<ModelSpec> ModelSpecFromProto(const v1::ModelSpec& proto) {
  ModelSpec spec;
  spec.hidden_sizes.clear();
  for (uint32_t h : proto.hidden_sizes()) {
    if (h == 0 || h > 65536) {
      return absl::InvalidArgumentError(
          absl::StrCat("model.hidden_sizes: layer width must be in [1, 65536] (got ", h, ")"));
    }
    spec.hidden_sizes.push_back(static_cast<int>(h));
  }
  switch (proto.activation()) {
    case v1::ACTIVATION_TANH: spec.activation = "tanh"; break;
    case v1::ACTIVATION_RELU: spec.activation = "relu"; break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("model.activation: unsupported value ", proto.activation()));
  }
  switch (proto.trunk()) {
    case v1::TRUNK_KIND_SEPARATE: spec.shared_trunk = false; break;
    case v1::TRUNK_KIND_SHARED: spec.shared_trunk = true; break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("model.trunk: unsupported value ", proto.trunk()));
  }
  return spec;
}

absl::StatusOr<ActorRunConfig> ActorRunConfigFromProto(const v1::RunConfig& proto) {
  ActorRunConfig c;
  c.env_id = proto.env_id();
  PROXIMA_ASSIGN_OR_RETURN(c.env_spec, GetEnvSpec(c.env_id));
  PROXIMA_ASSIGN_OR_RETURN(c.model, ModelSpecFromProto(proto.model()));
  const v1::ModelSpec& m = proto.model();
  const Space& as = c.env_spec.action_space;
  const bool discrete = as.is_discrete();
  if (static_cast<int>(m.obs_dim()) != c.env_spec.obs_dim()) {
    return absl::InvalidArgumentError(absl::StrCat("model.obs_dim: ", m.obs_dim(), " but ",
                                                   c.env_id, " observations have ",
                                                   c.env_spec.obs_dim(), " dimensions"));
  }
  const int want_action_dim = discrete ? as.n : as.flat_dim();
  if (static_cast<int>(m.action_dim()) != want_action_dim) {
    return absl::InvalidArgumentError(absl::StrCat("model.action_dim: ", m.action_dim(),
                                                   " but ", c.env_id, " needs ",
                                                   want_action_dim));
  }
  if ((m.action_distribution() == v1::ACTION_DISTRIBUTION_CATEGORICAL) != discrete) {
    return absl::InvalidArgumentError(
        absl::StrCat("model.action_distribution does not fit the action space of ", c.env_id));
  }
  if (proto.num_envs() < 1 || proto.num_envs() > 65536) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_envs must be in [1, 65536] (got ", proto.num_envs(), ")"));
  }
  if (proto.rollout_length() < 1 || proto.rollout_length() > 1000000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rollout_length must be in [1, 1000000] (got ", proto.rollout_length(), ")"));
  }
  c.num_envs = static_cast<int>(proto.num_envs());
  c.rollout_length = static_cast<int>(proto.rollout_length());
  c.sync = proto.mode() == v1::TRAINING_MODE_SYNC;
  if (!c.sync) {
    c.target_policy_lag = proto.target_policy_lag();
    c.batch_transitions = proto.batch_transitions();
  }
  c.clip_actions = proto.clip_actions();
  c.env_seed_base = proto.seeds().env_seed_base();
  c.action_seed = proto.seeds().action_seed();
  c.channel = proto.channel();
  return c;
}

}  // namespace proxima
