// The PpoConfig field table (learner/ppo_config_fields.h) against what it
// generates: config.json's keys and default values, the flags generated from
// it and mapped onto fields, and Admin.SetHyperparameters' set-by-key with
// its error messages.
#include "learner/ppo_config_fields.h"

#include <set>
#include <string>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "learner/cli/ppo_flags.h"
#include "learner/run_files.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::HasSubstr;

// config.json of a default PpoConfig, as runs have always written it.
TEST(PpoConfigFieldsTest, JsonKeysAndDefaultsAreUnchanged) {
  EXPECT_EQ(ConfigToJson(PpoConfig()).dump(),
            R"({"activation":"tanh","adam_eps":1e-05,"adaptive_kl":false,"advantage":"gae",)"
            R"("anneal_lr":true,"clip_action":false,"clip_coef":0.2,"clip_value_loss":true,"device":"auto",)"
            R"("engine":"auto","ent_coef":0.01,"env":"CartPole-v1","gae_lambda":0.95,"gamma":0.99,)"
            R"("hidden_sizes":[64,64],"init_log_std":0.0,"kl_beta":1.0,"kl_target":0.01,)"
            R"("learning_rate":0.00025,"max_grad_norm":0.5,"normalize_advantages":true,)"
            R"("normalize_obs":false,"normalize_reward":false,"num_envs":4,)"
            R"("num_minibatches":4,"obs_clip":10.0,"reward_clip":10.0,"rollout_length":128,)"
            R"("seed":1,"shared_trunk":false,"target_kl":null,"torch_threads":1,)"
            R"("total_steps":500000,"update_epochs":4,"value_clip_coef":0.2,)"
            R"("vf_coef":0.5,"vtrace_c_bar":1.0,"vtrace_rho_bar":1.0})");
}

TEST(PpoConfigFieldsTest, KeysAndFlagsAreUnique) {
  std::set<std::string> keys, flags;
  for (const PpoConfigField& row : PpoConfigFields()) {
    EXPECT_TRUE(keys.insert(row.key).second) << row.key;
    for (const char* flag : {row.flag, row.alias}) {
      if (flag != nullptr) {
        EXPECT_TRUE(flags.insert(flag).second) << row.key;
      }
    }
  }
}

TEST(PpoConfigFieldsTest, JsonMissingKeyIsAnError) {
  nlohmann::json j = ConfigToJson(PpoConfig());
  j.erase("gamma");
  EXPECT_THAT(ConfigFromJson(j),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad run config")));
  j = ConfigToJson(PpoConfig());
  j["num_envs"] = 1.5;
  EXPECT_THAT(ConfigFromJson(j), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("num_envs must be an integer")));
}

// "engine" came after runs were written: their config.json (run directories,
// checkpoints) still loads, with the default engine.
TEST(PpoConfigFieldsTest, JsonWithoutEngineKeepsTheDefault) {
  nlohmann::json j = ConfigToJson(PpoConfig());
  j.erase("engine");
  absl::StatusOr<PpoConfig> c = ConfigFromJson(j);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->engine, PpoConfig().engine);
  j["engine"] = "jax";
  EXPECT_THAT(ConfigFromJson(j),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--engine must be one of auto, fused, torch (got 'jax')"));
}

TEST(PpoConfigFieldsTest, SetByKeyAcceptsKeysFlagsAliasesAndDashes) {
  PpoConfig c;
  ASSERT_TRUE(SetHyperparameter("lr", "1e-3", &c).ok());
  EXPECT_DOUBLE_EQ(c.learning_rate, 1e-3);
  ASSERT_TRUE(SetHyperparameter("learning-rate", "2e-3", &c).ok());
  EXPECT_DOUBLE_EQ(c.learning_rate, 2e-3);
  ASSERT_TRUE(SetHyperparameter("norm_adv", "false", &c).ok());
  EXPECT_FALSE(c.normalize_advantages);
  ASSERT_TRUE(SetHyperparameter("normalize_advantages", "true", &c).ok());
  EXPECT_TRUE(c.normalize_advantages);
  ASSERT_TRUE(SetHyperparameter("update_epochs", "2", &c).ok());
  EXPECT_EQ(c.update_epochs, 2);
  ASSERT_TRUE(SetHyperparameter("target_kl", "0.02", &c).ok());
  EXPECT_EQ(c.target_kl, 0.02);
  ASSERT_TRUE(SetHyperparameter("target-kl", "none", &c).ok());
  EXPECT_FALSE(c.target_kl.has_value());
}

