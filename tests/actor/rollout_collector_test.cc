// RolloutCollector: chunk contents. Every stored step is checked against an
// independent replay of the same seeded envs with the chunk's actions (raw
// observations, rewards, flags, truncated final observations, bootstrap
// observations), episode records against running sums kept by the test, and
// the partial final chunk of an early stop.
#include "common/policy/rollout_collector.h"

#include <ATen/ATen.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "common/wire/chunk_codec.h"
#include "gtest/gtest.h"
#include "tests/actor/actor_test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::ActingPolicy;

// Replays the env columns step by step and checks each chunk it is fed.
class Replay {
 public:
  Replay(const std::string& env_id, int num_envs, uint64_t seed)
      : envs_(VectorEnv::Create(env_id, num_envs, seed).value()),
        returns_(num_envs, 0.0),
        lengths_(num_envs, 0) {}

  void Check(const v1::TrajectoryChunk& chunk) {
    const bool discrete = envs_->spec().action_space.is_discrete();
    const RolloutBatch b = DecodeChunk(chunk, discrete);
    const int T = b.num_steps, E = b.num_envs, D = envs_->spec().obs_dim();
    const int A = envs_->spec().action_dim();
    ASSERT_EQ(E, envs_->num_envs());
    const float* obs = b.obs.data_ptr<float>();
    const float* act = b.actions.data_ptr<float>();
    const float* rew = b.rewards.data_ptr<float>();
    const uint8_t* term = b.terminated.data_ptr<uint8_t>();
    const uint8_t* trunc = b.truncated.data_ptr<uint8_t>();
    const std::vector<EpisodeRecord> episodes = ChunkEpisodes(chunk);
    size_t next_episode = 0, next_final = 0;
    for (int t = 0; t < T; ++t) {
      ASSERT_EQ(0, std::memcmp(obs + static_cast<int64_t>(t) * E * D, envs_->obs().data(),
                               sizeof(float) * E * D))
          << "obs at t=" << t;
      envs_->Step(act + static_cast<int64_t>(t) * E * A);
      finished_.clear();
      envs_->TakeFinishedEpisodes(&finished_);
      size_t next_finished = 0;
      for (int e = 0; e < E; ++e) {
        const int64_t i = static_cast<int64_t>(t) * E + e;
        ASSERT_EQ(rew[i], envs_->rewards()[e]);
        ASSERT_EQ(term[i], envs_->terminated()[e]);
        ASSERT_EQ(trunc[i], envs_->truncated()[e]);
        returns_[e] += envs_->rewards()[e];
        lengths_[e] += 1;
        if (trunc[i] && !term[i]) {
          ASSERT_LT(next_final, b.final_index.size());
          EXPECT_EQ(b.final_index[next_final].t, t);
          EXPECT_EQ(b.final_index[next_final].e, e);
          ASSERT_EQ(0, std::memcmp(b.final_obs[next_final].data_ptr<float>(),
                                   envs_->final_obs().data() + static_cast<int64_t>(e) * D,
                                   sizeof(float) * D));
          ++next_final;
          ++truncations_;
        }
        if (term[i] || trunc[i]) {
          ASSERT_LT(next_episode, episodes.size());
          const EpisodeRecord& ep = episodes[next_episode++];
          EXPECT_EQ(ep.t, t);
          EXPECT_EQ(ep.e, e);
          // The env's own double-precision running return, exactly; and the
          // sum of the float rewards the chunks carried, to float rounding.
          ASSERT_LT(next_finished, finished_.size());
          EXPECT_EQ(ep.episode_return, finished_[next_finished++].episode_return);
          EXPECT_NEAR(ep.episode_return, returns_[e], 1e-6 * std::abs(returns_[e]) + 1e-9);
          EXPECT_EQ(ep.length, lengths_[e]);
          EXPECT_EQ(ep.truncated, trunc[i] && !term[i]);
          returns_[e] = 0;
          lengths_[e] = 0;
          ++episodes_;
        }
      }
    }
    EXPECT_EQ(next_final, b.final_index.size());
    EXPECT_EQ(next_episode, episodes.size());
    ASSERT_EQ(0, std::memcmp(b.bootstrap_obs.data_ptr<float>(), envs_->obs().data(),
                             sizeof(float) * E * D));
  }

  int episodes() const { return episodes_; }
  int truncations() const { return truncations_; }

 private:
  std::unique_ptr<VectorEnv> envs_;
  std::vector<double> returns_;
  std::vector<int> lengths_;
  std::vector<EpisodeStat> finished_;
  int episodes_ = 0;
  int truncations_ = 0;
};

// A collector of T steps over seeded envs, and the replay of the same envs
// that checks every chunk the collector encodes.
struct Rig {
  Rig(const std::string& env_id, int num_envs, int T, uint64_t seed)
      : envs(VectorEnv::Create(env_id, num_envs, seed).value()),
        policy(env_id, num_envs, /*model_seed=*/2, /*normalize=*/true, /*version=*/4),
        rng(77),
        collector(envs.get(), &policy.inference, &rng, T),
        replay(env_id, num_envs, seed) {
    EXPECT_TRUE(policy.installed.ok());
  }

