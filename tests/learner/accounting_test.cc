// Chunk accounting checked against the test's own counts (ChunkLedger): what
// the test sent, the acks it got by outcome, and what the trainer did with
// every accepted chunk (the server's test hook on its batch path) — under
// rejections, duplicates, lag drops, a failed update and shutdown — and the
// same drops as the run's metrics rows and summary.json report them.
#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "learner/server/learner_server.h"
#include "tests/learner/chunk_ledger.h"
#include "tests/learner/learner_server_fixture.h"
#include "tests/learner/test_actor.h"

namespace proxima {
namespace {

using ::proxima::testing::ChunkLedger;
using ::proxima::testing::Dropped;
using ::proxima::testing::TestActor;

class AccountingTest : public ::proxima::testing::LearnerServerFixture {
 protected:
  // Starts the server with the ledger's hook; update number `fail_at`
  // (1-based, counting attempts) fails.
  void StartWithLedger(int fail_at) {
    LearnerTestHooks hooks;
    hooks.on_chunk_done = ledger_.FateHook();
    hooks.fail_update = [this, fail_at] { return ++update_attempts_ == fail_at; };
    StartServer(std::move(hooks));
  }

  // Sends `chunk` as `actor`, records it and its ack; returns the outcome.
  v1::ChunkOutcome SendAndRecord(TestActor& actor, const std::string& name,
                                 const v1::TrajectoryChunk& chunk) {
    std::optional<v1::ChunkAck> ack = actor.Send(chunk);
    EXPECT_TRUE(ack.has_value()) << name << " seq " << chunk.seq();
    if (!ack) return v1::CHUNK_OUTCOME_UNSPECIFIED;
    ledger_.RecordAck(name, chunk, *ack);
    return ack->outcome();
  }

  // Waits until every accepted chunk has a fate (nothing queued).
  v1::LearnerStatus WaitDrained() {
    return WaitStatus([](const v1::LearnerStatus& s) { return s.chunks_queued() == 0; }, 60);
  }

  // The server calls the ledger's hook until it is gone: stop it first.
  void TearDown() override { server_.reset(); }