TEST(PpoConfigFieldsTest, SetByKeyErrorsAreUnchanged) {
  PpoConfig c;
  EXPECT_THAT(SetHyperparameter("gamma", "x", &c),
              StatusIs(absl::StatusCode::kInvalidArgument, "'x' is not a number"));
  EXPECT_THAT(SetHyperparameter("update_epochs", "1.5", &c),
              StatusIs(absl::StatusCode::kInvalidArgument, "'1.5' is not an integer"));
  EXPECT_THAT(SetHyperparameter("anneal_lr", "maybe", &c),
              StatusIs(absl::StatusCode::kInvalidArgument, "'maybe' is not a boolean"));
  // Known but fixed for the run, and unknown: both list the settable keys.
  for (const char* key : {"seed", "no_such_key"}) {
    EXPECT_THAT(
        SetHyperparameter(key, "1", &c, {"max_policy_lag"}),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 "unknown or not changeable while training; changeable: learning_rate, "
                 "anneal_lr, num_minibatches, update_epochs, max_grad_norm, gamma, gae_lambda, "
                 "norm_adv, clip_coef, ent_coef, vf_coef, target_kl, kl_target, max_policy_lag"))
        << key;
  }
  EXPECT_EQ(c.seed, PpoConfig().seed);
}

// The flags are generated from learner/ppo_config_field_list.h: every row's
// flag (and alias) exists, is unset by default, is defined in ppo_flags.cc
// (`proxima train --help` groups and forwards by that file) and keeps its
// help text.
TEST(PpoConfigFieldsTest, EveryRowHasItsGeneratedFlag) {
  (void)PpoConfigFromFlags();  // links ppo_flags.cc's definitions
  for (const PpoConfigField& row : PpoConfigFields()) {
    for (const char* name : {row.flag, row.alias}) {
      if (name == nullptr) continue;
      const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
      ASSERT_NE(flag, nullptr) << name;
      EXPECT_EQ(flag->DefaultValue(), "") << name;
      EXPECT_TRUE(absl::EndsWith(flag->Filename(), "learner/cli/ppo_flags.cc"))
          << name << ": " << flag->Filename();
      EXPECT_FALSE(flag->Help().empty()) << name;
    }
  }
  EXPECT_EQ(absl::FindCommandLineFlag("engine")->Help(),
            "PPO update engine: fused (hand-written CPU kernel), torch (LibTorch) or auto "
            "(fused on CPU) [auto]");
  EXPECT_EQ(absl::FindCommandLineFlag("num_minibatches")->Help(),
            "Minibatches per epoch; must divide num_envs × rollout_length [preset]");
  EXPECT_EQ(absl::FindCommandLineFlag("lr")->Help(), "Alias of --learning-rate");
  const absl::CommandLineFlag* env = absl::FindCommandLineFlag("env");
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(env->DefaultValue(), "CartPole-v1");
}

TEST(PpoConfigFieldsTest, EveryRowWithAFlagMapsOntoItsField) {
  absl::FlagSaver saver;
  absl::StatusOr<PpoConfig> preset = PresetFor("CartPole-v1");
  ASSERT_TRUE(preset.ok());
  absl::StatusOr<PpoConfig> unset = PpoConfigFromFlags();  // every flag found, none set
  ASSERT_TRUE(unset.ok()) << unset.status();
  EXPECT_EQ(ConfigToJson(*unset), ConfigToJson(*preset));

  auto set = [](const char* name, const char* value) {
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    ASSERT_NE(flag, nullptr) << name;
    std::string err;
    ASSERT_TRUE(flag->ParseFrom(value, &err)) << name << ": " << err;
  };
  set("seed", "7");
  set("total_steps", "1024");
  set("hidden_sizes", "32, 16");
  set("norm_adv", "false");
  set("clip_vloss", "false");
  set("learning_rate", "1e-3");
  set("lr", "2e-3");  // the alias wins
  set("target_kl", "0.03");
  set("advantage", "vtrace");
  set("device", "cpu");
  set("engine", "fused");
  absl::StatusOr<PpoConfig> c = PpoConfigFromFlags();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->seed, 7u);
  EXPECT_EQ(c->total_steps, 1024);
  EXPECT_EQ(c->model.hidden_sizes, (std::vector<int>{32, 16}));
  EXPECT_FALSE(c->normalize_advantages);
  EXPECT_FALSE(c->clip_value_loss);
  EXPECT_DOUBLE_EQ(c->learning_rate, 2e-3);
  EXPECT_EQ(c->target_kl, 0.03);
  EXPECT_EQ(c->advantage, AdvantageEstimator::kVtrace);
  EXPECT_EQ(c->device, "cpu");
  EXPECT_EQ(c->engine, "fused");

  set("hidden_sizes", "64,x");
  EXPECT_THAT(PpoConfigFromFlags(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--hidden-sizes must be comma-separated integers (got '64,x')"));
  set("hidden_sizes", "64");
  set("advantage", "td");
  EXPECT_THAT(PpoConfigFromFlags(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--advantage must be one of gae, vtrace (got 'td')"));
}

}  // namespace
}  // namespace proxima
