// learner/checkpoint: FindLatestCheckpoint returns the newest
// checkpoint whose meta record holds, with its counters; a newer one with
// counters out of range (written here through SaveCheckpoint, which stores
// what it is given) is skipped with its reason, never loaded with a negative
// or wrapped-around count.
#include "learner/checkpoint.h"

#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "common/envs/registry.h"
#include "gtest/gtest.h"
#include "learner/ppo_config.h"
#include "learner/ppo_updater.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace proxima {
namespace {

std::unique_ptr<PpoUpdater> CartPoleUpdater() {
  absl::StatusOr<PpoConfig> config = PresetFor("CartPole-v1");
  absl::StatusOr<EnvSpec> spec = GetEnvSpec("CartPole-v1");
  EXPECT_TRUE(config.ok() && spec.ok());
  config->device = "cpu";
  absl::StatusOr<std::unique_ptr<PpoUpdater>> updater =
      PpoUpdater::Create(*config, *spec, torch::Device(torch::kCPU));
  EXPECT_TRUE(updater.ok()) << updater.status();
  return *std::move(updater);
}

CheckpointCounters Counters(uint64_t version) {
  CheckpointCounters c;
  c.policy_version = version;
  c.env_steps = 1000 * static_cast<int64_t>(version);
  c.transitions_trained = 900;
  c.updates = 3;
  c.episodes = 41;
  c.wall_seconds = 12.5;
  c.actor_ids = {{"actor-a", 0}, {"actor-b", 7}};
  return c;
}

class CheckpointTest : public ::testing::Test {
 protected:
  void Save(const CheckpointCounters& c) {
    ASSERT_TRUE(SaveCheckpoint(dir_, *updater_, c, /*keep=*/10).ok());
  }

  std::string dir_ = MakeTempDir("checkpoint_test");
  std::unique_ptr<PpoUpdater> updater_ = CartPoleUpdater();
};

TEST_F(CheckpointTest, LoadsTheNewestWithItsCounters) {
  Save(Counters(4));
  Save(Counters(9));
  absl::StatusOr<LoadedCheckpoint> latest = FindLatestCheckpoint(dir_);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->counters.policy_version, 9u);
  EXPECT_EQ(latest->counters.env_steps, 9000);
  EXPECT_EQ(latest->counters.transitions_trained, 900);
  EXPECT_EQ(latest->counters.updates, 3);
  EXPECT_EQ(latest->counters.episodes, 41);
  EXPECT_DOUBLE_EQ(latest->counters.wall_seconds, 12.5);
  EXPECT_EQ(latest->counters.actor_ids, Counters(9).actor_ids);
  EXPECT_EQ(latest->config.env_id, "CartPole-v1");
}

// `proxima checkpoint --tag T` (Admin.SaveCheckpoint's tag): the file is
// ckpt-<version>-<tag>.pt, loadable like the others and never pruned.
TEST_F(CheckpointTest, TagNamesTheFileAndKeepsItFromPruning) {
  absl::StatusOr<SavedCheckpoint> tagged =
      SaveCheckpoint(dir_, *updater_, Counters(2), /*keep=*/1, "", "before-lr_change");
  ASSERT_TRUE(tagged.ok()) << tagged.status();
  EXPECT_EQ(tagged->path, dir_ + "/ckpt-000000000002-before-lr_change.pt");
  ASSERT_TRUE(SaveCheckpoint(dir_, *updater_, Counters(3), /*keep=*/1).ok());
  ASSERT_TRUE(SaveCheckpoint(dir_, *updater_, Counters(4), /*keep=*/1).ok());
  EXPECT_EQ(ListCheckpoints(dir_),
            (std::vector<std::string>{dir_ + "/ckpt-000000000004.pt", tagged->path}));
  // The only one left is loadable on its own.
  std::remove((dir_ + "/ckpt-000000000004.pt").c_str());
  absl::StatusOr<LoadedCheckpoint> latest = FindLatestCheckpoint(dir_);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->path, tagged->path);
  for (const char* bad : {"a b", "../x", "x.pt"}) {
    absl::StatusOr<SavedCheckpoint> s = SaveCheckpoint(dir_, *updater_, Counters(5), 1, "", bad);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.status().message()), ::testing::HasSubstr(bad));
  }
}

