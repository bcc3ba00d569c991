// The actor's chunks through the learner's own code: every chunk (full,
// partial final, empty final) passes the learner's ValidateChunkPayload, and
// on fresh sync-mode data — collected with the version the learner publishes
// (weights + normalizer) — the importance ratio of the learner's first
// minibatch is 1 to 1e-6, for a Categorical and a Gaussian policy, with
// observation normalization on (after one update, so that the statistics are
// not the identity) and off.
#include <atomic>
#include <cstdio>
#include <memory>
#include <vector>

#include "common/wire/chunk_codec.h"
#include "common/policy/rollout_collector.h"
#include "gtest/gtest.h"
#include "common/wire/chunk_validator.h"
#include "learner/ppo_updater.h"
#include "tests/actor/actor_test_util.h"

namespace proxima {
namespace {

NormalizerState PublishedNormalizer(PpoUpdater& updater) {
  NormalizerState n;
  n.enabled = updater.config().normalize_obs;
  n.clip = updater.config().obs_clip;
  n.stats = updater.obs_stats();
  return n;
}

struct Case {
  const char* env;
  bool normalize_obs;
};

TEST(ActorLearnerRatioTest, FreshSyncDataHasRatioOne) {
  for (const Case& c : {Case{"CartPole-v1", true}, Case{"CartPole-v1", false},
                        Case{"Pendulum-v1", true}, Case{"Acrobot-v1", false}}) {
    SCOPED_TRACE(std::string(c.env) + (c.normalize_obs ? " normalized" : " raw"));
    PpoConfig config = PresetFor(c.env).value();
    config.num_envs = 4;
    config.rollout_length = 64;
    config.num_minibatches = 1;  // the measured first minibatch is the whole batch
    config.update_epochs = 1;
    config.normalize_obs = c.normalize_obs;
    config.obs_clip = 3.0;  // small enough that clipping happens
    config.device = "cpu";
    ASSERT_TRUE(config.Validate().ok());
    const EnvSpec spec = GetEnvSpec(c.env).value();
    auto updater = PpoUpdater::Create(config, spec, torch::Device(torch::kCPU)).value();

    const PolicyShape shape{spec.obs_dim(), spec.action_space, config.model};
    auto envs = VectorEnv::Create(c.env, config.num_envs, config.seed).value();
    PolicyInference inference(shape, config.num_envs);
    Rng rng(config.seed);
    RolloutCollector collector(envs.get(), &inference, &rng, config.rollout_length);
    const ChunkSpec chunk_spec{spec.obs_dim(), spec.action_space, config.num_envs,
                               config.rollout_length};

    for (uint64_t version = 0; version < 3; ++version) {
      v1::WeightSnapshot proto;
      EncodeWeights(updater->model(), PublishedNormalizer(*updater), version, &proto);
      auto snapshot = DecodeSnapshot(proto, shape);
      ASSERT_TRUE(snapshot.ok()) << snapshot.status();
      ASSERT_TRUE(inference.SetPolicy(*snapshot).ok());
      ASSERT_EQ(collector.Collect(nullptr), config.rollout_length);
      ChunkHeader header;
      header.seq = version;
      header.policy_version = version;
      v1::TrajectoryChunk chunk;
      collector.Encode(header, &chunk);
      ASSERT_TRUE(ValidateChunkPayload(chunk, chunk_spec).ok())
          << ValidateChunkPayload(chunk, chunk_spec);
      const RolloutBatch batch = DecodeChunk(chunk, spec.action_space.is_discrete());
      auto metrics = updater->Update(batch, 0.0);
      ASSERT_TRUE(metrics.ok()) << metrics.status();
      EXPECT_LT(metrics->first_minibatch_ratio_max_deviation, 1e-6) << "version " << version;
      std::printf("[ ratio ] %s%s version %d: max |ratio - 1| = %.3g\n", c.env,
                  c.normalize_obs ? " normalized" : "", static_cast<int>(version),
                  metrics->first_minibatch_ratio_max_deviation);
    }
  }
}

TEST(ActorLearnerRatioTest, FinalChunksOfAnyLengthAreValid) {
  const EnvSpec spec = GetEnvSpec("MountainCar-v0").value();
  const PolicyShape shape = testing::ShapeFor("MountainCar-v0");
  ActorCritic model = testing::MakeModel(shape, 4);
  auto envs = VectorEnv::Create("MountainCar-v0", 3, 9).value();
  PolicyInference inference(shape, 3);
  ASSERT_TRUE(
      inference.SetPolicy(testing::MakeSnapshot(model, testing::MakeNormalizer(2, true), 0, shape))
          .ok());
  Rng rng(1);
  RolloutCollector collector(envs.get(), &inference, &rng, 150);
  const ChunkSpec chunk_spec{spec.obs_dim(), spec.action_space, 3, 150};
  ChunkHeader header;
  // 150 + 150 crosses MountainCar's 200-step time limit: truncations inside.
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(collector.Collect(nullptr), 150);
    v1::TrajectoryChunk chunk;
    collector.Encode(header, &chunk);
    EXPECT_TRUE(ValidateChunkPayload(chunk, chunk_spec).ok())
        << ValidateChunkPayload(chunk, chunk_spec);
    if (i == 1) {
      EXPECT_EQ(chunk.truncated_observations_size(), 3);
    }
  }
  std::atomic<bool> stop{true};
  ASSERT_EQ(collector.Collect(&stop), 0);
  header.final = true;
  v1::TrajectoryChunk empty;
  collector.Encode(header, &empty);
  EXPECT_TRUE(ValidateChunkPayload(empty, chunk_spec).ok())
      << ValidateChunkPayload(empty, chunk_spec);
}

}  // namespace
}  // namespace proxima
