// Env::Step/Reset and VectorEnv::Step must not allocate. The envs_test binary
// counts its operator new calls (tests/support/allocation_counter.h).
#include <string>
#include <vector>

#include "common/envs/registry.h"
#include "common/envs/vector_env.h"
#include "common/rng.h"
#include "gtest/gtest.h"
#include "tests/support/allocation_counter.h"

namespace proxima {
namespace {

using ::proxima::testing::AllocationCount;

void RandomActions(const EnvSpec& spec, Rng& rng, std::vector<float>* a) {
  for (float& x : *a) {
    x = spec.action_space.is_discrete() ? static_cast<float>(rng.UniformInt(spec.action_space.n))
                                        : static_cast<float>(rng.Uniform(-3.0, 3.0));
  }
}

TEST(NoAllocTest, CountingOperatorNewIsActive) {
  const long before = AllocationCount();
  // Through a volatile pointer: the operators are replaced in another
  // translation unit, and GCC may drop a new/delete pair it can see through.
  std::vector<int>* volatile v = new std::vector<int>(10);
  delete v;
  EXPECT_GE(AllocationCount() - before, 2);
}

TEST(NoAllocTest, EnvStepAndResetDoNotAllocate) {
  for (const std::string& id : RegisteredEnvIds()) {
    auto made = MakeEnv(id);
    ASSERT_TRUE(made.ok());
    Env& env = **made;
    const EnvSpec& spec = env.spec();
    std::vector<float> obs(spec.obs_dim()), action(spec.action_dim());
    Rng rng(5);
    env.Reset(obs.data());
    const long before = AllocationCount();
    for (int t = 0; t < 3000; ++t) {
      RandomActions(spec, rng, &action);
      const StepResult r = env.Step(action.data(), obs.data());
      if (r.terminated || r.truncated) env.Reset(obs.data());
    }
    EXPECT_EQ(AllocationCount() - before, 0) << id;
  }
}

TEST(NoAllocTest, VectorEnvStepDoesNotAllocateWhenDrained) {
  for (const std::string& id : RegisteredEnvIds()) {
    auto made = VectorEnv::Create(id, 8, 1);
    ASSERT_TRUE(made.ok());
    VectorEnv& v = **made;
    std::vector<float> actions(8 * v.spec().action_dim());
    std::vector<EpisodeStat> stats;
    stats.reserve(4096);
    Rng rng(2);
    const long before = AllocationCount();
    for (int t = 0; t < 3000; ++t) {
      RandomActions(v.spec(), rng, &actions);
      v.Step(actions.data());
      v.TakeFinishedEpisodes(&stats);
      if (stats.size() > 4000) stats.clear();
    }
    EXPECT_EQ(AllocationCount() - before, 0) << id;
    EXPECT_GT(stats.size() + 0u, 0u) << id;
  }
}

}  // namespace
}  // namespace proxima
