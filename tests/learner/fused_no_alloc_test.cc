// The fused PPO kernel allocates nothing per minibatch: after Create(), a
// training step (forward, loss, backward, clipping, Adam) and a forward pass
// make no call to the global operator new (tests/support/allocation_counter.h).
// Also shows the engine runs without LibTorch: this binary links only
// proxima::fused.
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "learner/fused/ppo_kernel.h"
#include "tests/support/allocation_counter.h"

namespace proxima::fused {
namespace {

// Spaces built by hand: Space's factories live in proxima::envs.
Space Discrete(int n) {
  Space s;
  s.kind = Space::Kind::kDiscrete;
  s.n = n;
  return s;
}
Space Box(int dims) {
  Space s;
  s.kind = Space::Kind::kBox;
  s.low.assign(dims, -1.0f);
  s.high.assign(dims, 1.0f);
  return s;
}

template <typename T>
void CheckNoAllocation(const Space& head, bool shared) {
  ModelSpec spec;
  spec.shared_trunk = shared;
  auto layout = MakeMlpLayout(4, head, spec);
  ASSERT_TRUE(layout.ok()) << layout.status();
  auto kernel = PpoKernel<T>::Create(*layout, 128);
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  std::mt19937 rng(1);
  std::normal_distribution<double> normal(0, 0.3);
  std::vector<T> params(layout->total), grads(layout->total), m(layout->total), v(layout->total);
  for (T& p : params) p = static_cast<T>(normal(rng));
  const int n = 128;
  const int act_cols = head.is_discrete() ? 1 : layout->action_dim;
  std::vector<T> obs(n * 4), actions(n * act_cols), blp(n), adv(n), ret(n), oldv(n);
  for (T& x : obs) x = static_cast<T>(normal(rng));
  for (int i = 0; i < n * act_cols; ++i) {
    actions[i] = head.is_discrete() ? static_cast<T>(i % layout->action_dim)
                                    : static_cast<T>(normal(rng));
  }
  for (int i = 0; i < n; ++i) {
    blp[i] = static_cast<T>(-0.7 + normal(rng));
    adv[i] = static_cast<T>(normal(rng));
    ret[i] = static_cast<T>(normal(rng));
    oldv[i] = static_cast<T>(normal(rng));
  }
  MinibatchView<T> mb{n, obs.data(), actions.data(), blp.data(), adv.data(), ret.data(),
                      oldv.data()};
  int64_t steps = 0;
  FlatState<T> state{params.data(), grads.data(), m.data(), v.data(), &steps};
  std::vector<T> dist(n * layout->action_dim), values(n);
  const long before = proxima::testing::AllocationCount();
  for (int i = 0; i < 5; ++i) {
    auto r = kernel->TrainMinibatch(state, mb, LossOptions(), AdamOptions());
    ASSERT_TRUE(r.ok() && r->applied);
    ASSERT_TRUE(kernel->Forward(params.data(), obs.data(), n, dist.data(), values.data()).ok());
  }
  EXPECT_EQ(proxima::testing::AllocationCount() - before, 0);
  EXPECT_EQ(steps, 5);
}

TEST(FusedNoAllocTest, TrainingStepsAllocateNothing) {
  for (bool shared : {false, true}) {
    CheckNoAllocation<float>(Discrete(2), shared);
    CheckNoAllocation<float>(Box(3), shared);
    CheckNoAllocation<double>(Discrete(2), shared);
  }
}

}  // namespace
}  // namespace proxima::fused
