#include "common/envs/registry.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxima {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(RegistryTest, ListsTheFiveClassicControlEnvsThenTheMujocoOnes) {
  std::vector<std::string> ids = RegisteredEnvIds();
  ASSERT_EQ(ids.size(), 5u + 22u);  // MuJoCo: mujoco_envs_test
  ids.resize(5);
  EXPECT_THAT(ids, ElementsAre("CartPole-v1", "Acrobot-v1", "MountainCar-v0",
                               "MountainCarContinuous-v0", "Pendulum-v1"));
}

TEST(RegistryTest, MakeEnvReturnsEnvWithMatchingSpec) {
  for (const std::string& id : RegisteredEnvIds()) {
    auto env = MakeEnv(id);
    ASSERT_TRUE(env.ok()) << env.status();
    EXPECT_EQ((*env)->spec().id, id);
    auto spec = GetEnvSpec(id);
    ASSERT_TRUE(spec.ok());
    EXPECT_EQ(spec->id, id);
    EXPECT_EQ(spec->max_episode_steps, (*env)->spec().max_episode_steps);
  }
}

TEST(RegistryTest, UnknownIdNamesItAndListsKnownIds) {
  const auto lists_all = AllOf(HasSubstr("CartPole-v0"), HasSubstr("CartPole-v1"),
                               HasSubstr("Acrobot-v1"), HasSubstr("MountainCar-v0"),
                               HasSubstr("MountainCarContinuous-v0"), HasSubstr("Pendulum-v1"));
  const absl::Status make = MakeEnv("CartPole-v0").status();
  EXPECT_EQ(make.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(make.message()), lists_all);
  const absl::Status spec = GetEnvSpec("CartPole-v0").status();
  EXPECT_EQ(spec.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(spec.message()), lists_all);
  const absl::Status empty = MakeEnv("").status();
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(empty.message()), HasSubstr("\"\""));
  // Ids are case sensitive, as in Gymnasium.
  EXPECT_FALSE(MakeEnv("cartpole-v1").ok());
}

}  // namespace
}  // namespace proxima
