// Resuming is exact: a checkpoint brings back every tensor the next update
// reads (weights, Adam's moments and step, the minibatch-shuffle generator,
// KL β, observation-normalizer statistics) bit for bit, so the first update
// after a restore equals the uninterrupted run's; and the in-process trainer,
// saved after K updates and resumed in a fresh trainer, ends its K+M updates
// with the same weights as a trainer that never stopped.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "common/envs/registry.h"
#include "gtest/gtest.h"
#include "learner/in_process_trainer.h"
#include "learner/ppo_config.h"
#include "learner/ppo_updater.h"
#include "learner/checkpoint.h"
#include "learner/trainer_checkpoint.h"
#include "tests/learner/same_updater_state.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using testing::ExpectSameUpdaterState;
using testing::SameBits;

PpoConfig SmallCartPoleConfig() {
  absl::StatusOr<PpoConfig> config = PresetFor("CartPole-v1");
  EXPECT_TRUE(config.ok()) << config.status();
  config->device = "cpu";
  config->num_envs = 4;
  config->rollout_length = 32;
  config->num_minibatches = 4;
  config->normalize_obs = true;
  config->adaptive_kl = true;  // β moves (doubles) every update, so it must come back
  config->kl_target = 1e-9;
  config->kl_beta = 0.5;
  return *config;
}

std::unique_ptr<PpoUpdater> MakeUpdater(const PpoConfig& config) {
  absl::StatusOr<EnvSpec> spec = GetEnvSpec(config.env_id);
  EXPECT_TRUE(spec.ok());
  absl::StatusOr<std::unique_ptr<PpoUpdater>> u =
      PpoUpdater::Create(config, *spec, torch::Device(torch::kCPU));
  EXPECT_TRUE(u.ok()) << u.status();
  return *std::move(u);
}

// A batch with raw (unnormalized) observations, mixed rewards, one
// termination and one truncation; `seed` picks its contents.
RolloutBatch FixedBatch(const PpoConfig& config, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int T = config.rollout_length, E = config.num_envs;
  RolloutBatch b = RolloutBatch::Allocate(T, E, 4, 1, /*discrete=*/true);
  b.obs.copy_(at::randn({T, E, 4}, gen) * 2.0 + 0.5);
  b.actions.copy_(at::randint(0, 2, {T, E}, gen));
  b.behaviour_logp.fill_(std::log(0.5f));
  b.rewards.copy_(at::randn({T, E}, gen));
  b.bootstrap_obs.copy_(at::randn({E, 4}, gen));
  b.terminated[5][1] = 1;
  b.truncated[9][2] = 1;
  b.final_index.push_back({9, 2});
  b.final_obs = at::randn({1, 4}, gen);
  return b;
}

// `original` trains two updates and is checkpointed; `restored` is a fresh
// updater (its own initial weights, zero Adam state, seeded generator) loaded
// from that checkpoint.
class UpdaterResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(original_->Update(FixedBatch(config_, 1), 0.0).ok());
    ASSERT_TRUE(original_->Update(FixedBatch(config_, 2), 0.25).ok());
    CheckpointCounters counters;
    counters.policy_version = 2;
    counters.updates = 2;
    absl::StatusOr<SavedCheckpoint> saved = SaveCheckpoint(dir_, *original_, counters, 2);
    ASSERT_TRUE(saved.ok()) << saved.status();
    // Different initial weights, so nothing can pass by coincidence.
    PpoConfig other = config_;
    other.seed = config_.seed + 1;
    restored_ = MakeUpdater(other);
    ASSERT_TRUE(RestoreCheckpoint(saved->path, *restored_).ok());
  }

  const PpoConfig config_ = SmallCartPoleConfig();
  const std::string dir_ = MakeTempDir("resume_test");
  std::unique_ptr<PpoUpdater> original_ = MakeUpdater(config_);
  std::unique_ptr<PpoUpdater> restored_;
};

TEST_F(UpdaterResumeTest, CheckpointRestoresEveryTensorBitwise) {
  // The state is not trivial: two updates of Adam steps, β moved, the
  // normalizer has folded in two batches.
  const int64_t steps_per_update = config_.update_epochs * config_.num_minibatches;
  EXPECT_EQ(original_->adam_steps(), 2 * steps_per_update);
  EXPECT_GT(original_->adam_exp_avg_sq().abs().max().item<double>(), 0.0);
  EXPECT_EQ(original_->kl_beta(), 4 * config_.kl_beta);
  EXPECT_GT(original_->obs_stats().count(), 2.0 * config_.rollout_length * config_.num_envs);
  ExpectSameUpdaterState(*original_, *restored_);
}

