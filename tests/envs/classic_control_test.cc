// Spec, determinism, reset-distribution and TimeLimit tests for every
// classic-control env, through the registry.
#include <cctype>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/envs/env.h"
#include "common/envs/mujoco/mujoco_registry.h"
#include "common/envs/registry.h"
#include "common/rng.h"
#include "gtest/gtest.h"

namespace proxima {
namespace {

constexpr double kPi = 3.141592653589793;

std::unique_ptr<Env> MustMake(const std::string& id) {
  auto env = MakeEnv(id);
  EXPECT_TRUE(env.ok()) << env.status();
  return env.ok() ? std::move(*env) : nullptr;
}

void ExpectBox(const Space& s, const std::vector<float>& low, const std::vector<float>& high) {
  ASSERT_FALSE(s.is_discrete());
  EXPECT_EQ(s.low, low);
  EXPECT_EQ(s.high, high);
}

void ExpectDiscrete(const Space& s, int n) {
  ASSERT_TRUE(s.is_discrete());
  EXPECT_EQ(s.n, n);
}

// The TimeLimit, Gymnasium's reward threshold (none if nullopt) and the size
// of the internal state.
void ExpectLimits(const EnvSpec& spec, int max_episode_steps, std::optional<double> threshold,
                  int state_dim) {
  EXPECT_EQ(spec.max_episode_steps, max_episode_steps);
  EXPECT_EQ(spec.has_reward_threshold, threshold.has_value());
  if (threshold.has_value()) {
    EXPECT_EQ(spec.reward_threshold, *threshold);
  }
  EXPECT_EQ(spec.state_dim, state_dim);
}

TEST(ClassicControlSpecTest, CartPole) {
  const EnvSpec spec = *GetEnvSpec("CartPole-v1");
  const float fmax = std::numeric_limits<float>::max();
  const float th = static_cast<float>(2 * 12 * 2 * kPi / 360);
  ExpectBox(spec.observation_space, {-4.8f, -fmax, -th, -fmax}, {4.8f, fmax, th, fmax});
  EXPECT_FLOAT_EQ(th, 0.41887903f);
  ExpectDiscrete(spec.action_space, 2);
  ExpectLimits(spec, 500, 475.0, 4);
  EXPECT_EQ(spec.obs_dim(), 4);
  EXPECT_EQ(spec.action_dim(), 1);
}

TEST(ClassicControlSpecTest, Acrobot) {
  const EnvSpec spec = *GetEnvSpec("Acrobot-v1");
  const float v1 = static_cast<float>(4 * kPi), v2 = static_cast<float>(9 * kPi);
  ExpectBox(spec.observation_space, {-1, -1, -1, -1, -v1, -v2}, {1, 1, 1, 1, v1, v2});
  ExpectDiscrete(spec.action_space, 3);
  ExpectLimits(spec, 500, -100.0, 4);
  EXPECT_EQ(spec.obs_dim(), 6);
}

TEST(ClassicControlSpecTest, MountainCar) {
  const EnvSpec spec = *GetEnvSpec("MountainCar-v0");
  ExpectBox(spec.observation_space, {-1.2f, -0.07f}, {0.6f, 0.07f});
  ExpectDiscrete(spec.action_space, 3);
  ExpectLimits(spec, 200, -110.0, 2);
}

TEST(ClassicControlSpecTest, MountainCarContinuous) {
  const EnvSpec spec = *GetEnvSpec("MountainCarContinuous-v0");
  ExpectBox(spec.observation_space, {-1.2f, -0.07f}, {0.6f, 0.07f});
  ExpectBox(spec.action_space, {-1.0f}, {1.0f});
  ExpectLimits(spec, 999, 90.0, 2);
  EXPECT_EQ(spec.action_dim(), 1);
}

TEST(ClassicControlSpecTest, Pendulum) {
  const EnvSpec spec = *GetEnvSpec("Pendulum-v1");
  ExpectBox(spec.observation_space, {-1, -1, -8}, {1, 1, 8});
  ExpectBox(spec.action_space, {-2.0f}, {2.0f});
  ExpectLimits(spec, 200, std::nullopt, 2);
  EXPECT_EQ(spec.obs_dim(), 3);
}

class EveryEnvTest : public ::testing::TestWithParam<std::string> {};

// The registered ids that are not MuJoCo's (those: mujoco_envs_test).
std::vector<std::string> ClassicControlIds() {
  std::vector<std::string> ids;
  for (const std::string& id : RegisteredEnvIds()) {
    if (!IsMujocoEnvId(id)) ids.push_back(id);
  }
  return ids;
}

INSTANTIATE_TEST_SUITE_P(ClassicControl, EveryEnvTest, ::testing::ValuesIn(ClassicControlIds()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name;
                           for (char c : info.param) {
                             if (std::isalnum(static_cast<unsigned char>(c))) name += c;
                           }
                           return name;
                         });

// A random action of `spec`'s action space, with continuous actions drawn
// beyond the bounds to exercise clipping.
void RandomAction(const EnvSpec& spec, Rng& rng, std::vector<float>* a) {
  a->resize(spec.action_dim());
  if (spec.action_space.is_discrete()) {
    (*a)[0] = static_cast<float>(rng.UniformInt(spec.action_space.n));
    return;
  }
  for (int i = 0; i < spec.action_dim(); ++i) {
    (*a)[i] = static_cast<float>(
        rng.Uniform(1.5 * spec.action_space.low[i], 1.5 * spec.action_space.high[i]));
  }
}

// Observations of `steps` steps with random actions (auto-reset on episode end).
std::vector<float> Rollout(Env& env, uint64_t seed, int steps) {
  const EnvSpec& spec = env.spec();
  env.Seed(seed);
  Rng action_rng(1234);
  std::vector<float> trace, obs(spec.obs_dim()), action;
  env.Reset(obs.data());
  trace.insert(trace.end(), obs.begin(), obs.end());
  for (int t = 0; t < steps; ++t) {
    RandomAction(spec, action_rng, &action);
    const StepResult r = env.Step(action.data(), obs.data());
    trace.insert(trace.end(), obs.begin(), obs.end());
    trace.push_back(static_cast<float>(r.reward));
    if (r.terminated || r.truncated) env.Reset(obs.data());
  }
  return trace;
}

TEST_P(EveryEnvTest, SameSeedSameEpisodesDifferentSeedDiffers) {
  auto env = MustMake(GetParam());
  ASSERT_NE(env, nullptr);
  const std::vector<float> a = Rollout(*env, 5, 600);
  const std::vector<float> b = Rollout(*env, 5, 600);
  const std::vector<float> c = Rollout(*env, 6, 600);
  EXPECT_EQ(a, b);
  ASSERT_EQ(a.size(), c.size());
  EXPECT_NE(a, c);
  // A second env instance with the same seed agrees too.
  auto other = MustMake(GetParam());
  EXPECT_EQ(Rollout(*other, 5, 600), a);
}

TEST_P(EveryEnvTest, ObservationsStayInObservationSpace) {
  auto env = MustMake(GetParam());
  ASSERT_NE(env, nullptr);
  const EnvSpec& spec = env->spec();
  const std::vector<float> trace = Rollout(*env, 11, 2000);
  // Rollout interleaves obs rows with a reward after each step.
  size_t pos = 0;
  EXPECT_TRUE(spec.observation_space.Contains(absl::MakeConstSpan(&trace[pos], spec.obs_dim())));
  pos += spec.obs_dim();
  while (pos < trace.size()) {
    ASSERT_TRUE(spec.observation_space.Contains(absl::MakeConstSpan(&trace[pos], spec.obs_dim())))
        << "at float offset " << pos;
    pos += spec.obs_dim() + 1;
  }
}

TEST_P(EveryEnvTest, ResetZeroesElapsedStepsAndStateMatchesObservation) {
  auto env = MustMake(GetParam());
  ASSERT_NE(env, nullptr);
  const EnvSpec& spec = env->spec();
  std::vector<float> obs(spec.obs_dim()), action(spec.action_dim(), 0.0f);
  env->Reset(obs.data());
  env->Step(action.data(), obs.data());
  env->Step(action.data(), obs.data());
  EXPECT_EQ(env->elapsed_steps(), 2);
  env->Reset(obs.data());
  EXPECT_EQ(env->elapsed_steps(), 0);
  std::vector<double> state(spec.state_dim);
  env->GetState(state.data());
  ASSERT_TRUE(env->SetState(state).ok());
  std::vector<double> again(spec.state_dim);
  env->GetState(again.data());
  EXPECT_EQ(state, again);
  EXPECT_FALSE(env->SetState(std::vector<double>(spec.state_dim + 1, 0.0)).ok());
}

TEST_P(EveryEnvTest, TruncatesAtExactlyMaxEpisodeSteps) {
  auto env = MustMake(GetParam());
  ASSERT_NE(env, nullptr);
  const EnvSpec& spec = env->spec();
  std::vector<float> obs(spec.obs_dim());
  // A calm action: no push for the discrete envs with a "do nothing" choice.
  std::vector<float> action(spec.action_dim(), 0.0f);
  if (spec.action_space.is_discrete() && spec.action_space.n == 3) action[0] = 1.0f;
  env->Seed(3);
  env->Reset(obs.data());
  env->set_elapsed_steps(spec.max_episode_steps - 3);
  for (int i = 1; i <= 3; ++i) {
    const StepResult r = env->Step(action.data(), obs.data());
    EXPECT_FALSE(r.terminated);
    EXPECT_EQ(r.truncated, i == 3) << "step " << i;
  }
  if (spec.id == "CartPole-v1") return;  // falls over long before 500 steps
  env->Reset(obs.data());
  for (int t = 1; t <= spec.max_episode_steps; ++t) {
    const StepResult r = env->Step(action.data(), obs.data());
    ASSERT_FALSE(r.terminated) << "step " << t;
    ASSERT_EQ(r.truncated, t == spec.max_episode_steps) << "step " << t;
  }
}

// Every reset state lies inside Gymnasium's reset box, and the draws actually
// spread over it (a constant or a narrower box would fail).
TEST_P(EveryEnvTest, ResetDistributionMatchesGymnasium) {
  auto env = MustMake(GetParam());
  ASSERT_NE(env, nullptr);
  const EnvSpec& spec = env->spec();
  std::vector<double> lo, hi;
  if (spec.id == "CartPole-v1") {
    lo.assign(4, -0.05), hi.assign(4, 0.05);
  } else if (spec.id == "Acrobot-v1") {
    lo.assign(4, -0.1), hi.assign(4, 0.1);
  } else if (spec.id == "MountainCar-v0" || spec.id == "MountainCarContinuous-v0") {
    lo = {-0.6, 0.0}, hi = {-0.4, 0.0};
  } else if (spec.id == "Pendulum-v1") {
    lo = {-kPi, -1.0}, hi = {kPi, 1.0};
  } else {
    FAIL() << "no reset box for " << spec.id;
  }
  env->Seed(99);
  std::vector<float> obs(spec.obs_dim());
  std::vector<double> state(spec.state_dim);
  std::vector<double> mn(spec.state_dim, 1e9), mx(spec.state_dim, -1e9), sum(spec.state_dim, 0);
  const int n = 5000;
  for (int k = 0; k < n; ++k) {
    env->Reset(obs.data());
    env->GetState(state.data());
    for (int i = 0; i < spec.state_dim; ++i) {
      ASSERT_GE(state[i], lo[i]) << "dim " << i;
      ASSERT_LE(state[i], hi[i]) << "dim " << i;
      mn[i] = std::min(mn[i], state[i]);
      mx[i] = std::max(mx[i], state[i]);
      sum[i] += state[i];
    }
  }
  for (int i = 0; i < spec.state_dim; ++i) {
    const double width = hi[i] - lo[i];
    EXPECT_LE(mn[i], lo[i] + 0.01 * width) << "dim " << i;
    EXPECT_GE(mx[i], hi[i] - 0.01 * width) << "dim " << i;
    EXPECT_NEAR(sum[i] / n, (lo[i] + hi[i]) / 2, 0.05 * width + 1e-12) << "dim " << i;
  }
}

}  // namespace
}  // namespace proxima
