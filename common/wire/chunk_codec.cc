#include "common/wire/chunk_codec.h"

#include <ATen/ATen.h>

#include <cstring>

namespace proxima {

size_t DTypeSize(v1::DType dtype) {
  switch (dtype) {
    case v1::DTYPE_FLOAT64:
    case v1::DTYPE_INT64:
      return 8;
    case v1::DTYPE_FLOAT32:
    case v1::DTYPE_INT32:
      return 4;
    case v1::DTYPE_INT16:
    case v1::DTYPE_FLOAT16:
    case v1::DTYPE_BFLOAT16:
      return 2;
    case v1::DTYPE_UINT8:
    case v1::DTYPE_BOOL:
    case v1::DTYPE_INT8:
      return 1;
    default:
      return 0;
  }
}

void SetTensor(v1::TensorProto* t, v1::DType dtype, std::initializer_list<int64_t> shape,
               const void* data, size_t bytes) {
  t->set_dtype(dtype);
  t->clear_shape();
  for (int64_t d : shape) t->add_shape(d);
  t->set_data(data, bytes);
}

namespace {

void SetFromTensor(v1::TensorProto* t, v1::DType dtype, std::initializer_list<int64_t> shape,
                   const at::Tensor& src) {
  at::Tensor c = src.contiguous();
  SetTensor(t, dtype, shape, c.data_ptr(), c.nbytes());
}

// Copies the raw bytes of `t` into a new CPU tensor of `shape` and `type`.
at::Tensor ToTensor(const v1::TensorProto& t, at::IntArrayRef shape, at::ScalarType type) {
  at::Tensor out = at::empty(shape, at::TensorOptions().dtype(type));
  const size_t n = std::min(out.nbytes(), t.data().size());
  // An empty tensor (a final chunk of 0 steps) has no storage: data_ptr() is
  // null, and memcpy with a null pointer is undefined even for 0 bytes.
  if (n > 0) std::memcpy(out.data_ptr(), t.data().data(), n);
  return out;
}

}  // namespace

void EncodeChunk(const RolloutBatch& b, bool discrete, const ChunkHeader& h,
                 absl::Span<const EpisodeRecord> episodes, v1::TrajectoryChunk* out) {
  const int64_t T = b.num_steps, E = b.num_envs, D = b.obs.size(2);
  out->Clear();
  out->set_actor_id(h.actor_id);
  out->set_session_id(h.session_id);
  out->set_seq(h.seq);
  out->set_policy_version(h.policy_version);
  out->set_num_steps(static_cast<uint32_t>(T));
  out->set_num_envs(static_cast<uint32_t>(E));
  out->set_final(h.final);
  out->set_rollout_seconds(h.rollout_seconds);
  SetFromTensor(out->mutable_observations(), v1::DTYPE_FLOAT32, {T, E, D}, b.obs);
  if (discrete) {
    SetFromTensor(out->mutable_actions(), v1::DTYPE_INT64, {T, E}, b.actions.to(at::kLong));
  } else {
    SetFromTensor(out->mutable_actions(), v1::DTYPE_FLOAT32, {T, E, b.actions.size(2)},
                  b.actions);
  }
  SetFromTensor(out->mutable_behaviour_log_probs(), v1::DTYPE_FLOAT32, {T, E}, b.behaviour_logp);
  SetFromTensor(out->mutable_rewards(), v1::DTYPE_FLOAT32, {T, E}, b.rewards);
  SetFromTensor(out->mutable_terminated(), v1::DTYPE_UINT8, {T, E}, b.terminated);
  SetFromTensor(out->mutable_truncated(), v1::DTYPE_UINT8, {T, E}, b.truncated);
  SetFromTensor(out->mutable_bootstrap_observations(), v1::DTYPE_FLOAT32, {E, D},
                b.bootstrap_obs);
  at::Tensor finals = b.final_obs.contiguous();
  const float* f = finals.data_ptr<float>();
  for (size_t k = 0; k < b.final_index.size(); ++k) {
    v1::TruncatedObservation* o = out->add_truncated_observations();
    o->set_step(b.final_index[k].t);
    o->set_env(b.final_index[k].e);
    o->mutable_observation()->Add(f + k * D, f + (k + 1) * D);
  }
  for (const EpisodeRecord& ep : episodes) {
    v1::EpisodeSummary* s = out->add_episodes();
    s->set_step(ep.t);
    s->set_env(ep.e);
    s->set_episode_return(ep.episode_return);
    s->set_episode_length(ep.length);
    s->set_truncated(ep.truncated);
  }
}

RolloutBatch DecodeChunk(const v1::TrajectoryChunk& c, bool discrete) {
  const int64_t T = c.num_steps(), E = c.num_envs();
  const int64_t D = c.bootstrap_observations().shape_size() == 2
                        ? c.bootstrap_observations().shape(1)
                        : 0;
  RolloutBatch b;
  b.num_steps = static_cast<int>(T);
  b.num_envs = static_cast<int>(E);
  b.obs = ToTensor(c.observations(), {T, E, D}, at::kFloat);
  if (discrete) {
    b.actions = ToTensor(c.actions(), {T, E}, at::kLong).to(at::kFloat);
  } else {
    const int64_t A = c.actions().shape_size() == 3 ? c.actions().shape(2) : 0;
    b.actions = ToTensor(c.actions(), {T, E, A}, at::kFloat);
  }
  b.behaviour_logp = ToTensor(c.behaviour_log_probs(), {T, E}, at::kFloat);
  b.rewards = ToTensor(c.rewards(), {T, E}, at::kFloat);
  b.terminated = ToTensor(c.terminated(), {T, E}, at::kByte);
  b.truncated = ToTensor(c.truncated(), {T, E}, at::kByte);
  b.bootstrap_obs = ToTensor(c.bootstrap_observations(), {E, D}, at::kFloat);
  const int64_t K = c.truncated_observations_size();
  b.final_obs = at::empty({K, D}, at::kFloat);
  float* f = b.final_obs.data_ptr<float>();
  for (int64_t k = 0; k < K; ++k) {
    const v1::TruncatedObservation& o = c.truncated_observations(k);
    b.final_index.push_back({static_cast<int>(o.step()), static_cast<int>(o.env())});
    std::memcpy(f + k * D, o.observation().data(),
                sizeof(float) * std::min<int64_t>(D, o.observation_size()));
  }
  return b;
}

std::vector<EpisodeRecord> ChunkEpisodes(const v1::TrajectoryChunk& c) {
  std::vector<EpisodeRecord> out;
  out.reserve(c.episodes_size());
  for (const v1::EpisodeSummary& s : c.episodes()) {
    out.push_back({static_cast<int>(s.step()), static_cast<int>(s.env()), s.episode_return(),
                   static_cast<int64_t>(s.episode_length()), s.truncated()});
  }
  return out;
}

}  // namespace proxima