TEST_F(UpdaterResumeTest, FirstUpdateAfterResumeEqualsTheUninterruptedOne) {
  const RolloutBatch next = FixedBatch(config_, 3);
  absl::StatusOr<UpdateMetrics> a = original_->Update(next, 0.5);
  absl::StatusOr<UpdateMetrics> b = restored_->Update(next, 0.5);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(SameBits(a->policy_loss, b->policy_loss));
  EXPECT_TRUE(SameBits(a->value_loss, b->value_loss));
  EXPECT_TRUE(SameBits(a->approx_kl, b->approx_kl));
  ExpectSameUpdaterState(*original_, *restored_);
}

// --- The in-process trainer -------------------------------------------------

PpoConfig SmallTrainerConfig(const std::string& env) {
  absl::StatusOr<PpoConfig> config = PresetFor(env);
  EXPECT_TRUE(config.ok()) << config.status();
  config->device = "cpu";
  config->torch_threads = 1;
  config->num_envs = 4;
  config->rollout_length = 64;
  config->num_minibatches = 4;
  config->update_epochs = 2;
  config->normalize_obs = true;
  config->normalize_reward = true;  // the reward scaler's running state must come back too
  config->total_steps = 6 * 4 * 64;  // 6 updates
  return *config;
}

bool SameNumber(double a, double b) { return (std::isnan(a) && std::isnan(b)) || SameBits(a, b); }

class TrainerResumeTest : public ::testing::TestWithParam<const char*> {};

TEST_P(TrainerResumeTest, SavedAfterKUpdatesAndResumedEqualsKPlusMUninterrupted) {
  const PpoConfig config = SmallTrainerConfig(GetParam());
  ASSERT_EQ(config.num_updates(), 6);
  std::vector<MetricsRow> straight_rows, resumed_rows;

  TrainerOptions straight_options;
  straight_options.on_update = [&](const MetricsRow& r) { straight_rows.push_back(r); };
  absl::StatusOr<std::unique_ptr<InProcessTrainer>> straight =
      InProcessTrainer::Create(config, straight_options);
  ASSERT_TRUE(straight.ok()) << straight.status();
  ASSERT_TRUE((*straight)->Run().ok());

  // K = 3 updates, checkpoint, and the trainer is gone.
  const std::string dir = MakeTempDir("trainer_resume_test");
  {
    TrainerOptions first_options;
    first_options.stop_after_update = 3;
    absl::StatusOr<std::unique_ptr<InProcessTrainer>> first =
        InProcessTrainer::Create(config, first_options);
    ASSERT_TRUE(first.ok()) << first.status();
    absl::StatusOr<RunSummary> s = (*first)->Run();
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->updates, 3);
    absl::StatusOr<SavedCheckpoint> saved = SaveTrainerCheckpoint(dir, **first, 2);
    ASSERT_TRUE(saved.ok()) << saved.status();
  }
  // M = 3 more in a fresh trainer built from the checkpoint alone.
  TrainerOptions resumed_options;
  resumed_options.on_update = [&](const MetricsRow& r) { resumed_rows.push_back(r); };
  absl::StatusOr<std::unique_ptr<InProcessTrainer>> resumed = ResumeTrainer(dir, resumed_options);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ((*resumed)->updates(), 3);
  absl::StatusOr<RunSummary> s = (*resumed)->Run();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->updates, 6);

  ExpectSameUpdaterState((*straight)->updater(), (*resumed)->updater());
  ASSERT_EQ(straight_rows.size(), 6u);
  ASSERT_EQ(resumed_rows.size(), 3u);
  for (size_t i = 0; i < resumed_rows.size(); ++i) {
    const MetricsRow& want = straight_rows[3 + i];
    const MetricsRow& got = resumed_rows[i];
    EXPECT_EQ(got.update, want.update);
    EXPECT_EQ(got.env_steps, want.env_steps);
    EXPECT_EQ(got.episodes, want.episodes) << "update " << want.update;
    EXPECT_TRUE(SameNumber(got.mean_return, want.mean_return)) << "update " << want.update;
    EXPECT_TRUE(SameNumber(got.update_metrics.policy_loss, want.update_metrics.policy_loss))
        << "update " << want.update;
    EXPECT_TRUE(SameNumber(got.update_metrics.value_loss, want.update_metrics.value_loss))
        << "update " << want.update;
  }
}

INSTANTIATE_TEST_SUITE_P(Envs, TrainerResumeTest,
                         ::testing::Values("CartPole-v1", "Pendulum-v1"),
                         [](const auto& info) {
                           std::string name = info.param;
                           return name.substr(0, name.find('-'));
                         });

TEST(TrainerCheckpointTest, ALearnerCheckpointIsNotResumedAsATrainer) {
  const std::string dir = MakeTempDir("trainer_resume_refuse");
  std::unique_ptr<PpoUpdater> u = MakeUpdater(SmallCartPoleConfig());
  ASSERT_TRUE(SaveCheckpoint(dir, *u, CheckpointCounters(), 1).ok());
  EXPECT_THAT(ResumeTrainer(dir, TrainerOptions()).status(),
              testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::HasSubstr("proxima-learner --resume")));
}

}  // namespace
}  // namespace proxima
