// The actor's hot path allocates nothing per env step after warm-up:
// PolicyInference::Act (normalize, the MLP on cached buffers — fused engine:
// hand loop or BLAS on packed weights; torch engine: LibTorch *_out ops —
// sample) and RolloutCollector::Collect (store, act, step, record). This
// binary links the counting operator new (tests/support/allocation_counter.h).
// How fast inference is (the 64x64 MLP at batch 256 on one thread, target
// >= 1e6 samples/s/core) is measured by `proxima bench --suite inference`
// (row 64x64/batch=256), not here.
#include <string>
#include <vector>

#include "common/policy/cpu_threads.h"
#include "common/policy/rollout_collector.h"
#include "gtest/gtest.h"
#include "tests/actor/actor_test_util.h"
#include "tests/support/allocation_counter.h"

namespace proxima {
namespace {

using ::proxima::testing::ActingPolicy;

TEST(RolloutNoAllocTest, CountingOperatorNewIsActive) {
  // Encoding a chunk allocates (protobuf, tensors): the counter must see it.
  auto envs = VectorEnv::Create("CartPole-v1", 2, 1).value();
  ActingPolicy policy("CartPole-v1", 2, /*model_seed=*/1, /*normalize=*/false, /*version=*/1);
  ASSERT_TRUE(policy.installed.ok());
  Rng rng(1);
  RolloutCollector collector(envs.get(), &policy.inference, &rng, 8);
  collector.Collect(nullptr);
  v1::TrajectoryChunk chunk;
  const long before = ::proxima::testing::AllocationCount();
  collector.Encode(ChunkHeader(), &chunk);
  EXPECT_GT(::proxima::testing::AllocationCount() - before, 0);
}

TEST(RolloutNoAllocTest, CollectDoesNotAllocatePerStepAfterWarmUp) {
  ConfigureCpuThreads(1);
  for (const char* env : {"CartPole-v1", "Acrobot-v1", "Pendulum-v1",
                          "MountainCarContinuous-v0"}) {
    for (bool normalize : {false, true}) {
      // The fused engine (the default); both engines' Act() alone below.
      SCOPED_TRACE(std::string(env) + (normalize ? " normalized" : " raw"));
      auto envs = VectorEnv::Create(env, 16, 1).value();
      ActingPolicy policy(env, 16, /*model_seed=*/1, normalize, /*version=*/1);
      ASSERT_TRUE(policy.installed.ok());
      Rng rng(1);
      RolloutCollector collector(envs.get(), &policy.inference, &rng, 128);
      // Warm-up: LibTorch's first calls and the episode list's growth to its
      // high-water mark.
      for (int i = 0; i < 4; ++i) collector.Collect(nullptr);
      const long before = ::proxima::testing::AllocationCount();
      int steps = 0;
      for (int i = 0; i < 8; ++i) steps += collector.Collect(nullptr);
      const long allocations = ::proxima::testing::AllocationCount() - before;
      EXPECT_EQ(steps, 8 * 128);
      EXPECT_EQ(allocations, 0) << allocations << " allocations in " << steps << " steps";
    }
  }
}

// Both engines; the fused one at batch 4 (its hand loop) and 256 (BLAS).
TEST(RolloutNoAllocTest, InferenceOfThe64x64MlpAllocatesNothing) {
  ConfigureCpuThreads(1);
  for (InferenceEngine engine : {InferenceEngine::kFused, InferenceEngine::kTorch}) {
    for (int batch : {4, 256}) {
      for (const char* env : {"CartPole-v1", "Pendulum-v1"}) {
        SCOPED_TRACE(std::string(InferenceEngineName(engine)) + " batch " +
                     std::to_string(batch) + " " + env);
        ActingPolicy policy(env, batch, /*model_seed=*/1, /*normalize=*/true, /*version=*/1,
                            engine);
        ASSERT_TRUE(policy.installed.ok());
        const PolicyShape& shape = policy.shape;
        PolicyInference& inference = policy.inference;
        Rng rng(3);
        std::vector<float> obs(static_cast<size_t>(batch) * shape.obs_dim);
        for (float& x : obs) x = static_cast<float>(rng.Normal());
        std::vector<float> actions(static_cast<size_t>(batch) * inference.action_dim());
        std::vector<float> logp(batch);
        for (int i = 0; i < 200; ++i) {
          inference.Act(obs.data(), rng, actions.data(), logp.data());
        }
        const long before = ::proxima::testing::AllocationCount();
        constexpr int kCalls = 1000;
        for (int i = 0; i < kCalls; ++i) {
          inference.Act(obs.data(), rng, actions.data(), logp.data());
        }
        const long allocations = ::proxima::testing::AllocationCount() - before;
        EXPECT_EQ(allocations, 0) << allocations << " allocations in " << kCalls << " calls";
      }
    }
  }
}

}  // namespace
}  // namespace proxima
