#include "common/envs/vector_env.h"

#include <cstring>
#include <memory>
#include <vector>

#include "common/envs/registry.h"
#include "common/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxima {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<VectorEnv> MustCreate(const std::string& id, int n, uint64_t seed) {
  auto v = VectorEnv::Create(id, n, seed);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? std::move(*v) : nullptr;
}

// test_util.h's StatusIs matcher does not compile with Abseil's types yet
// (internal_status is declared after the matcher), so errors are checked by hand.
void ExpectInvalidArgument(const absl::Status& s, const std::string& substring) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(substring));
}

TEST(VectorEnvTest, RejectsBadArguments) {
  ExpectInvalidArgument(VectorEnv::Create("CartPole-v1", 0, 1).status(), "num_envs");
  ExpectInvalidArgument(VectorEnv::Create("CartPole-v1", -3, 1).status(), "-3");
  ExpectInvalidArgument(VectorEnv::Create("Nope-v9", 2, 1).status(), "Pendulum-v1");
}

TEST(VectorEnvTest, EnvIIsSeededWithSeedPlusI) {
  auto v = MustCreate("Pendulum-v1", 3, 40);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->num_envs(), 3);
  EXPECT_EQ(v->spec().id, "Pendulum-v1");
  ASSERT_EQ(v->obs().size(), 9u);
  for (int i = 0; i < 3; ++i) {
    auto env = *MakeEnv("Pendulum-v1");
    env->Seed(40 + i);
    float obs[3];
    env->Reset(obs);
    for (int j = 0; j < 3; ++j) EXPECT_EQ(v->obs()[i * 3 + j], obs[j]) << i << "," << j;
  }
  // Different envs start differently.
  EXPECT_NE(v->obs()[0], v->obs()[3]);
  EXPECT_NE(v->obs()[3], v->obs()[6]);
}

// Steps a VectorEnv of CartPole with a fixed action per env and mirrors each
// env with a standalone one, checking auto-reset, final_obs and statistics.
TEST(VectorEnvTest, SameStepAutoResetKeepsFinalObsAndCountsEpisodes) {
  const int n = 3;
  auto v = MustCreate("CartPole-v1", n, 7);
  ASSERT_NE(v, nullptr);
  std::vector<std::unique_ptr<Env>> mirror;
  std::vector<std::vector<float>> mobs(n, std::vector<float>(4));
  std::vector<double> mreturn(n, 0.0);
  std::vector<int> mlength(n, 0);
  for (int i = 0; i < n; ++i) {
    mirror.push_back(*MakeEnv("CartPole-v1"));
    mirror[i]->Seed(7 + i);
    mirror[i]->Reset(mobs[i].data());
  }
  const float actions[n] = {1.0f, 0.0f, 1.0f};  // constant pushes: pole falls fast
  std::vector<EpisodeStat> expected_stats, stats;
  int resets_seen = 0;
  for (int t = 0; t < 200; ++t) {
    v->Step(actions);
    for (int i = 0; i < n; ++i) {
      const StepResult r = mirror[i]->Step(&actions[i], mobs[i].data());
      mreturn[i] += r.reward;
      ++mlength[i];
      ASSERT_EQ(v->terminated()[i], r.terminated ? 1 : 0);
      ASSERT_EQ(v->truncated()[i], r.truncated ? 1 : 0);
      ASSERT_EQ(v->rewards()[i], static_cast<float>(r.reward));
      for (int j = 0; j < 4; ++j) ASSERT_EQ(v->final_obs()[i * 4 + j], mobs[i][j]);
      if (r.terminated || r.truncated) {
        ++resets_seen;
        expected_stats.push_back({i, mreturn[i], mlength[i]});
        mreturn[i] = 0.0;
        mlength[i] = 0;
        mirror[i]->Reset(mobs[i].data());
        // The row already shows the next episode, distinct from the last obs.
        EXPECT_NE(std::memcmp(&v->obs()[i * 4], &v->final_obs()[i * 4], 4 * sizeof(float)), 0);
      }
      for (int j = 0; j < 4; ++j) ASSERT_EQ(v->obs()[i * 4 + j], mobs[i][j]);
      EXPECT_EQ(v->episode_length(i), mlength[i]);
      EXPECT_EQ(v->episode_return(i), mreturn[i]);
    }
    if (t % 50 == 49) v->TakeFinishedEpisodes(&stats);
  }
  EXPECT_GT(resets_seen, 10);
  ASSERT_EQ(stats.size(), expected_stats.size());
  for (size_t k = 0; k < stats.size(); ++k) {
    EXPECT_EQ(stats[k].env_index, expected_stats[k].env_index) << k;
    EXPECT_EQ(stats[k].episode_return, expected_stats[k].episode_return) << k;
    EXPECT_EQ(stats[k].length, expected_stats[k].length) << k;
    EXPECT_EQ(stats[k].episode_return, stats[k].length);  // CartPole pays 1 per step
  }
  // Draining empties the queue.
  std::vector<EpisodeStat> more;
  v->TakeFinishedEpisodes(&more);
  v->TakeFinishedEpisodes(&more);
  EXPECT_LE(more.size(), static_cast<size_t>(n));
}