TEST_F(CheckpointTest, SkipsANewerCheckpointWhoseCountersAreOutOfRange) {
  struct Case {
    const char* label;
    void (*damage)(CheckpointCounters&);
  };
  const Case cases[] = {
      {"'env_steps' is -1", [](CheckpointCounters& c) { c.env_steps = -1; }},
      {"'transitions_trained' is -5", [](CheckpointCounters& c) { c.transitions_trained = -5; }},
      {"'updates' is -2", [](CheckpointCounters& c) { c.updates = -2; }},
      {"'episodes' is -9223372036854775808",
       [](CheckpointCounters& c) { c.episodes = std::numeric_limits<int64_t>::min(); }},
      {"'policy_version' is 18446744073709551615",
       [](CheckpointCounters& c) { c.policy_version = std::numeric_limits<uint64_t>::max(); }},
      {"'wall_seconds' is -3.0", [](CheckpointCounters& c) { c.wall_seconds = -3.0; }},
      {"'wall_seconds' is null", [](CheckpointCounters& c) { c.wall_seconds = std::nan(""); }},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.label);
    const std::string bad_dir = MakeTempDir("checkpoint_test_bad");
    ASSERT_TRUE(SaveCheckpoint(bad_dir, *updater_, Counters(2), 10).ok());
    CheckpointCounters bad = Counters(5);
    k.damage(bad);
    // The file name carries the version; a wrapped one would sort first.
    ASSERT_TRUE(SaveCheckpoint(bad_dir, *updater_, bad, 10).ok());
    absl::StatusOr<LoadedCheckpoint> latest = FindLatestCheckpoint(bad_dir);
    ASSERT_TRUE(latest.ok()) << latest.status();
    EXPECT_EQ(latest->counters.policy_version, 2u) << "the damaged checkpoint was loaded";
    EXPECT_EQ(latest->counters.env_steps, 2000);
  }
}

TEST_F(CheckpointTest, NothingLoadableIsNotFoundNamingEachFileAndField) {
  CheckpointCounters bad = Counters(3);
  bad.env_steps = -1;
  Save(bad);
  absl::StatusOr<LoadedCheckpoint> latest = FindLatestCheckpoint(dir_);
  ASSERT_EQ(latest.status().code(), absl::StatusCode::kNotFound) << latest.status();
  const std::string message(latest.status().message());
  EXPECT_NE(message.find("ckpt-000000000003.pt"), std::string::npos) << message;
  EXPECT_NE(message.find("meta field 'env_steps' is -1, not a count"), std::string::npos)
      << message;

  const std::string empty = MakeTempDir("checkpoint_test_empty");
  EXPECT_EQ(FindLatestCheckpoint(empty).status().code(), absl::StatusCode::kNotFound);
}

TEST(ReadCheckpointCountersTest, RefusesFractionsWrongTypesAndHugeActorIds) {
  const nlohmann::json good = {
      {"policy_version", 3}, {"env_steps", 10},     {"transitions_trained", 8}, {"updates", 1},
      {"episodes", 2},       {"wall_seconds", 0.5}, {"actor_ids", {{"a", 1}}}};
  CheckpointCounters c;
  ASSERT_TRUE(ReadCheckpointCounters(good, &c).ok());
  EXPECT_EQ(c.env_steps, 10);
  EXPECT_EQ(c.actor_ids.at("a"), 1u);

  struct Case {
    const char* key;
    nlohmann::json value;
    const char* expected;
  };
  const Case cases[] = {
      {"env_steps", 2.5, "meta field 'env_steps' is 2.5"},
      {"updates", "7", "meta field 'updates' is \"7\""},
      {"episodes", nullptr, "meta field 'episodes' is null"},
      {"wall_seconds", "1", "meta field 'wall_seconds' is \"1\""},
      {"actor_ids", {{"a", 4294967296LL}}, "meta field 'actor_ids.a' is 4294967296"},
      {"actor_ids", {{"a", -1}}, "meta field 'actor_ids.a' is -1"},
      {"actor_ids", 5, "meta field 'actor_ids' is 5, not an object"},
  };
  for (const Case& k : cases) {
    nlohmann::json bad = good;
    bad[k.key] = k.value;
    const absl::Status s = ReadCheckpointCounters(bad, &c);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << k.key << ": " << s;
    EXPECT_NE(s.message().find(k.expected), absl::string_view::npos) << s;
  }
  nlohmann::json missing = good;
  missing.erase("updates");
  EXPECT_THROW(ReadCheckpointCounters(missing, &c), nlohmann::json::exception);
}

}  // namespace
}  // namespace proxima