  ChunkLedger ledger_;
  std::atomic<int> update_attempts_{0};
};

TEST_F(AccountingTest, AsyncCountsMatchTheTestsOwnUnderRejectsDuplicatesLagAndAFailedUpdate) {
  options_.max_policy_lag = 1;
  StartWithLedger(/*fail_at=*/2);
  auto a = Actor("a");
  auto b = Actor("b");
  ASSERT_TRUE(a->WaitForWeights(0));
  ASSERT_TRUE(b->WaitForWeights(0));
  v1::TrajectoryChunk stale = a->Rollout();  // acted with version 0
  a->set_next_seq(0);
  // Good chunks from both actors until the learner has made three attempts
  // (the second fails) and published two versions.
  v1::TrajectoryChunk last_a;
  for (int i = 0; i < 40 && server_->Status(false).policy_version() < 2; ++i) {
    const uint64_t v = server_->Status(false).policy_version();
    ASSERT_TRUE(a->WaitForWeights(v));
    ASSERT_TRUE(b->WaitForWeights(v));
    last_a = a->Rollout();
    EXPECT_EQ(SendAndRecord(*a, "a", last_a), v1::CHUNK_OUTCOME_ACCEPTED);
    EXPECT_EQ(SendAndRecord(*b, "b", b->Rollout()), v1::CHUNK_OUTCOME_ACCEPTED);
    WaitStatus([&](const v1::LearnerStatus& s) { return s.chunks_queued() == 0; });
  }
  ASSERT_GE(server_->Status(false).policy_version(), 2u);
  // A resend of a processed chunk, a malformed chunk, and one too old.
  EXPECT_EQ(SendAndRecord(*a, "a", last_a), v1::CHUNK_OUTCOME_DUPLICATE);
  v1::TrajectoryChunk bad = a->Rollout();
  bad.mutable_observations()->set_shape(2, 5);
  EXPECT_EQ(SendAndRecord(*a, "a", bad), v1::CHUNK_OUTCOME_REJECTED_INVALID);
  stale.set_seq(a->next_seq());
  a->set_next_seq(a->next_seq() + 1);
  EXPECT_EQ(SendAndRecord(*a, "a", stale), v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG);
  ASSERT_TRUE(b->WaitForWeights(server_->Status(false).policy_version()));
  EXPECT_EQ(SendAndRecord(*b, "b", b->Rollout()), v1::CHUNK_OUTCOME_ACCEPTED);

  const v1::LearnerStatus st = WaitDrained();
  EXPECT_EQ(ledger_.Check(st), "");
  // The failed update trained nothing and did not move the version.
  const uint64_t failed = ledger_.FateCount(v1::CHUNK_OUTCOME_DROPPED_UPDATE_FAILED);
  EXPECT_GE(failed, 1u);
  EXPECT_EQ(Dropped(st, v1::CHUNK_OUTCOME_DROPPED_UPDATE_FAILED), failed);
  EXPECT_EQ(st.policy_version(), static_cast<uint64_t>(update_attempts_.load() - 1));
  EXPECT_EQ(st.chunks_trained(), ledger_.FateCount(v1::CHUNK_OUTCOME_ACCEPTED));
  EXPECT_EQ(ledger_.AckCount(v1::CHUNK_OUTCOME_DUPLICATE), 1u);
}

TEST_F(AccountingTest, SyncRoundWhoseUpdateFailsIsDroppedAndTheNextRoundTrains) {
  options_.mode = TrainingModeKind::kSync;
  StartWithLedger(/*fail_at=*/1);
  auto a = Actor("a", 2);
  auto b = Actor("b", 2);
  for (int round = 0; round < 3; ++round) {
    const uint64_t v = server_->Status(false).policy_version();
    ASSERT_TRUE(a->WaitForWeights(v));
    ASSERT_TRUE(b->WaitForWeights(v));
    EXPECT_EQ(SendAndRecord(*a, "a", a->Rollout()), v1::CHUNK_OUTCOME_ACCEPTED);
    EXPECT_EQ(SendAndRecord(*b, "b", b->Rollout()), v1::CHUNK_OUTCOME_ACCEPTED);
    WaitStatus([&](const v1::LearnerStatus& s) { return s.chunks_queued() == 0; });
  }
  const v1::LearnerStatus st = WaitDrained();
  EXPECT_EQ(ledger_.Check(st), "");
  EXPECT_EQ(update_attempts_.load(), 3);
  EXPECT_EQ(st.policy_version(), 2u);  // the first round's update failed
  EXPECT_EQ(ledger_.FateCount(v1::CHUNK_OUTCOME_DROPPED_UPDATE_FAILED), 2u);
  EXPECT_EQ(ledger_.FateCount(v1::CHUNK_OUTCOME_ACCEPTED), 4u);
}

TEST_F(AccountingTest, ChunksStillQueuedAtShutdownAreDroppedAndCounted) {
  options_.max_policy_lag = 100;
  options_.queue_capacity = 3 * 4 * 128;  // room for all three chunks
  StartWithLedger(/*fail_at=*/0);
  server_->SetPaused(true);
  auto a = Actor("a");
  ASSERT_TRUE(a->WaitForWeights(0));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(SendAndRecord(*a, "a", a->Rollout()), v1::CHUNK_OUTCOME_ACCEPTED);
  }
  EXPECT_EQ(ledger_.Check(server_->Status(false)), "");  // all three queued
  server_->RequestStop("test");
  ASSERT_TRUE(server_->Wait().ok());
  const v1::LearnerStatus st = server_->Status(false);
  EXPECT_EQ(st.chunks_queued(), 0u);
  EXPECT_EQ(ledger_.Check(st), "");
  EXPECT_EQ(ledger_.FateCount(v1::CHUNK_OUTCOME_DROPPED_AT_SHUTDOWN), 3u);
  EXPECT_EQ(update_attempts_.load(), 0);
}

// Issue 17: a chunk dropped for lag shows in the next update's dropped_steps
// (LearnerStatus.last_update and metrics.csv) and in summary.json's totals.
// The summary is written after Shutdown — the trainer joined, what was queued
// dropped at shutdown, the server stopped — so nothing is queued and the test
// asserts collected = trained + dropped exactly.
TEST_F(AccountingTest, LagDropShowsInTheNextMetricsRowAndInTheSummary) {
  options_.max_policy_lag = 1;
  StartWithLedger(/*fail_at=*/0);
  auto a = Actor("a");
  // Sends a fresh rollout and waits until it is trained (version `v`).
  auto train_one = [&](uint64_t v) {
    ASSERT_TRUE(a->WaitForWeights(v - 1));
    EXPECT_EQ(SendAndRecord(*a, "a", a->Rollout()), v1::CHUNK_OUTCOME_ACCEPTED);
    WaitStatus([&](const v1::LearnerStatus& s) {
      return s.policy_version() >= v && s.chunks_queued() == 0;
    });
  };
  // Acted with `version`, sent later: the seq it took is handed out again.
  auto hold = [&](uint64_t version) {
    EXPECT_TRUE(a->WaitForWeights(version));
    v1::TrajectoryChunk c = a->Rollout();
    a->set_next_seq(c.seq());
    return c;
  };
  auto send_held = [&](v1::TrajectoryChunk c) {
    c.set_seq(a->next_seq());
    a->set_next_seq(a->next_seq() + 1);
    return SendAndRecord(*a, "a", c);
  };
  v1::TrajectoryChunk stale = hold(0);
  train_one(1);
  v1::TrajectoryChunk lagged = hold(1);
  train_one(2);
  // Update 3 trains `lagged` at lag 1 (allowed); then `stale` (lag 3) is
  // dropped before update 4.
  EXPECT_EQ(send_held(lagged), v1::CHUNK_OUTCOME_ACCEPTED);
  WaitStatus([](const v1::LearnerStatus& s) { return s.policy_version() >= 3; });
  EXPECT_EQ(send_held(stale), v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG);
  train_one(4);
  const int64_t stale_t = static_cast<int64_t>(stale.num_steps()) * stale.num_envs();
  const int64_t chunk_t = static_cast<int64_t>(lagged.num_steps()) * lagged.num_envs();
  ASSERT_GT(stale_t, 0);

  v1::LearnerStatus st = server_->Status(false);
  ASSERT_EQ(st.policy_version(), 4u);
  const v1::UpdateMetrics& last = st.last_update();
  EXPECT_EQ(last.update(), 4u);
  EXPECT_EQ(last.dropped_steps(), static_cast<uint64_t>(stale_t));
  EXPECT_DOUBLE_EQ(last.dropped_fraction(),
                   static_cast<double>(stale_t) / (stale_t + last.batch_transitions()));

  server_->RequestStop("test");
  ASSERT_TRUE(server_->Wait().ok());
  st = server_->Status(false);
  EXPECT_EQ(ledger_.Check(st), "");

  // metrics.csv, read by column name: the drop in row 4 only, lag 1 in row 3.
  absl::StatusOr<std::string> csv = ReadFile(options_.run_dir + "/metrics.csv");
  ASSERT_TRUE(csv.ok()) << csv.status();
  const std::vector<std::string> lines = absl::StrSplit(*csv, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u) << *csv;
  const std::vector<std::string> header = absl::StrSplit(lines[0], ',');
  auto column = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    EXPECT_NE(it, header.end()) << name;
    return static_cast<size_t>(it - header.begin());
  };
  const size_t dropped_col = column("dropped_steps"), fraction_col = column("dropped_fraction"),
               max_lag_col = column("max_lag");
  for (size_t row = 1; row < lines.size(); ++row) {
    const std::vector<std::string> cells = absl::StrSplit(lines[row], ',');
    ASSERT_EQ(cells.size(), header.size()) << lines[row];
    EXPECT_EQ(cells[dropped_col], row == 4 ? absl::StrCat(stale_t) : "0") << lines[row];
    EXPECT_EQ(cells[fraction_col] == "0", row != 4) << lines[row];
    EXPECT_EQ(cells[max_lag_col], row == 3 ? "1" : "0") << lines[row];
  }

  const nlohmann::json summary = LoadJsonOrDie(options_.run_dir + "/summary.json");
  EXPECT_EQ(summary["transitions_collected"], st.transitions_received()) << summary.dump();
  EXPECT_EQ(summary["transitions_trained"], st.transitions_trained());
  EXPECT_EQ(summary["transitions_trained"], 4 * chunk_t);
  EXPECT_EQ(summary["transitions_dropped"], stale_t);
  EXPECT_EQ(summary["transitions_dropped_by_reason"],
            nlohmann::json({{"dropped_policy_lag", stale_t}}));
  EXPECT_EQ(summary["transitions_collected"].get<int64_t>(),
            summary["transitions_trained"].get<int64_t>() +
                summary["transitions_dropped"].get<int64_t>());
  EXPECT_DOUBLE_EQ(summary["dropped_fraction"].get<double>(),
                   static_cast<double>(stale_t) / (4 * chunk_t + stale_t));
  EXPECT_DOUBLE_EQ(summary["mean_lag"].get<double>(), 1.0 / 4);  // one chunk of four at lag 1
  EXPECT_EQ(summary["max_lag"], 1);
}

}  // namespace
}  // namespace proxima
