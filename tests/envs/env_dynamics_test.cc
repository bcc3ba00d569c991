// Hand-checked Gymnasium semantics of single steps: clipping, termination
// rewards, walls, angle handling. The golden replay test checks the bulk.
#include <cmath>
#include <vector>

#include "absl/status/status.h"
#include "common/envs/acrobot.h"
#include "common/envs/cartpole.h"
#include "common/envs/mountain_car.h"
#include "common/envs/mountain_car_continuous.h"
#include "common/envs/pendulum.h"
#include "gtest/gtest.h"

namespace proxima {
namespace {

constexpr double kPi = 3.141592653589793;

std::vector<double> StateOf(const Env& env) {
  std::vector<double> s(env.spec().state_dim);
  env.GetState(s.data());
  return s;
}

// What one step left behind.
struct Stepped {
  StepResult r;
  std::vector<double> state;
  std::vector<float> obs;
};

// One step of `env` with the single-float action `action`.
Stepped StepWith(Env& env, float action) {
  Stepped s;
  s.obs.resize(env.spec().obs_dim());
  s.r = env.Step(&action, s.obs.data());
  s.state = StateOf(env);
  return s;
}

// Sets `env` to `state`, then steps it once with `action`.
Stepped StepFrom(Env& env, const std::vector<double>& state, float action) {
  const absl::Status set = env.SetState(state);
  EXPECT_TRUE(set.ok()) << set;
  return StepWith(env, action);
}

TEST(CartPoleTest, EulerStepFromRest) {
  CartPole env;
  const float push_right = 1.0f;
  const Stepped st = StepFrom(env, {0.0, 0.0, 0.0, 0.0}, push_right);
  // Euler: positions move with the OLD velocities (zero), velocities by tau*acc.
  const std::vector<double>& s = st.state;
  EXPECT_EQ(s[0], 0.0);
  EXPECT_NEAR(s[1], 0.1951219512195122, 1e-15);
  EXPECT_EQ(s[2], 0.0);
  EXPECT_NEAR(s[3], -0.2926829268292683, 1e-15);
  EXPECT_EQ(st.obs[1], static_cast<float>(s[1]));
  EXPECT_EQ(st.r.reward, 1.0);
  EXPECT_FALSE(st.r.terminated);
  EXPECT_FALSE(st.r.truncated);
}

TEST(CartPoleTest, TerminatingStepPaysOneThenZeroAfterwards) {
  CartPole env;
  const float left = 0.0f;
  StepResult r = StepFrom(env, {2.39, 1.0, 0.0, 0.0}, left).r;
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, 1.0);
  r = StepWith(env, left).r;
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, 0.0);
  float obs[4];
  env.Reset(obs);  // a new episode pays again
  EXPECT_EQ(StepFrom(env, {2.39, 1.0, 0.0, 0.0}, left).r.reward, 1.0);
}

TEST(CartPoleTest, TerminatedAndTruncatedTogetherOnLastStep) {
  CartPole env;
  float obs[4];
  env.Reset(obs);
  ASSERT_TRUE(env.SetState({0.0, 0.0, 0.2, 2.0}).ok());  // theta -> 0.24 > 0.2094
  env.set_elapsed_steps(499);
  const StepResult r = StepWith(env, 1.0f).r;
  EXPECT_TRUE(r.terminated);
  EXPECT_TRUE(r.truncated);
}

TEST(AcrobotTest, HangingAtRestStaysAtRest) {
  Acrobot env;
  const float no_torque = 1.0f;
  const Stepped st = StepFrom(env, {0.0, 0.0, 0.0, 0.0}, no_torque);
  // cos(-pi/2) in the gravity terms is 6e-17, not 0: the state only drifts by that.
  for (double v : st.state) EXPECT_NEAR(v, 0.0, 1e-14);
  EXPECT_EQ(st.r.reward, -1.0);
  EXPECT_FALSE(st.r.terminated);
  const float expected[6] = {1, 0, 1, 0, 0, 0};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(st.obs[i], expected[i], 1e-14) << i;
}

TEST(AcrobotTest, TorqueSignFollowsAction) {
  Acrobot env;
  const float plus = 2.0f, minus = 0.0f;
  // +1 torque accelerates joint 2 positively.
  EXPECT_GT(StepFrom(env, {0.0, 0.0, 0.0, 0.0}, plus).state[3], 0.0);
  EXPECT_LT(StepFrom(env, {0.0, 0.0, 0.0, 0.0}, minus).state[3], 0.0);
}

TEST(AcrobotTest, UprightIsTerminalWithZeroReward) {
  Acrobot env;
  const StepResult r = StepFrom(env, {kPi, 0.0, 0.0, 0.0}, 1.0f).r;
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, 0.0);
}

TEST(AcrobotTest, WrapsAnglesToMinusPiPi) {
  Acrobot env;
  const Stepped st = StepFrom(env, {kPi - 0.01, 0.0, 0.5, 0.0}, 1.0f);
  const std::vector<double>& s = st.state;
  EXPECT_GE(s[0], -kPi);
  EXPECT_LT(s[0], -kPi + 0.2);  // passed +pi and came back around
  EXPECT_GE(s[1], -kPi);
  EXPECT_LE(s[1], kPi);
  EXPECT_NEAR(st.obs[0], std::cos(s[0]), 1e-7);
  EXPECT_NEAR(st.obs[1], std::sin(s[0]), 1e-7);
}

