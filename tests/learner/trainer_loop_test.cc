// TrainerLoop (learner/server/trainer_loop.h) without gRPC: a real
// PpoUpdater (CartPole, CPU, a small batch) fed through the TrajectoryQueue.
// The trainer sleeps until chunks arrive, trains, moves the version, seals
// the chunks' fates and publishes; pause, a failing update, Admin requests
// and Close() (chunks it holds are dropped at shutdown) — every wait in the
// test is on a callback, none on a sleep.
#include "learner/server/trainer_loop.h"

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/envs/registry.h"
#include "gtest/gtest.h"
#include "learner/ppo_updater.h"
#include "tests/support/poll.h"
#include "tests/support/synthetic_chunk.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

class TrainerLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = *PresetFor("CartPole-v1");
    config_.device = "cpu";
    config_.num_envs = 2;
    config_.rollout_length = 16;  // a batch is 32 transitions: one chunk
    config_.num_minibatches = 2;
    config_.update_epochs = 1;
    config_.total_steps = 1'000'000;
    spec_ = *GetEnvSpec("CartPole-v1");
    chunk_spec_.obs_dim = spec_.obs_dim();
    chunk_spec_.action_space = spec_.action_space;
    chunk_spec_.num_envs = config_.num_envs;
    chunk_spec_.rollout_length = config_.rollout_length;
    options_.checkpoint_every_seconds = 0;
    auto u = PpoUpdater::Create(config_, spec_, torch::Device(torch::kCPU));
    ASSERT_TRUE(u.ok()) << u.status();
    updater_ = std::move(*u);
    accounting_.SetFateHook(
        [this](const std::string&, uint64_t, int64_t, v1::ChunkOutcome fate) {
          absl::MutexLock l(&mu_);
          ++fates_[fate];
        });
  }

  void TearDown() override {
    queue_.Close();
    if (trainer_) trainer_->Join();
  }

  void StartTrainer() {
    TrainerLoop::Deps d{updater_.get(), &queue_, &accounting_, &sessions_, &progress_,
                        &publisher_, nullptr, nullptr,
                        [this] { return fail_next_.exchange(false); },
                        [](std::vector<TrajectoryQueue::Released>) {},
                        [](double) {},
                        [this] {
                          absl::MutexLock l(&mu_);
                          ++updates_seen_;
                        },
                        [this](const std::string& reason) {
                          absl::MutexLock l(&mu_);
                          finished_ = reason;
                        }};
    const std::string run_dir = MakeTempDir("trainer_loop");
    std::filesystem::create_directories(run_dir + "/checkpoints");
    trainer_ = std::make_unique<TrainerLoop>(std::move(d), config_, options_, run_dir);
    trainer_->Publish();
    trainer_->Start();
  }

  // One accepted chunk of a full batch, acted with `version`.
  void Push(uint64_t version) {
    QueuedChunk c;
    c.session_id = 1;
    c.actor_name = "a";
    c.seq = seq_++;
    c.policy_version = version;
    c.batch = testing::SyntheticBatch(chunk_spec_, config_.rollout_length);
    c.transitions = static_cast<int64_t>(config_.rollout_length) * config_.num_envs;
    accounting_.Accepted(c.transitions);
    ASSERT_EQ(queue_.Push(std::move(c), nullptr), TrajectoryQueue::PushResult::kQueued);
  }

  // Waits until the trainer has made `n` update attempts.
  bool WaitUpdates(int n) {
    struct Want {
      const int* seen;
      int n;
    } want{&updates_seen_, n};
    absl::MutexLock l(&mu_);
    return mu_.AwaitWithTimeout(
        absl::Condition(+[](Want* w) { return *w->seen >= w->n; }, &want), absl::Seconds(60));
  }
  int Fates(v1::ChunkOutcome f) {
    absl::MutexLock l(&mu_);
    return fates_[f];
  }

  PpoConfig config_;
  LearnerOptions options_;
  EnvSpec spec_;
  ChunkSpec chunk_spec_;
  std::unique_ptr<PpoUpdater> updater_;
  TrajectoryQueue queue_{1 << 20};
  ChunkAccounting accounting_;
  SessionRegistry sessions_{16, 0};
  RunProgress progress_{std::nullopt};
  WeightPublisher publisher_;
  std::unique_ptr<TrainerLoop> trainer_;
  std::atomic<bool> fail_next_{false};
  uint64_t seq_ = 0;
  absl::Mutex mu_;
  int updates_seen_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<v1::ChunkOutcome, int> fates_ ABSL_GUARDED_BY(mu_);
  std::string finished_ ABSL_GUARDED_BY(mu_);
};

