// Batched remote-env sessions against the real Python env server
// (tests/python/python_env_server_fixture.h), part of remote_env_python_test:
// a VectorEnv over a remote id steps all its columns in one round trip and
// matches the C++ envs column by column, with the server's same-step
// auto-reset; one batched session equals one session per column; errors
// name the column.
#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "common/envs/cartpole.h"
#include "common/envs/pendulum.h"
#include "common/envs/vector_env.h"
#include "common/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/python/python_env_server_fixture.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::HasSubstr;

// Batched sessions: a VectorEnv over a remote id steps all its columns in one
// round trip, the server auto-resetting in the same step. Checked column by
// column against the C++ env, which is put back to `state` whenever an
// episode ends (every remote reset starts there through initial_state):
// final_obs holds the step's observation, obs the next episode's first, and
// rewards and flags are the C++ env's. Returns {terminations, truncations}.
std::pair<int, int> CompareBatchedColumns(
    VectorEnv& remote, const std::function<std::unique_ptr<Env>()>& make_local,
    const std::vector<double>& state, int steps,
    const std::function<float(const float* obs, int column)>& policy) {
  const int n = remote.num_envs();
  const int dim = remote.spec().obs_dim();
  std::vector<std::unique_ptr<Env>> local;
  std::vector<float> start(dim), lo(dim);
  for (int i = 0; i < n; ++i) {
    local.push_back(make_local());
    EXPECT_TRUE(local.back()->SetState(state).ok());
  }
  // Every column starts at `state`: its observation is row 0 of the first.
  for (int i = 0; i < n * dim; ++i) EXPECT_EQ(remote.obs()[i], remote.obs()[i % dim]);
  std::copy(remote.obs().begin(), remote.obs().begin() + dim, start.begin());
  std::pair<int, int> ended{0, 0};
  std::vector<float> actions(static_cast<size_t>(n) * remote.spec().action_dim());
  for (int t = 1; t <= steps; ++t) {
    for (int i = 0; i < n; ++i) {
      std::fill_n(actions.begin() + i * remote.spec().action_dim(), remote.spec().action_dim(),
                  policy(remote.obs().data() + i * dim, i));
    }
    remote.Step(actions.data());
    EXPECT_TRUE(remote.status().ok()) << remote.status();
    for (int i = 0; i < n; ++i) {
      const StepResult l =
          local[i]->Step(actions.data() + i * remote.spec().action_dim(), lo.data());
      for (int j = 0; j < dim; ++j) {
        EXPECT_NEAR(lo[j], remote.final_obs()[i * dim + j], 1e-5) << "t=" << t << " i=" << i;
      }
      EXPECT_NEAR(remote.rewards()[i], static_cast<float>(l.reward), 1e-6) << "t=" << t;
      EXPECT_EQ(remote.terminated()[i], l.terminated ? 1 : 0) << "t=" << t << " i=" << i;
      EXPECT_EQ(remote.truncated()[i], l.truncated ? 1 : 0) << "t=" << t << " i=" << i;
      const float* next = remote.obs().data() + i * dim;
      if (l.terminated || l.truncated) {
        (l.truncated && !l.terminated ? ended.second : ended.first) += 1;
        EXPECT_TRUE(local[i]->SetState(state).ok());
        local[i]->set_elapsed_steps(0);
        for (int j = 0; j < dim; ++j) EXPECT_EQ(next[j], start[j]) << "t=" << t << " i=" << i;
      } else {
        for (int j = 0; j < dim; ++j) EXPECT_EQ(next[j], lo[j]) << "t=" << t << " i=" << i;
      }
    }
    if (::testing::Test::HasFailure()) break;
  }
  return ended;
}

TEST_F(RemotePythonEnvTest, BatchedCartPoleColumnsMatchTheCppCartPole) {
  const std::vector<double> state = {0.01, -0.02, 0.03, 0.04};
  auto remote = VectorEnv::Create(Id("CartPole-v1", StateOption(state)), 16, 1);
  ASSERT_TRUE(remote.ok()) << remote.status() << "\n" << server_->Log();
  EXPECT_EQ((*remote)->batched_sessions(), 1);
  Rng rng(9);
  // Even columns balance (the 500-step time limit truncates), odd ones act
  // at random (the pole falls).
  const std::pair<int, int> ended = CompareBatchedColumns(
      **remote, [] { return std::make_unique<CartPole>(); }, state, 520,
      [&rng](const float* o, int i) {
        if (i % 2 == 1) return static_cast<float>(rng.UniformInt(2));
        return o[2] + 0.5f * o[3] > 0 ? 1.0f : 0.0f;
      });
  EXPECT_GT(ended.first, 8 * 10);  // random episodes last ~20 steps
  EXPECT_EQ(ended.second, 8);      // each balancing column once, at t = 500
}