  // Collects the next rollout (cut short by `stop`), encodes it with `header`
  // into `chunk` and checks it against the replay; returns the steps
  // collected.
  int Collect(const ChunkHeader& header, v1::TrajectoryChunk* chunk,
              const std::atomic<bool>* stop = nullptr) {
    const int steps = collector.Collect(stop);
    collector.Encode(header, chunk);
    replay.Check(*chunk);
    return steps;
  }

  std::unique_ptr<VectorEnv> envs;
  ActingPolicy policy;
  Rng rng;
  RolloutCollector collector;
  Replay replay;
};

ChunkHeader Header(uint64_t seq, bool final = false) {
  ChunkHeader h;
  h.actor_id = 3;
  h.session_id = 0xabcdef;
  h.seq = seq;
  h.policy_version = 4;
  h.final = final;
  h.rollout_seconds = 0.5f;
  return h;
}

TEST(RolloutCollectorTest, ChunksReplayExactlyAndCarryEpisodesAcrossChunks) {
  Rig rig("CartPole-v1", 3, 64, 10);
  for (uint64_t seq = 0; seq < 6; ++seq) {
    v1::TrajectoryChunk chunk;
    ASSERT_EQ(rig.Collect(Header(seq), &chunk), 64);
    EXPECT_EQ(chunk.seq(), seq);
    EXPECT_EQ(chunk.actor_id(), 3u);
    EXPECT_EQ(chunk.session_id(), 0xabcdefu);
    EXPECT_EQ(chunk.policy_version(), 4u);
    EXPECT_EQ(chunk.num_steps(), 64u);
    EXPECT_EQ(chunk.num_envs(), 3u);
    EXPECT_FALSE(chunk.final());
    EXPECT_FLOAT_EQ(chunk.rollout_seconds(), 0.5f);
    EXPECT_EQ(chunk.actions().dtype(), v1::DTYPE_INT64);
  }
  EXPECT_GT(rig.replay.episodes(), 5);  // a random CartPole policy falls quickly
  EXPECT_EQ(rig.collector.total_env_steps(), 6 * 64 * 3);
}

TEST(RolloutCollectorTest, TruncatedEpisodesCarryTheirFinalObservation) {
  // Pendulum never terminates and truncates at 200 steps: with T = 150 the
  // first truncation falls inside the second chunk.
  Rig rig("Pendulum-v1", 2, 150, 5);
  for (uint64_t seq = 0; seq < 3; ++seq) {
    v1::TrajectoryChunk chunk;
    ASSERT_EQ(rig.Collect(Header(seq), &chunk), 150);
    EXPECT_EQ(chunk.actions().dtype(), v1::DTYPE_FLOAT32);
    if (seq == 1) {
      ASSERT_EQ(chunk.truncated_observations_size(), 2);
      EXPECT_EQ(chunk.truncated_observations(0).step(), 49u);
      EXPECT_EQ(chunk.truncated_observations(1).env(), 1u);
      ASSERT_EQ(chunk.episodes_size(), 2);
      EXPECT_EQ(chunk.episodes(0).episode_length(), 200u);
      EXPECT_TRUE(chunk.episodes(0).truncated());
    }
  }
  EXPECT_EQ(rig.replay.truncations(), 4);  // t = 199 and 399 in each column
}

TEST(RolloutCollectorTest, StopBeforeTheFirstStepGivesAnEmptyFinalChunk) {
  Rig rig("Acrobot-v1", 4, 32, 1);
  v1::TrajectoryChunk first;
  ASSERT_EQ(rig.Collect(Header(0), &first), 32);
  std::atomic<bool> stop{true};
  v1::TrajectoryChunk last;
  EXPECT_EQ(rig.Collect(Header(1, /*final=*/true), &last, &stop), 0);
  EXPECT_TRUE(last.final());
  EXPECT_EQ(last.num_steps(), 0u);
  EXPECT_EQ(last.observations().shape(0), 0);
  EXPECT_EQ(last.observations().data().size(), 0u);
  EXPECT_EQ(last.episodes_size(), 0);
  // Bootstrap = the current observations, i.e. the previous chunk's bootstrap.
  EXPECT_EQ(last.bootstrap_observations().data(), first.bootstrap_observations().data());
}

TEST(RolloutCollectorTest, StopMidRolloutGivesAPartialFinalChunk) {
  const int kT = 2000000;  // far more than can run before the stop below
  Rig rig("CartPole-v1", 1, kT, 3);
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    stop.store(true);
  });
  v1::TrajectoryChunk chunk;
  const int steps = rig.Collect(Header(0, /*final=*/true), &chunk, &stop);
  stopper.join();
  ASSERT_GT(steps, 0);
  ASSERT_LT(steps, kT);
  EXPECT_TRUE(chunk.final());
  EXPECT_EQ(chunk.num_steps(), static_cast<uint32_t>(steps));
  EXPECT_EQ(chunk.observations().shape(0), steps);
  EXPECT_EQ(chunk.rewards().data().size(), sizeof(float) * steps);
}

}  // namespace
}  // namespace proxima
