// Env::Step/Reset and VectorEnv::Step must not allocate. This file replaces the
// global operator new of the envs_test binary with a counting one.
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "common/envs/registry.h"
#include "common/envs/vector_env.h"
#include "common/rng.h"
#include "gtest/gtest.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace proxima {
namespace {

void RandomActions(const EnvSpec& spec, Rng& rng, std::vector<float>* a) {
  for (float& x : *a) {
    x = spec.action_space.is_discrete() ? static_cast<float>(rng.UniformInt(spec.action_space.n))
                                        : static_cast<float>(rng.Uniform(-3.0, 3.0));
  }
}

TEST(NoAllocTest, CountingOperatorNewIsActive) {
  const long before = g_allocations.load();
  std::vector<int>* v = new std::vector<int>(10);
  delete v;
  EXPECT_GE(g_allocations.load() - before, 2);
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
    const long before = g_allocations.load();
    for (int t = 0; t < 3000; ++t) {
      RandomActions(spec, rng, &action);
      const StepResult r = env.Step(action.data(), obs.data());
      if (r.terminated || r.truncated) env.Reset(obs.data());
    }
    EXPECT_EQ(g_allocations.load() - before, 0) << id;
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
    const long before = g_allocations.load();
    for (int t = 0; t < 3000; ++t) {
      RandomActions(v.spec(), rng, &actions);
      v.Step(actions.data());
      v.TakeFinishedEpisodes(&stats);
      if (stats.size() > 4000) stats.clear();
    }
    EXPECT_EQ(g_allocations.load() - before, 0) << id;
    EXPECT_GT(stats.size() + 0u, 0u) << id;
  }
}

}  // namespace
}  // namespace proxima