TEST(AcrobotTest, BoundsVelocities) {
  Acrobot env;
  const Stepped st = StepFrom(env, {0.3, -0.2, 100.0, -100.0}, 2.0f);
  const std::vector<double>& s = st.state;
  EXPECT_EQ(std::abs(s[2]), 4 * kPi);
  EXPECT_EQ(std::abs(s[3]), 9 * kPi);
  EXPECT_EQ(std::abs(st.obs[4]), static_cast<float>(4 * kPi));
  EXPECT_EQ(std::abs(st.obs[5]), static_cast<float>(9 * kPi));
  for (int i = 0; i < 2; ++i) {
    EXPECT_GE(s[i], -kPi);
    EXPECT_LE(s[i], kPi);
  }
}

TEST(MountainCarTest, LeftWallStopsTheCar) {
  MountainCar env;
  const float left = 0.0f;
  const Stepped st = StepFrom(env, {-1.2, -0.07}, left);
  EXPECT_EQ(st.state, std::vector<double>({-1.2, 0.0}));
  EXPECT_EQ(st.r.reward, -1.0);
}

TEST(MountainCarTest, OneStepByHandAndGoal) {
  MountainCar env;
  const float right = 2.0f;
  const Stepped st = StepFrom(env, {-0.5, 0.0}, right);
  const double v = 0.001 + std::cos(-1.5) * -0.0025;
  EXPECT_DOUBLE_EQ(st.state[1], v);
  EXPECT_DOUBLE_EQ(st.state[0], -0.5 + v);
  const StepResult r = StepFrom(env, {0.49, 0.02}, right).r;
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, -1.0);
}

TEST(MountainCarContinuousTest, ClipsForceButChargesUnclippedAction) {
  MountainCarContinuous a_env, b_env;
  const float big = 5.0f, one = 1.0f;
  const Stepped a = StepFrom(a_env, {-0.5, 0.01}, big);
  const Stepped b = StepFrom(b_env, {-0.5, 0.01}, one);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.obs[0], b.obs[0]);
  EXPECT_EQ(a.obs[1], b.obs[1]);
  EXPECT_DOUBLE_EQ(a.r.reward, -2.5);
  EXPECT_DOUBLE_EQ(b.r.reward, -0.1);
  const float neg = -3.0f, minus_one = -1.0f;
  EXPECT_EQ(StepWith(a_env, neg).state, StepWith(b_env, minus_one).state);
}

TEST(MountainCarContinuousTest, StateIsRoundedToFloatAfterEachStep) {
  MountainCarContinuous env;
  for (double v : StepFrom(env, {-0.4749809066790666, 0.0}, 0.3f).state) {
    EXPECT_EQ(v, static_cast<double>(static_cast<float>(v)));
  }
}

TEST(MountainCarContinuousTest, GoalPaysHundredMinusActionCost) {
  MountainCarContinuous env;
  const StepResult r = StepFrom(env, {0.44, 0.05}, 2.0f).r;
  EXPECT_TRUE(r.terminated);
  EXPECT_DOUBLE_EQ(r.reward, 100.0 - 0.4);
}

TEST(PendulumTest, OneStepByHand) {
  Pendulum env;
  const Stepped st = StepFrom(env, {0.0, 0.0}, 2.0f);
  EXPECT_DOUBLE_EQ(st.r.reward, -0.004);
  EXPECT_DOUBLE_EQ(st.state[1], 0.3);
  EXPECT_DOUBLE_EQ(st.state[0], 0.015);
  EXPECT_FLOAT_EQ(st.obs[0], static_cast<float>(std::cos(0.015)));
  EXPECT_FLOAT_EQ(st.obs[1], static_cast<float>(std::sin(0.015)));
  EXPECT_FLOAT_EQ(st.obs[2], 0.3f);
  EXPECT_FALSE(st.r.terminated);
}

TEST(PendulumTest, ClipsTorqueForDynamicsAndCost) {
  for (float big : {10.0f, -7.5f}) {
    Pendulum a_env, b_env;
    const float clipped = big > 0 ? 2.0f : -2.0f;
    const Stepped a = StepFrom(a_env, {1.0, -0.5}, big);
    const Stepped b = StepFrom(b_env, {1.0, -0.5}, clipped);
    EXPECT_EQ(a.r.reward, b.r.reward) << big;
    EXPECT_EQ(a.state, b.state) << big;
  }
}

TEST(PendulumTest, SpeedIsClippedAndAngleIsNotWrapped) {
  Pendulum env;
  const Stepped st = StepFrom(env, {3.1, 7.99}, 2.0f);
  EXPECT_EQ(st.state[1], 8.0);
  EXPECT_DOUBLE_EQ(st.state[0], 3.5);  // beyond pi; only the cost normalizes it
  EXPECT_EQ(st.obs[2], 8.0f);
}

TEST(PendulumTest, AngleNormalizeUsesFloorModulo) {
  EXPECT_NEAR(PendulumAngleNormalize(-3.5), -3.5 + 2 * kPi, 1e-12);
  EXPECT_NEAR(PendulumAngleNormalize(3.5), 3.5 - 2 * kPi, 1e-12);
  EXPECT_NEAR(PendulumAngleNormalize(0.25), 0.25, 1e-15);
  EXPECT_NEAR(PendulumAngleNormalize(-7.0), -7.0 + 2 * kPi, 1e-12);
  EXPECT_NEAR(PendulumAngleNormalize(13.0), 13.0 - 4 * kPi, 1e-12);
  EXPECT_NEAR(PendulumAngleNormalize(kPi), -kPi, 1e-12);  // [-pi, pi)
}

}  // namespace
}  // namespace proxima
