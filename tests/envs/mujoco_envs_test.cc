#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common/envs/golden_replay.h"
#include "common/envs/mujoco/mujoco_env.h"
#include "common/envs/mujoco/mujoco_model.h"
#include "common/envs/mujoco/mujoco_registry.h"
#include "common/envs/mujoco/mujoco_replay.h"
#include "common/envs/registry.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/envs/golden_expect.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::testing::HasSubstr;

std::string MujocoGoldenDir() { return GoldenDir() + "/mujoco"; }

// Every file of the reference set replays within |Δ| <= 1e-6 max(1, |x|),
// per row and per episode, and reports its largest distance in ULPs.
TEST(MujocoGoldenTest, EveryMujocoCsvReplaysWithinTolerance) {
  std::vector<GoldenEnvReport> reports;
  ExpectGoldenDirReplays(MujocoGoldenDir(), /*max_row_deviation=*/1e-6,
                         /*max_episode_deviation=*/1e-6, &reports);
  for (const GoldenEnvReport& r : reports) EXPECT_GE(r.max_ulp, 0) << r.env_id;
}

// All 22 of Gymnasium's v4/v5 MuJoCo ids are registered.
TEST(MujocoRegistryTest, AllTwentyTwoIdsAreRegistered) {
  std::vector<std::string> ids;
  for (const MujocoEnvDef& d : MujocoEnvDefs()) ids.push_back(d.id);
  std::vector<std::string> want;
  for (const char* name : {"HalfCheetah", "Hopper", "Walker2d", "Ant", "Humanoid",
                           "HumanoidStandup", "InvertedPendulum", "InvertedDoublePendulum",
                           "Reacher", "Swimmer", "Pusher"}) {
    for (const char* v : {"-v4", "-v5"}) want.push_back(std::string(name) + v);
  }
  EXPECT_THAT(ids, ::testing::UnorderedElementsAreArray(want));
  for (const std::string& id : want) {
    auto spec = GetEnvSpec(id);
    ASSERT_TRUE(spec.ok()) << spec.status();
    EXPECT_FALSE(spec->info_keys.empty() && id != "InvertedPendulum-v4" &&
                 id != "InvertedDoublePendulum-v4")
        << id;
  }
}

// The build tree puts the model files beside the binaries
// (build/share/proxima/mujoco), the first place looked after
// $PROXIMA_MUJOCO_ASSETS; an installed binary finds them the same way.
TEST(MujocoModelTest, ModelFilesAreFoundBesideTheExecutable) {
  // The search order without an override (restored afterwards).
  const char* set = std::getenv("PROXIMA_MUJOCO_ASSETS");
  const std::string saved = set != nullptr ? set : "";
  unsetenv("PROXIMA_MUJOCO_ASSETS");
  const std::vector<std::string> dirs = MujocoAssetDirs();
  if (set != nullptr) setenv("PROXIMA_MUJOCO_ASSETS", saved.c_str(), 1);
  ASSERT_GE(dirs.size(), 2u);
  EXPECT_THAT(dirs[0], ::testing::EndsWith("/../share/proxima/mujoco"));
  auto model = LoadMujocoModelFile(dirs[0] + "/humanoid.xml");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->nu, 17);
  EXPECT_TRUE(ReadFile(dirs[0] + "/LICENSE").ok());
}

TEST(MujocoGoldenTest, UlpDistance) {
  EXPECT_EQ(UlpDistance(1.0, 1.0), 0);
  EXPECT_EQ(UlpDistance(0.0, -0.0), 0);
  EXPECT_EQ(UlpDistance(1.0, std::nextafter(1.0, 2.0)), 1);
  EXPECT_EQ(UlpDistance(std::nextafter(0.0, -1.0), std::nextafter(0.0, 1.0)), 2);
  EXPECT_EQ(UlpDistance(NAN, NAN), 0);
  EXPECT_GT(UlpDistance(NAN, 1.0), int64_t{1} << 62);
}

TEST(MujocoParamsTest, OptionsInTheIdOverrideDefaults) {
  auto env = MakeMujocoEnv("HalfCheetah-v4?exclude_current_positions_from_observation=false");
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ((*env)->spec().obs_dim(), 18);
  EXPECT_EQ((*env)->spec().id, "HalfCheetah-v4?exclude_current_positions_from_observation=false");
  auto plain = MakeEnv("HalfCheetah-v4");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ((*plain)->spec().obs_dim(), 17);
}

