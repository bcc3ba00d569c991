// The chunk codec round trip and every malformed-chunk class the validator
// must reject, each with a message naming the field.
#include <ATen/ATen.h>

#include <cmath>
#include <functional>
#include <limits>

#include "common/wire/chunk_codec.h"
#include "common/rng.h"
#include "gtest/gtest.h"
#include "common/wire/chunk_validator.h"
#include "tests/support/synthetic_chunk.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::StartsWith;

constexpr int kT = 6, kE = 3, kD = 4;

ChunkSpec CartPoleSpec() { return ChunkSpec{kD, Space::Discrete(2), kE, kT}; }

// A rollout with one termination at (1, 0) and one truncation at (4, 2).
constexpr EpisodeRecord kEpisodes[] = {{1, 0, 12.0, 12, false}, {4, 2, 500.0, 500, true}};

RolloutBatch MakeBatch() { return testing::SyntheticBatch(CartPoleSpec(), kT, kEpisodes); }

v1::TrajectoryChunk MakeChunk() {
  return testing::SyntheticChunk(CartPoleSpec(), kT, ChunkHeader{7, 99, 3, 11, false, 0.5f},
                                 kEpisodes);
}

TEST(ChunkCodecTest, RoundTripIsExact) {
  RolloutBatch b = MakeBatch();
  v1::TrajectoryChunk c;
  const EpisodeRecord eps[] = {{1, 0, 12.0, 12, false}, {4, 2, 500.0, 500, true}};
  EncodeChunk(b, true, ChunkHeader{7, 99, 3, 11, false, 0.5f}, eps, &c);
  ASSERT_TRUE(ValidateChunkPayload(c, CartPoleSpec()).ok()) << ValidateChunkPayload(c, CartPoleSpec());
  // Through the wire bytes, as the learner sees it.
  v1::TrajectoryChunk parsed;
  ASSERT_TRUE(parsed.ParseFromString(c.SerializeAsString()));
  EXPECT_EQ(parsed.actor_id(), 7u);
  EXPECT_EQ(parsed.session_id(), 99u);
  EXPECT_EQ(parsed.seq(), 3u);
  EXPECT_EQ(parsed.policy_version(), 11u);
  RolloutBatch d = DecodeChunk(parsed, true);
  EXPECT_TRUE(at::equal(d.obs, b.obs));
  EXPECT_TRUE(at::equal(d.actions, b.actions));
  EXPECT_TRUE(at::equal(d.behaviour_logp, b.behaviour_logp));
  EXPECT_TRUE(at::equal(d.rewards, b.rewards));
  EXPECT_TRUE(at::equal(d.terminated, b.terminated));
  EXPECT_TRUE(at::equal(d.truncated, b.truncated));
  EXPECT_TRUE(at::equal(d.bootstrap_obs, b.bootstrap_obs));
  EXPECT_TRUE(at::equal(d.final_obs, b.final_obs));
  ASSERT_EQ(d.final_index.size(), 1u);
  EXPECT_EQ(d.final_index[0].t, 4);
  EXPECT_EQ(d.final_index[0].e, 2);
  EXPECT_TRUE(d.Validate(kD, 1, true).ok());
  auto episodes = ChunkEpisodes(parsed);
  ASSERT_EQ(episodes.size(), 2u);
  EXPECT_EQ(episodes[1].length, 500);
  EXPECT_TRUE(episodes[1].truncated);
}

TEST(ChunkCodecTest, ContinuousActionsRoundTrip) {
  RolloutBatch b = RolloutBatch::Allocate(2, 1, 3, 1, false);
  b.actions.copy_(at::tensor({2.7f, -9.0f}).reshape({2, 1, 1}));  // unclipped
  v1::TrajectoryChunk c;
  EncodeChunk(b, false, ChunkHeader{}, {}, &c);
  ChunkSpec spec{3, Space::Box({-2.0f}, {2.0f}), 1, 2};
  ASSERT_TRUE(ValidateChunkPayload(c, spec).ok()) << ValidateChunkPayload(c, spec);
  EXPECT_TRUE(at::equal(DecodeChunk(c, false).actions, b.actions));
}

struct Malformed {
  const char* name;
  std::function<void(v1::TrajectoryChunk&)> mutate;
  const char* field;
};

void SetFloat(v1::TensorProto* t, size_t index, float v) {
  std::memcpy(t->mutable_data()->data() + index * sizeof(float), &v, sizeof(float));
}