TEST(VectorEnvTest, TruncationReportsFullLengthAndSummedReturn) {
  auto v = MustCreate("Pendulum-v1", 2, 3);
  ASSERT_NE(v, nullptr);
  const float actions[2] = {0.5f, -3.0f};
  for (int t = 1; t <= 200; ++t) {
    v->Step(actions);
    for (int i = 0; i < 2; ++i) {
      EXPECT_EQ(v->truncated()[i], t == 200 ? 1 : 0);
      EXPECT_EQ(v->terminated()[i], 0);
    }
  }
  std::vector<EpisodeStat> stats;
  v->TakeFinishedEpisodes(&stats);
  ASSERT_EQ(stats.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(stats[i].env_index, i);
    EXPECT_EQ(stats[i].length, 200);
    EXPECT_LT(stats[i].episode_return, 0.0);
    EXPECT_EQ(v->episode_length(i), 0);
  }
  // The reset observation differs from the truncated episode's last one.
  EXPECT_NE(v->obs()[0], v->final_obs()[0]);
}

TEST(VectorEnvTest, ResetRestartsEpisodesAndStatistics) {
  auto v = MustCreate("MountainCar-v0", 2, 1);
  ASSERT_NE(v, nullptr);
  const std::vector<float> first(v->obs().begin(), v->obs().end());
  const float actions[2] = {1.0f, 1.0f};
  v->Step(actions);
  EXPECT_EQ(v->episode_length(0), 1);
  EXPECT_EQ(v->env(0).elapsed_steps(), 1);
  v->Reset();
  EXPECT_EQ(v->episode_length(0), 0);
  EXPECT_EQ(v->episode_return(1), 0.0);
  EXPECT_EQ(v->env(0).elapsed_steps(), 0);
  // The env's Rng moved on, so the new start differs from the first one.
  EXPECT_NE(std::vector<float>(v->obs().begin(), v->obs().end()), first);
}

}  // namespace
}  // namespace proxima

namespace proxima {
namespace {

// Stepping the columns on several threads gives exactly what one thread does:
// observations, rewards, flags and the finished episodes in the same order.
TEST(VectorEnvThreadsTest, ThreadedSteppingMatchesOneThread) {
  for (const char* id : {"Hopper-v4", "Pendulum-v1"}) {
    auto one = MustCreate(id, 5, 3);
    auto many = MustCreate(id, 5, 3);
    ASSERT_TRUE(many->SetThreads(3).ok());
    EXPECT_EQ(many->threads(), 3);
    const int dim = one->spec().action_dim();
    std::vector<float> actions(5 * dim);
    Rng rng(9);
    std::vector<EpisodeStat> a, b;
    for (int t = 0; t < 400; ++t) {
      for (float& x : actions) x = static_cast<float>(rng.Uniform(-1.0, 1.0));
      one->Step(actions.data());
      many->Step(actions.data());
      ASSERT_EQ(std::vector<float>(one->obs().begin(), one->obs().end()),
                std::vector<float>(many->obs().begin(), many->obs().end()))
          << id << " step " << t;
      ASSERT_EQ(std::vector<float>(one->rewards().begin(), one->rewards().end()),
                std::vector<float>(many->rewards().begin(), many->rewards().end()));
      ASSERT_EQ(std::vector<uint8_t>(one->terminated().begin(), one->terminated().end()),
                std::vector<uint8_t>(many->terminated().begin(), many->terminated().end()));
      one->TakeFinishedEpisodes(&a);
      many->TakeFinishedEpisodes(&b);
    }
    ASSERT_EQ(a.size(), b.size()) << id;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].env_index, b[i].env_index);
      EXPECT_EQ(a[i].episode_return, b[i].episode_return);
      EXPECT_EQ(a[i].length, b[i].length);
    }
    if (std::string(id) == "Hopper-v4") {
      EXPECT_FALSE(a.empty());  // random hoppers fall
    }
  }
  auto v = MustCreate("CartPole-v1", 2, 1);
  ExpectInvalidArgument(v->SetThreads(0), "env threads must be in [1, 256] (got 0)");
}

// ClipAction: the env sees the action clipped to its Box, the caller's array
// keeps the raw sample; discrete envs ignore the setting.
TEST(VectorEnvThreadsTest, ClipActionsClipsWhatTheEnvSeesOnly) {
  auto clipped = MustCreate("HalfCheetah-v4", 1, 4);
  auto inside = MustCreate("HalfCheetah-v4", 1, 4);
  auto raw = MustCreate("HalfCheetah-v4", 1, 4);
  clipped->set_clip_actions(true);
  EXPECT_TRUE(clipped->clip_actions());
  std::vector<float> big = {3.0f, -2.5f, 0.5f, 1.5f, -1.0f, 0.0f};
  const std::vector<float> big_before = big;
  const std::vector<float> in_box = {1.0f, -1.0f, 0.5f, 1.0f, -1.0f, 0.0f};
  clipped->Step(big.data());
  inside->Step(in_box.data());
  raw->Step(big.data());
  EXPECT_EQ(big, big_before);
  // Same physics (MuJoCo clamps ctrl itself) but the control cost differs.
  EXPECT_EQ(clipped->rewards()[0], inside->rewards()[0]);
  EXPECT_NE(clipped->rewards()[0], raw->rewards()[0]);
  auto cartpole = MustCreate("CartPole-v1", 1, 1);
  cartpole->set_clip_actions(true);
  EXPECT_FALSE(cartpole->clip_actions());
}

}  // namespace
}  // namespace proxima
