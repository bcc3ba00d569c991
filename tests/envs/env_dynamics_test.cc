// Hand-checked Gymnasium semantics of single steps: clipping, termination
// rewards, walls, angle handling. The golden replay test checks the bulk.
#include <cmath>
#include <vector>

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

TEST(CartPoleTest, EulerStepFromRest) {
  CartPole env;
  ASSERT_TRUE(env.SetState({0.0, 0.0, 0.0, 0.0}).ok());
  float obs[4];
  const float push_right = 1.0f;
  const StepResult r = env.Step(&push_right, obs);
  // Euler: positions move with the OLD velocities (zero), velocities by tau*acc.
  const std::vector<double> s = StateOf(env);
  EXPECT_EQ(s[0], 0.0);
  EXPECT_NEAR(s[1], 0.1951219512195122, 1e-15);
  EXPECT_EQ(s[2], 0.0);
  EXPECT_NEAR(s[3], -0.2926829268292683, 1e-15);
  EXPECT_EQ(obs[1], static_cast<float>(s[1]));
  EXPECT_EQ(r.reward, 1.0);
  EXPECT_FALSE(r.terminated);
  EXPECT_FALSE(r.truncated);
}

TEST(CartPoleTest, TerminatingStepPaysOneThenZeroAfterwards) {
  CartPole env;
  ASSERT_TRUE(env.SetState({2.39, 1.0, 0.0, 0.0}).ok());
  float obs[4];
  const float left = 0.0f;
  StepResult r = env.Step(&left, obs);
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, 1.0);
  r = env.Step(&left, obs);
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, 0.0);
  env.Reset(obs);  // a new episode pays again
  ASSERT_TRUE(env.SetState({2.39, 1.0, 0.0, 0.0}).ok());
  EXPECT_EQ(env.Step(&left, obs).reward, 1.0);
}

TEST(CartPoleTest, TerminatedAndTruncatedTogetherOnLastStep) {
  CartPole env;
  float obs[4];
  env.Reset(obs);
  ASSERT_TRUE(env.SetState({0.0, 0.0, 0.2, 2.0}).ok());  // theta -> 0.24 > 0.2094
  env.set_elapsed_steps(499);
  const float a = 1.0f;
  const StepResult r = env.Step(&a, obs);
  EXPECT_TRUE(r.terminated);
  EXPECT_TRUE(r.truncated);
}

TEST(AcrobotTest, HangingAtRestStaysAtRest) {
  Acrobot env;
  ASSERT_TRUE(env.SetState({0.0, 0.0, 0.0, 0.0}).ok());
  float obs[6];
  const float no_torque = 1.0f;
  const StepResult r = env.Step(&no_torque, obs);
  // cos(-pi/2) in the gravity terms is 6e-17, not 0: the state only drifts by that.
  for (double v : StateOf(env)) EXPECT_NEAR(v, 0.0, 1e-14);
  EXPECT_EQ(r.reward, -1.0);
  EXPECT_FALSE(r.terminated);
  const float expected[6] = {1, 0, 1, 0, 0, 0};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(obs[i], expected[i], 1e-14) << i;
}

TEST(AcrobotTest, TorqueSignFollowsAction) {
  Acrobot env;
  float obs[6];
  ASSERT_TRUE(env.SetState({0.0, 0.0, 0.0, 0.0}).ok());
  const float plus = 2.0f, minus = 0.0f;
  env.Step(&plus, obs);
  EXPECT_GT(StateOf(env)[3], 0.0);  // +1 torque accelerates joint 2 positively
  ASSERT_TRUE(env.SetState({0.0, 0.0, 0.0, 0.0}).ok());
  env.Step(&minus, obs);
  EXPECT_LT(StateOf(env)[3], 0.0);
}

TEST(AcrobotTest, UprightIsTerminalWithZeroReward) {
  Acrobot env;
  ASSERT_TRUE(env.SetState({kPi, 0.0, 0.0, 0.0}).ok());
  float obs[6];
  const float a = 1.0f;
  const StepResult r = env.Step(&a, obs);
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, 0.0);
}

TEST(AcrobotTest, WrapsAnglesToMinusPiPi) {
  Acrobot env;
  ASSERT_TRUE(env.SetState({kPi - 0.01, 0.0, 0.5, 0.0}).ok());
  float obs[6];
  const float a = 1.0f;
  env.Step(&a, obs);
  const std::vector<double> s = StateOf(env);
  EXPECT_GE(s[0], -kPi);
  EXPECT_LT(s[0], -kPi + 0.2);  // passed +pi and came back around
  EXPECT_GE(s[1], -kPi);
  EXPECT_LE(s[1], kPi);
  EXPECT_NEAR(obs[0], std::cos(s[0]), 1e-7);
  EXPECT_NEAR(obs[1], std::sin(s[0]), 1e-7);
}

TEST(AcrobotTest, BoundsVelocities) {
  Acrobot env;
  ASSERT_TRUE(env.SetState({0.3, -0.2, 100.0, -100.0}).ok());
  float obs[6];
  const float a = 2.0f;
  env.Step(&a, obs);
  const std::vector<double> s = StateOf(env);
  EXPECT_EQ(std::abs(s[2]), 4 * kPi);
  EXPECT_EQ(std::abs(s[3]), 9 * kPi);
  EXPECT_EQ(std::abs(obs[4]), static_cast<float>(4 * kPi));
  EXPECT_EQ(std::abs(obs[5]), static_cast<float>(9 * kPi));
  for (int i = 0; i < 2; ++i) {
    EXPECT_GE(s[i], -kPi);
    EXPECT_LE(s[i], kPi);
  }
}