TEST(ChunkValidatorTest, EveryMalformedClassIsRejectedNamingTheField) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const Malformed cases[] = {
      {"obs shape", [](auto& c) { c.mutable_observations()->set_shape(2, kD + 1); },
       "observations: shape"},
      {"obs bytes", [](auto& c) { c.mutable_observations()->mutable_data()->pop_back(); },
       "observations: data has"},
      {"actions dtype", [](auto& c) { c.mutable_actions()->set_dtype(v1::DTYPE_FLOAT32); },
       "actions: dtype"},
      {"actions range",
       [](auto& c) {
         int64_t bad = 2;
         std::memcpy(c.mutable_actions()->mutable_data()->data() + 8 * 5, &bad, 8);
       },
       "actions: action 2"},
      {"negative action",
       [](auto& c) {
         int64_t bad = -1;
         std::memcpy(c.mutable_actions()->mutable_data()->data(), &bad, 8);
       },
       "actions: action -1"},
      {"NaN obs", [nan](auto& c) { SetFloat(c.mutable_observations(), 7, nan); },
       "observations: non-finite"},
      {"Inf reward", [inf](auto& c) { SetFloat(c.mutable_rewards(), 2, inf); },
       "rewards: non-finite"},
      {"NaN logp", [nan](auto& c) { SetFloat(c.mutable_behaviour_log_probs(), 0, nan); },
       "behaviour_log_probs: non-finite"},
      {"NaN bootstrap", [nan](auto& c) { SetFloat(c.mutable_bootstrap_observations(), 1, nan); },
       "bootstrap_observations: non-finite"},
      {"flag 2", [](auto& c) { (*c.mutable_terminated()->mutable_data())[4] = 2; },
       "terminated: flag value 2"},
      {"missing truncated obs", [](auto& c) { c.clear_truncated_observations(); },
       "truncated_observations: missing"},
      {"truncated obs length",
       [](auto& c) { c.mutable_truncated_observations(0)->mutable_observation()->Add(1.0f); },
       "truncated_observations: entry 0 has 5 values"},
      {"NaN truncated obs",
       [nan](auto& c) { c.mutable_truncated_observations(0)->set_observation(0, nan); },
       "truncated_observations: entry 0 is not finite"},
      {"extra episode", [](auto& c) { *c.add_episodes() = c.episodes(0); }, "episodes: 3 entries"},
      {"wrong episode index", [](auto& c) { c.mutable_episodes(0)->set_env(1); },
       "episodes: entry 0"},
      {"num_envs", [](auto& c) { c.set_num_envs(kE + 1); }, "num_envs: 4, want 3"},
      {"num_steps", [](auto& c) { c.set_num_steps(kT - 1); }, "num_steps: 5, want 6"},
      {"too many steps", [](auto& c) { c.set_num_steps(kT + 1); c.set_final(true); },
       "num_steps: 7"},
      {"missing tensor", [](auto& c) { c.clear_rewards(); }, "rewards: dtype"},
  };
  for (const Malformed& m : cases) {
    v1::TrajectoryChunk c = MakeChunk();
    ASSERT_TRUE(ValidateChunkPayload(c, CartPoleSpec()).ok());
    m.mutate(c);
    EXPECT_THAT(ValidateChunkPayload(c, CartPoleSpec()),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith(m.field)))
        << m.name;
  }
}

TEST(ChunkValidatorTest, FinalChunkMayBeShorter) {
  RolloutBatch b = RolloutBatch::Allocate(2, kE, kD, 1, true);
  v1::TrajectoryChunk c;
  EncodeChunk(b, true, ChunkHeader{1, 1, 0, 0, /*final=*/true, 0}, {}, &c);
  EXPECT_TRUE(ValidateChunkPayload(c, CartPoleSpec()).ok());
  c.set_final(false);
  EXPECT_FALSE(ValidateChunkPayload(c, CartPoleSpec()).ok());
}

TEST(ChunkValidatorTest, RandomBytesNeverCrash) {
  // Whatever parses from random bytes is either rejected or well-formed.
  Rng rng(5);
  int parsed = 0;
  const std::string valid = MakeChunk().SerializeAsString();
  for (int i = 0; i < 3000; ++i) {
    std::string bytes = valid;
    const int flips = 1 + static_cast<int>(rng.UniformInt(8));
    for (int f = 0; f < flips; ++f) {
      bytes[rng.UniformInt(bytes.size())] = static_cast<char>(rng.UniformInt(256));
    }
    v1::TrajectoryChunk c;
    if (!c.ParseFromString(bytes)) continue;
    ++parsed;
    if (ValidateChunkPayload(c, CartPoleSpec()).ok()) {
      RolloutBatch d = DecodeChunk(c, true);
      EXPECT_TRUE(d.Validate(kD, 1, true).ok());
    }
  }
  EXPECT_GT(parsed, 0);
}

}  // namespace
}  // namespace proxima