TEST_F(TrainerLoopTest, TrainsEachBatchPublishesTheNextVersionAndSealsTheChunks) {
  StartTrainer();
  ASSERT_EQ(publisher_.Latest()->version, 0u);
  Push(0);
  ASSERT_TRUE(WaitUpdates(1));
  EXPECT_EQ(progress_.version(), 1u);
  EXPECT_EQ(publisher_.Latest()->version, 1u);
  Push(1);
  ASSERT_TRUE(WaitUpdates(2));
  EXPECT_EQ(publisher_.Latest()->version, 2u);
  EXPECT_EQ(Fates(v1::CHUNK_OUTCOME_ACCEPTED), 2);
  EXPECT_EQ(accounting_.counts().chunks_queued, 0u);
  EXPECT_TRUE(accounting_.CheckInvariant().ok()) << accounting_.CheckInvariant();
}

TEST_F(TrainerLoopTest, AFailedUpdateDropsItsChunksAndKeepsTheVersion) {
  StartTrainer();
  fail_next_ = true;
  Push(0);
  ASSERT_TRUE(WaitUpdates(1));
  EXPECT_EQ(progress_.version(), 0u);
  EXPECT_EQ(publisher_.Latest()->version, 0u);
  EXPECT_EQ(Fates(v1::CHUNK_OUTCOME_DROPPED_UPDATE_FAILED), 1);
  EXPECT_TRUE(accounting_.CheckInvariant().ok());
}

TEST_F(TrainerLoopTest, ChunksBeyondTheLagLimitAreCutAndPauseHoldsTheQueue) {
  options_.max_policy_lag = 0;
  StartTrainer();
  trainer_->SetPaused(true);
  Push(0);
  Push(0);
  // Paused: nothing is taken (the trainer sleeps; Push does not wake it).
  EXPECT_EQ(queue_.size(), 2u);
  trainer_->SetPaused(false);
  ASSERT_TRUE(WaitUpdates(1));
  // The second chunk was taken at version 1 with lag 1 > 0 and cut; it
  // never makes a batch, so the trainer waits for the next one.
  Push(1);
  ASSERT_TRUE(WaitUpdates(2));
  EXPECT_EQ(Fates(v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG), 1);
  EXPECT_EQ(Fates(v1::CHUNK_OUTCOME_ACCEPTED), 2);
}

TEST_F(TrainerLoopTest, ServesCheckpointAndHyperparameterRequestsWhileWaiting) {
  StartTrainer();
  absl::Notification saved;
  ASSERT_TRUE(trainer_->RequestCheckpoint([&](absl::StatusOr<v1::CheckpointInfo> info) {
    EXPECT_TRUE(info.ok()) << info.status();
    saved.Notify();
  }));
  EXPECT_TRUE(saved.WaitForNotificationWithTimeout(absl::Seconds(60)));
  v1::SetHyperparametersRequest req;
  (*req.mutable_values())["max_policy_lag"] = "7";
  v1::SetHyperparametersResponse resp = trainer_->SetHyperparameters(req);
  EXPECT_EQ(resp.errors_size(), 0);
  EXPECT_EQ(resp.effective_from_update(), 1u);
  // Served while the trainer waits for chunks, with no update in between.
  EXPECT_TRUE(testing::PollUntil([&] { return trainer_->max_policy_lag() == 7; },
                                 absl::Seconds(60)));
  v1::LearnerStatus st;
  trainer_->FillStatus(&st);
  EXPECT_EQ(st.hyperparameters().at("max_policy_lag"), "7");
  EXPECT_TRUE(st.has_last_checkpoint());
}

TEST_F(TrainerLoopTest, CloseStopsTheTrainerAndDropsWhatItHadTaken) {
  // A sync round that cannot complete (it waits for a second actor), so the
  // trainer holds the chunk it took when the queue closes.
  options_.mode = TrainingModeKind::kSync;
  options_.min_actors = 2;
  options_.sync_round_timeout_seconds = 3600;
  StartTrainer();
  Push(0);
  ASSERT_TRUE(testing::PollUntil([&] { return queue_.size() == 0; }, absl::Seconds(60)));
  queue_.Close();
  trainer_->Join();
  EXPECT_EQ(Fates(v1::CHUNK_OUTCOME_DROPPED_AT_SHUTDOWN), 1);
  EXPECT_TRUE(trainer_->TakeCheckpointRequests().empty());
  EXPECT_FALSE(trainer_->RequestCheckpoint([](absl::StatusOr<v1::CheckpointInfo>) {}));
  EXPECT_TRUE(accounting_.CheckInvariant().ok());
}

}  // namespace
}  // namespace proxima