TEST_F(RemotePythonEnvTest, BatchedPendulumColumnsMatchTheCppPendulum) {
  const std::vector<double> state = {2.5, -0.7};
  VectorEnvOptions two_sessions;
  two_sessions.remote_columns_per_session = 2;
  auto remote = VectorEnv::Create(Id("Pendulum-v1", StateOption(state)), 3, 1, two_sessions);
  ASSERT_TRUE(remote.ok()) << remote.status();
  EXPECT_EQ((*remote)->batched_sessions(), 2);  // columns {0, 1} and {2}
  Rng rng(2);
  // Actions up to ±3 on a ±2 Box: both envs clip.
  const std::pair<int, int> ended = CompareBatchedColumns(
      **remote, [] { return std::make_unique<Pendulum>(); }, state, 410,
      [&rng](const float*, int) { return static_cast<float>(rng.Uniform(-3.0, 3.0)); });
  EXPECT_EQ(ended, std::make_pair(0, 6));  // the 200-step limit, twice per column
}

// Seeded RNG resets: one batched session gives exactly what one single-env
// session per column gives (column i seeded env_seed_base + i, auto-resets
// continuing each column's RNG), episode statistics included.
TEST_F(RemotePythonEnvTest, BatchedSessionEqualsOneSessionPerColumn) {
  VectorEnvOptions unbatched;
  unbatched.remote_batched = false;
  auto batched = VectorEnv::Create(Id("CartPole-v1"), 8, 5);
  auto single = VectorEnv::Create(Id("CartPole-v1"), 8, 5, unbatched);
  ASSERT_TRUE(batched.ok() && single.ok());
  EXPECT_EQ((*batched)->batched_sessions(), 1);
  EXPECT_EQ((*single)->batched_sessions(), 0);
  auto same = [&](absl::Span<const float> a, absl::Span<const float> b) {
    return std::vector<float>(a.begin(), a.end()) == std::vector<float>(b.begin(), b.end());
  };
  EXPECT_TRUE(same((*batched)->obs(), (*single)->obs()));
  Rng rng(4);
  std::vector<float> actions(8);
  std::vector<EpisodeStat> a, b;
  for (int t = 0; t < 200; ++t) {
    for (float& x : actions) x = static_cast<float>(rng.UniformInt(2));
    (*batched)->Step(actions.data());
    (*single)->Step(actions.data());
    ASSERT_TRUE(same((*batched)->obs(), (*single)->obs())) << "t=" << t;
    ASSERT_TRUE(same((*batched)->final_obs(), (*single)->final_obs())) << "t=" << t;
    ASSERT_TRUE(same((*batched)->rewards(), (*single)->rewards())) << "t=" << t;
    ASSERT_EQ(std::vector<uint8_t>((*batched)->terminated().begin(),
                                   (*batched)->terminated().end()),
              std::vector<uint8_t>((*single)->terminated().begin(),
                                   (*single)->terminated().end()));
  }
  (*batched)->TakeFinishedEpisodes(&a);
  (*single)->TakeFinishedEpisodes(&b);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_GT(a.size(), 40u);
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].env_index, b[k].env_index);
    EXPECT_EQ(a[k].length, b[k].length);
  }
}

TEST_F(RemotePythonEnvTest, BatchedErrorsReachTheCppSideNamingTheColumn) {
  auto broken = VectorEnv::Create(Id("Broken-v0", "fail_after=2"), 4, 1);
  ASSERT_TRUE(broken.ok()) << broken.status();
  const std::vector<float> actions(4, 1.0f);
  (*broken)->Step(actions.data());
  (*broken)->Step(actions.data());
  EXPECT_TRUE((*broken)->status().ok()) << (*broken)->status();
  (*broken)->Step(actions.data());
  EXPECT_THAT((*broken)->status(),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("column 0: raised in step: RuntimeError: the simulator crashed "
                                 "at step 3")));
  EXPECT_THAT((*broken)->status().message(), HasSubstr(server_->address));
  for (int i = 0; i < 4; ++i) EXPECT_EQ((*broken)->terminated()[i], 1);

  auto pendulum = VectorEnv::Create(Id("Pendulum-v1"), 2, 1);
  ASSERT_TRUE(pendulum.ok()) << pendulum.status();
  const std::vector<float> nan_action = {0.5f, std::nanf("")};
  (*pendulum)->Step(nan_action.data());
  EXPECT_THAT((*pendulum)->status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("column 1: the action has non-finite values")));
}

}  // namespace
}  // namespace proxima
