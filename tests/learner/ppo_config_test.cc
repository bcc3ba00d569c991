#include "learner/ppo_config.h"

#include "gtest/gtest.h"
#include "learner/run_files.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::HasSubstr;

TEST(PpoConfigTest, PresetsValidateAndFollowCleanRl) {
  for (const char* env : {"CartPole-v1", "Acrobot-v1", "Pendulum-v1", "MountainCar-v0",
                          "MountainCarContinuous-v0"}) {
    auto c = PresetFor(env);
    ASSERT_TRUE(c.ok()) << env << ": " << c.status();
    EXPECT_TRUE(c->Validate().ok()) << env << ": " << c->Validate();
  }
  auto cp = PresetFor("CartPole-v1");
  EXPECT_EQ(cp->num_envs, 4);
  EXPECT_EQ(cp->rollout_length, 128);
  EXPECT_DOUBLE_EQ(cp->learning_rate, 2.5e-4);
  EXPECT_EQ(cp->update_epochs, 4);
  EXPECT_EQ(cp->num_minibatches, 4);
  EXPECT_DOUBLE_EQ(cp->ent_coef, 0.01);
}

TEST(RunFilesTest, DefaultRunDirIsOneSafeDirectory) {
  EXPECT_EQ(DefaultRunDir("CartPole-v1", 3), "runs/CartPole-v1-3");
  EXPECT_EQ(DefaultRunDir("remote://127.0.0.1:50061/MyEnv-v0?x=1", 1),
            "runs/remote___127.0.0.1_50061_MyEnv-v0_x_1-1");
}

TEST(PpoConfigTest, UnknownEnvListsKnownIds) {
  auto c = PresetFor("CartPole-v9");
  EXPECT_THAT(c, StatusIs(absl::StatusCode::kInvalidArgument,
                          ::testing::AllOf(HasSubstr("CartPole-v9"), HasSubstr("Acrobot-v1"))));
}

struct BadCase {
  const char* flag;
  void (*mutate)(PpoConfig&);
};

TEST(PpoConfigTest, EachInvalidFieldNamesItsFlagAndRange) {
  const BadCase cases[] = {
      {"--learning-rate must be > 0", [](PpoConfig& c) { c.learning_rate = 0; }},
      {"--learning-rate must be > 0", [](PpoConfig& c) { c.learning_rate = -1e-3; }},
      {"--clip-coef must be > 0", [](PpoConfig& c) { c.clip_coef = 0; }},
      {"--gamma must be in [0, 1]", [](PpoConfig& c) { c.gamma = 1.01; }},
      {"--gae-lambda must be in [0, 1]", [](PpoConfig& c) { c.gae_lambda = -0.1; }},
      {"--num-minibatches must divide", [](PpoConfig& c) { c.num_minibatches = 3; }},
      {"--hidden-sizes", [](PpoConfig& c) { c.model.hidden_sizes = {64, 0}; }},
      {"--num-envs must be >= 1", [](PpoConfig& c) { c.num_envs = 0; }},
      {"--update-epochs must be >= 1", [](PpoConfig& c) { c.update_epochs = 0; }},
      {"--device must be one of", [](PpoConfig& c) { c.device = "tpu"; }},
      {"--activation must be one of", [](PpoConfig& c) { c.model.activation = "gelu"; }},
  };
  for (const BadCase& bad : cases) {
    PpoConfig c;
    bad.mutate(c);
    EXPECT_THAT(c.Validate(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(bad.flag)))
        << bad.flag;
  }
}

TEST(PpoConfigTest, JsonRoundTrip) {
  auto c = PresetFor("Pendulum-v1");
  ASSERT_TRUE(c.ok());
  c->target_kl = 0.02;
  c->advantage = AdvantageEstimator::kVtrace;
  auto back = ConfigFromJson(ConfigToJson(*c));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ConfigToJson(*back), ConfigToJson(*c));
}

}  // namespace
}  // namespace proxima
