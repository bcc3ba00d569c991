// The fixed shapes the fuzz targets decode against, shared with the seed
// generator (seed_corpus_main.cc) so that its seeds are valid for them.
//
// A CartPole-like run: 4 observation floats, Discrete(2) actions, 4 env
// columns and 8-step rollouts; and a 3-float continuous variant, so that the
// chunk target covers both action encodings. The policy network is small
// (one hidden layer of 8) so that building one per input stays cheap.
#ifndef PROXIMA_TESTS_FUZZ_FUZZ_SPECS_H_
#define PROXIMA_TESTS_FUZZ_FUZZ_SPECS_H_

#include "common/policy/policy_snapshot.h"
#include "common/wire/chunk_validator.h"
#include "learner/ppo_config.h"

namespace proxima {
namespace fuzz {

inline ChunkSpec DiscreteChunkSpec() { return ChunkSpec{4, Space::Discrete(2), 4, 8}; }
inline ChunkSpec ContinuousChunkSpec() {
  return ChunkSpec{3, Space::Box({-2.0f}, {2.0f}), 4, 8};
}

inline PolicyShape SnapshotShape() {
  PolicyShape shape;
  shape.obs_dim = 4;
  shape.action_space = Space::Discrete(2);
  shape.model.hidden_sizes = {8};
  return shape;
}

// The config of the updater a fuzzed checkpoint is restored into, and of the
// seed checkpoint (CartPole preset with the small network, on the CPU).
inline PpoConfig CheckpointConfig() {
  PpoConfig config = *PresetFor("CartPole-v1");
  config.num_envs = 2;
  config.rollout_length = 8;
  config.num_minibatches = 2;
  config.model.hidden_sizes = {8};
  config.device = "cpu";
  return config;
}

}  // namespace fuzz
}  // namespace proxima

#endif  // PROXIMA_TESTS_FUZZ_FUZZ_SPECS_H_
