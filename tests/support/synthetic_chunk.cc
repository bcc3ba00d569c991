#include "tests/support/synthetic_chunk.h"

#include <ATen/ATen.h>

#include <cmath>

namespace proxima::testing {

RolloutBatch SyntheticBatch(const ChunkSpec& spec, int steps,
                            absl::Span<const EpisodeRecord> episodes) {
  const bool discrete = spec.action_space.is_discrete();
  RolloutBatch b = RolloutBatch::Allocate(steps, spec.num_envs, spec.obs_dim,
                                          spec.action_space.flat_dim(), discrete);
  b.obs.copy_(at::randn(b.obs.sizes()));
  if (discrete) {
    b.actions.copy_(at::randint(0, spec.action_space.n, b.actions.sizes()).to(at::kFloat));
  } else {
    b.actions.copy_(at::rand(b.actions.sizes()) * 2 - 1);
  }
  b.behaviour_logp.fill_(std::log(0.5f));
  b.rewards.fill_(1.0f);
  for (const EpisodeRecord& ep : episodes) {
    (ep.truncated ? b.truncated : b.terminated)[ep.t][ep.e] = 1;
  }
  b.bootstrap_obs.copy_(at::randn(b.bootstrap_obs.sizes()));
  for (const EpisodeRecord& ep : episodes) {
    if (ep.truncated) b.final_index.push_back({ep.t, ep.e});
  }
  if (!b.final_index.empty()) {
    b.final_obs = at::randn({static_cast<int64_t>(b.final_index.size()), spec.obs_dim});
  }
  return b;
}

v1::TrajectoryChunk SyntheticChunk(const ChunkSpec& spec, int steps, const ChunkHeader& header,
                                   absl::Span<const EpisodeRecord> episodes) {
  v1::TrajectoryChunk c;
  EncodeChunk(SyntheticBatch(spec, steps, episodes), spec.action_space.is_discrete(), header,
              episodes, &c);
  return c;
}

}  // namespace proxima::testing
