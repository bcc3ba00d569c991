#include "common/wire/rollout_batch.h"

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"

namespace proxima {
namespace {

std::string ShapeString(at::IntArrayRef shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) absl::StrAppend(&out, i ? ", " : "", shape[i]);
  return out + "]";
}

}  // namespace

RolloutBatch RolloutBatch::Allocate(int num_steps, int num_envs, int obs_dim, int action_dim,
                                    bool discrete) {
  RolloutBatch b;
  b.num_steps = num_steps;
  b.num_envs = num_envs;
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  const auto u8 = at::TensorOptions().dtype(at::kByte);
  b.obs = at::zeros({num_steps, num_envs, obs_dim}, f32);
  b.actions = discrete ? at::zeros({num_steps, num_envs}, f32)
                       : at::zeros({num_steps, num_envs, action_dim}, f32);
  b.behaviour_logp = at::zeros({num_steps, num_envs}, f32);
  b.rewards = at::zeros({num_steps, num_envs}, f32);
  b.terminated = at::zeros({num_steps, num_envs}, u8);
  b.truncated = at::zeros({num_steps, num_envs}, u8);
  b.bootstrap_obs = at::zeros({num_envs, obs_dim}, f32);
  b.final_obs = at::zeros({0, obs_dim}, f32);
  return b;
}

absl::Status RolloutBatch::Validate(int obs_dim, int action_dim, bool discrete) const {
  const int64_t T = num_steps, E = num_envs;
  auto check = [&](const at::Tensor& t, const char* name,
                   std::vector<int64_t> shape) -> absl::Status {
    if (!t.defined()) return absl::InvalidArgumentError(absl::StrCat(name, " is missing"));
    if (t.sizes() != at::IntArrayRef(shape)) {
      return absl::InvalidArgumentError(absl::StrCat(name, " has shape ", ShapeString(t.sizes()),
                                                     ", expected ", ShapeString(shape)));
    }
    return absl::OkStatus();
  };
  if (T <= 0 || E <= 0) return absl::InvalidArgumentError("batch has no steps");
  for (auto s : {check(obs, "obs", {T, E, obs_dim}),
                 check(actions, "actions",
                       discrete ? std::vector<int64_t>{T, E} : std::vector<int64_t>{T, E, action_dim}),
                 check(behaviour_logp, "behaviour_logp", {T, E}),
                 check(rewards, "rewards", {T, E}), check(terminated, "terminated", {T, E}),
                 check(truncated, "truncated", {T, E}),
                 check(bootstrap_obs, "bootstrap_obs", {E, obs_dim}),
                 check(final_obs, "final_obs", {static_cast<int64_t>(final_index.size()), obs_dim})}) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace proxima