TEST(MountainCarTest, LeftWallStopsTheCar) {
  MountainCar env;
  ASSERT_TRUE(env.SetState({-1.2, -0.07}).ok());
  float obs[2];
  const float left = 0.0f;
  const StepResult r = env.Step(&left, obs);
  EXPECT_EQ(StateOf(env), std::vector<double>({-1.2, 0.0}));
  EXPECT_EQ(r.reward, -1.0);
}

TEST(MountainCarTest, OneStepByHandAndGoal) {
  MountainCar env;
  ASSERT_TRUE(env.SetState({-0.5, 0.0}).ok());
  float obs[2];
  const float right = 2.0f;
  env.Step(&right, obs);
  const double v = 0.001 + std::cos(-1.5) * -0.0025;
  EXPECT_DOUBLE_EQ(StateOf(env)[1], v);
  EXPECT_DOUBLE_EQ(StateOf(env)[0], -0.5 + v);
  ASSERT_TRUE(env.SetState({0.49, 0.02}).ok());
  const StepResult r = env.Step(&right, obs);
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, -1.0);
}

TEST(MountainCarContinuousTest, ClipsForceButChargesUnclippedAction) {
  MountainCarContinuous a_env, b_env;
  ASSERT_TRUE(a_env.SetState({-0.5, 0.01}).ok());
  ASSERT_TRUE(b_env.SetState({-0.5, 0.01}).ok());
  float obs_a[2], obs_b[2];
  const float big = 5.0f, one = 1.0f;
  const StepResult ra = a_env.Step(&big, obs_a);
  const StepResult rb = b_env.Step(&one, obs_b);
  EXPECT_EQ(StateOf(a_env), StateOf(b_env));
  EXPECT_EQ(obs_a[0], obs_b[0]);
  EXPECT_EQ(obs_a[1], obs_b[1]);
  EXPECT_DOUBLE_EQ(ra.reward, -2.5);
  EXPECT_DOUBLE_EQ(rb.reward, -0.1);
  const float neg = -3.0f, minus_one = -1.0f;
  a_env.Step(&neg, obs_a);
  b_env.Step(&minus_one, obs_b);
  EXPECT_EQ(StateOf(a_env), StateOf(b_env));
}

TEST(MountainCarContinuousTest, StateIsRoundedToFloatAfterEachStep) {
  MountainCarContinuous env;
  ASSERT_TRUE(env.SetState({-0.4749809066790666, 0.0}).ok());
  float obs[2];
  const float a = 0.3f;
  env.Step(&a, obs);
  for (double v : StateOf(env)) EXPECT_EQ(v, static_cast<double>(static_cast<float>(v)));
}

TEST(MountainCarContinuousTest, GoalPaysHundredMinusActionCost) {
  MountainCarContinuous env;
  ASSERT_TRUE(env.SetState({0.44, 0.05}).ok());
  float obs[2];
  const float a = 2.0f;
  const StepResult r = env.Step(&a, obs);
  EXPECT_TRUE(r.terminated);
  EXPECT_DOUBLE_EQ(r.reward, 100.0 - 0.4);
}

TEST(PendulumTest, OneStepByHand) {
  Pendulum env;
  ASSERT_TRUE(env.SetState({0.0, 0.0}).ok());
  float obs[3];
  const float u = 2.0f;
  const StepResult r = env.Step(&u, obs);
  EXPECT_DOUBLE_EQ(r.reward, -0.004);
  EXPECT_DOUBLE_EQ(StateOf(env)[1], 0.3);
  EXPECT_DOUBLE_EQ(StateOf(env)[0], 0.015);
  EXPECT_FLOAT_EQ(obs[0], static_cast<float>(std::cos(0.015)));
  EXPECT_FLOAT_EQ(obs[1], static_cast<float>(std::sin(0.015)));
  EXPECT_FLOAT_EQ(obs[2], 0.3f);
  EXPECT_FALSE(r.terminated);
}

TEST(PendulumTest, ClipsTorqueForDynamicsAndCost) {
  for (float big : {10.0f, -7.5f}) {
    Pendulum a_env, b_env;
    ASSERT_TRUE(a_env.SetState({1.0, -0.5}).ok());
    ASSERT_TRUE(b_env.SetState({1.0, -0.5}).ok());
    float obs_a[3], obs_b[3];
    const float clipped = big > 0 ? 2.0f : -2.0f;
    const StepResult ra = a_env.Step(&big, obs_a);
    const StepResult rb = b_env.Step(&clipped, obs_b);
    EXPECT_EQ(ra.reward, rb.reward) << big;
    EXPECT_EQ(StateOf(a_env), StateOf(b_env)) << big;
  }
}

TEST(PendulumTest, SpeedIsClippedAndAngleIsNotWrapped) {
  Pendulum env;
  ASSERT_TRUE(env.SetState({3.1, 7.99}).ok());
  float obs[3];
  const float u = 2.0f;
  env.Step(&u, obs);
  const std::vector<double> s = StateOf(env);
  EXPECT_EQ(s[1], 8.0);
  EXPECT_DOUBLE_EQ(s[0], 3.5);  // beyond pi; only the cost normalizes it
  EXPECT_EQ(obs[2], 8.0f);
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