TEST(MujocoParamsTest, BadOptionsAreErrorsNamingThem) {
  auto unknown = MakeEnv("HalfCheetah-v4?ctrl_weight=0.2");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unknown.status().message()),
              HasSubstr("unknown option \"ctrl_weight\"; options: "));
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("ctrl_cost_weight"));
  auto bad_value = GetEnvSpec("HalfCheetah-v4?ctrl_cost_weight=lots");
  ASSERT_FALSE(bad_value.ok());
  EXPECT_THAT(std::string(bad_value.status().message()),
              HasSubstr("ctrl_cost_weight=\"lots\" is not a finite number"));
  auto nan = GetEnvSpec("HalfCheetah-v4?ctrl_cost_weight=nan");
  ASSERT_FALSE(nan.ok());
  auto no_options = GetEnvSpec("Reacher-v4?reward_dist_weight=2");
  ASSERT_FALSE(no_options.ok());
  EXPECT_THAT(std::string(no_options.status().message()),
              HasSubstr("unknown option \"reward_dist_weight\"; options: (none)"));
}

// An env built on a model that lacks a body it reads is an error naming the
// env and the body (MujocoEnv::BodyId), not an env reading body 0.
TEST(MujocoEnvTest, AMissingBodyIsAnErrorNamingIt) {
  auto model = LoadMujocoModelFile(MujocoAssetDirs()[0] + "/half_cheetah.xml");
  ASSERT_TRUE(model.ok()) << model.status();
  for (const MujocoEnvDef& def : MujocoEnvDefs()) {
    if (std::string(def.id) != "Pusher-v5") continue;
    auto params = MujocoParams::Parse(def.id, def.params, "");
    ASSERT_TRUE(params.ok()) << params.status();
    std::unique_ptr<MujocoEnv> env = def.make(def, *model, *params);
    ASSERT_NE(env, nullptr);
    EXPECT_EQ(env->status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(env->status().message()),
                HasSubstr("Pusher-v5: the model has no body named \"tips_arm\""));
    return;
  }
  FAIL() << "Pusher-v5 is not registered";
}

TEST(MujocoModelTest, MissingOrCorruptModelFileIsAnErrorNamingIt) {
  const std::string dir = MakeTempDir("mujoco_model");
  auto missing = LoadMujocoModelFile(dir + "/nothing.xml");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr(dir + "/nothing.xml"));
  ASSERT_TRUE(WriteFileAtomic(dir + "/broken.xml", "<mujoco><worldbody><body>").ok());
  auto broken = LoadMujocoModelFile(dir + "/broken.xml");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(broken.status().message()),
              HasSubstr("MuJoCo model file " + dir + "/broken.xml could not be loaded"));
}

TEST(MujocoEnvTest, StepsResetsAndTruncatesAtTheTimeLimit) {
  auto made = MakeMujocoEnv("HalfCheetah-v5");
  ASSERT_TRUE(made.ok()) << made.status();
  MujocoEnv& env = **made;
  const EnvSpec& spec = env.spec();
  EXPECT_EQ(spec.action_dim(), 6);
  EXPECT_EQ(spec.max_episode_steps, 1000);
  EXPECT_EQ(spec.action_space.low[0], -1.0f);
  std::vector<float> obs(spec.obs_dim()), action(spec.action_dim(), 0.5f);
  env.Seed(3);
  env.Reset(obs.data());
  std::vector<float> first = obs;
  StepResult r;
  for (int t = 0; t < 1000; ++t) {
    r = env.Step(action.data(), obs.data());
    ASSERT_EQ(r.truncated, t == 999) << t;
    ASSERT_FALSE(r.terminated);
  }
  ASSERT_EQ(env.info().size(), spec.info_keys.size());
  EXPECT_EQ(spec.info_keys[2], "reward_forward");
  EXPECT_DOUBLE_EQ(r.reward, env.info()[2] + env.info()[3]);
  env.Seed(3);
  env.Reset(obs.data());
  EXPECT_EQ(obs, first);  // same seed, same reset draw
}

}  // namespace
}  // namespace proxima
