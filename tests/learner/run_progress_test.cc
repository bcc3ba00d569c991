// RunProgress (learner/server/run_progress.h) without a server: each metrics
// row's dropped_steps is the accounting's dropped total since the row
// before, its dropped_fraction that over dropped plus trained, and the run
// summary's lag counts the transitions of updates that trained. Also the
// helpers of learner/server/lag_report.h that show drops and progress to an
// operator.
#include "learner/server/run_progress.h"

#include <cmath>

#include "gtest/gtest.h"
#include "learner/run_files.h"
#include "learner/server/lag_report.h"

namespace proxima {
namespace {

RunProgress::Update Attempt(bool ok, int64_t transitions, double lag_sum, uint64_t lag_max,
                            int64_t dropped_total) {
  RunProgress::Update u;
  u.ok = ok;
  u.transitions = transitions;
  u.chunks = 1;
  u.lag_sum = lag_sum;
  u.lag_max = lag_max;
  u.dropped_total = dropped_total;
  return u;
}

TEST(RunProgressTest, RowsCountDropsSinceThePreviousRow) {
  RunProgress p(std::nullopt);
  // Nothing dropped yet.
  MetricsRow r = p.RecordUpdate(Attempt(true, 512, 0, 0, 0));
  EXPECT_EQ(r.dropped_steps, 0);
  EXPECT_EQ(r.dropped_fraction, 0);
  // 128 dropped (say, for lag) before the second update of 384.
  r = p.RecordUpdate(Attempt(true, 384, 384, 1, 128));
  EXPECT_EQ(r.dropped_steps, 128);
  EXPECT_DOUBLE_EQ(r.dropped_fraction, 128.0 / 512.0);
  EXPECT_EQ(r.max_lag, 1);
  EXPECT_DOUBLE_EQ(r.mean_lag, 1.0);
  // A failed attempt: its own 256 count as dropped (the caller adds them),
  // nothing trained.
  r = p.RecordUpdate(Attempt(false, 256, 512, 2, 128 + 256));
  EXPECT_EQ(r.dropped_steps, 256);
  EXPECT_EQ(r.dropped_fraction, 1.0);
  EXPECT_EQ(r.update, 2);  // the version did not move
  v1::LearnerStatus st;
  p.FillStatus(&st);
  EXPECT_EQ(st.last_update().dropped_steps(), 256u);
  EXPECT_EQ(st.last_update().dropped_fraction(), 1.0);
  // The failed batch, dropped since, is not counted again.
  r = p.RecordUpdate(Attempt(true, 512, 0, 0, 128 + 256));
  EXPECT_EQ(r.dropped_steps, 0);
  EXPECT_EQ(r.dropped_fraction, 0);
  // The run's lag: over the 512 + 384 + 512 trained transitions only.
  RunSummary s;
  p.FillSummary(&s);
  EXPECT_DOUBLE_EQ(s.mean_lag, 384.0 / (512 + 384 + 512));
  EXPECT_EQ(s.max_lag, 1);
}

TEST(RunProgressTest, NothingTrainedNothingDroppedIsZero) {
  RunProgress p(std::nullopt);
  const MetricsRow r = p.RecordUpdate(Attempt(false, 0, 0, 0, 0));
  EXPECT_EQ(r.dropped_steps, 0);
  EXPECT_EQ(r.dropped_fraction, 0);
  RunSummary s;
  p.FillSummary(&s);
  EXPECT_EQ(s.mean_lag, 0);
  EXPECT_EQ(s.max_lag, 0);
}

v1::LearnerStatus StatusWithDrops() {
  v1::LearnerStatus st;
  st.set_transitions_received(10'000);
  st.set_transitions_trained(9'000);
  st.set_transitions_queued(500);
  v1::DropCount* lag = st.add_chunks_dropped();
  lag->set_reason(v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG);
  lag->set_chunks(3);
  lag->set_transitions(384);
  v1::DropCount* invalid = st.add_chunks_dropped();
  invalid->set_reason(v1::CHUNK_OUTCOME_REJECTED_INVALID);
  invalid->set_chunks(2);
  invalid->set_transitions(116);
  v1::DropCount* unparsable = st.add_chunks_dropped();  // counted with no transitions
  unparsable->set_reason(v1::CHUNK_OUTCOME_REJECTED_TOO_LARGE);
  unparsable->set_chunks(1);
  return st;
}

TEST(LagReportTest, ReasonNamesAreTheEnumsWithoutPrefix) {
  EXPECT_EQ(ChunkOutcomeLabel(v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG), "dropped_policy_lag");
  EXPECT_EQ(ChunkOutcomeLabel(v1::CHUNK_OUTCOME_REJECTED_SHUTTING_DOWN), "rejected_shutting_down");
  EXPECT_EQ(ChunkOutcomeLabel(static_cast<v1::ChunkOutcome>(77)), "outcome_77");
}

TEST(LagReportTest, RunFractionAndText) {
  v1::LearnerStatus st = StatusWithDrops();
  EXPECT_EQ(TransitionsDropped(st), 500);
  EXPECT_DOUBLE_EQ(RunDroppedFraction(st), 0.05);
  st.mutable_last_update()->set_mean_lag(1.0234);
  st.mutable_last_update()->set_max_lag(2);
  EXPECT_EQ(LagAndDropsText(st), "lag 1.02 (max 2) dropped 5.0%");
  EXPECT_EQ(LagAndDropsText(v1::LearnerStatus()), "lag 0.00 (max 0) dropped 0.0%");
}

// The progress line of a learner that has no actors yet: no episode means no
// return ("-", not "nan"), no rate means no ETA ("-", not "0s").
TEST(LagReportTest, ProgressLineWithoutEpisodesOrRateShowsDashes) {
  v1::LearnerStatus st;
  st.set_mean_episode_return(std::nan(""));
  const std::string idle = ProgressLine(st, "CartPole-v1", 100'000);
  EXPECT_EQ(idle, "[CartPole-v1] steps 0/100000  0 steps/s  return -  version 0  "
                  "lag 0.00 (max 0) dropped 0.0%  actors 0  ETA -");
  st.set_env_steps(40'000);
  st.set_env_steps_per_second(2'000);
  st.set_mean_episode_return(187.31);
  st.set_policy_version(3);
  st.set_actors_connected(2);
  st.set_paused(true);
  EXPECT_EQ(ProgressLine(st, "CartPole-v1", 100'000),
            "[CartPole-v1] steps 40000/100000  2000 steps/s  return 187.3  version 3  "
            "lag 0.00 (max 0) dropped 0.0%  actors 2  ETA 30s  PAUSED");
  st.set_env_steps(100'000);
  EXPECT_EQ(ProgressLine(st, "CartPole-v1", 100'000),
            "[CartPole-v1] steps 100000/100000  2000 steps/s  return 187.3  version 3  "
            "lag 0.00 (max 0) dropped 0.0%  actors 2  ETA 0s  PAUSED");
}

TEST(LagReportTest, SummaryAccountingByReason) {
  RunSummary s;
  s.transitions_dropped_by_reason["stale"] = 1;  // replaced, not added to
  FillSummaryAccounting(StatusWithDrops(), &s);
  EXPECT_EQ(s.transitions_collected, 10'000);
  EXPECT_EQ(s.transitions_trained, 9'000);
  EXPECT_EQ(s.transitions_dropped, 500);
  EXPECT_EQ(
      s.transitions_dropped_by_reason,
      (std::map<std::string, int64_t>{{"dropped_policy_lag", 384}, {"rejected_invalid", 116}}));
}

}  // namespace
}  // namespace proxima
