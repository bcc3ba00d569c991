// RunProgress: where the run stands — policy version, updates, accepted env
// steps, episodes (EpisodeTracker), the steps/s window, the last update's
// metrics and the history WatchMetrics streams read.
//
// Written by chunk intake (AddAccepted: env steps and episodes of every
// accepted chunk) and by the trainer (RecordUpdate after each update);
// read by everyone. The counters of a resumed run continue from its
// checkpoint (Restore).
//
// Thread-safe. Lock order: the progress mutex is a leaf; a WatchMetrics
// stream calls NextMetrics() with its own reactor mutex held
// (reactor → progress).
#ifndef PROXIMA_LEARNER_SERVER_RUN_PROGRESS_H_
#define PROXIMA_LEARNER_SERVER_RUN_PROGRESS_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/wire/chunk_codec.h"
#include "learner/episode_tracker.h"
#include "learner/run_files.h"
#include "learner/checkpoint.h"
#include "learner/server/status_util.h"
#include "proxima/v1/status.pb.h"

namespace proxima {

class RunProgress {
 public:
  // `reward_threshold`: the env's "solved" return, if it has one.
  explicit RunProgress(std::optional<double> reward_threshold);

  // Continues the counters of a checkpoint (before anything runs).
  void Restore(const CheckpointCounters& c);

  uint64_t version() const;
  int64_t env_steps() const;
  bool solved() const;
  // Transitions trained by the runs this one resumed.
  int64_t transitions_trained_before() const;
  // Training time, including the runs this one resumed.
  double elapsed_seconds() const;

  // An accepted chunk of `transitions` steps with these finished episodes.
  void AddAccepted(int64_t transitions, const std::vector<EpisodeRecord>& episodes);

  // One update attempt. `ok`: it trained (version and updates move on).
  struct Update {
    bool ok = false;
    UpdateMetrics metrics;  // when ok
    int64_t transitions = 0;
    size_t chunks = 0;
    double lag_sum = 0;  // Σ lag · transitions
    uint64_t lag_max = 0;
    // Transitions dropped in this process so far (ChunkAccounting, every
    // reason), counting a failed attempt's own batch as dropped already.
    // Never decreases from one call to the next.
    int64_t dropped_total = 0;
    // Where the time goes over the recent window (MetricsRow.time_shares).
    std::optional<TimeShareRow> time_shares;
    // The evaluation run after this update, if any (MetricsRow.eval).
    std::optional<EvalRow> eval;
  };
  // Records it (metrics history, last update) and returns its metrics.csv row.
  // The row's dropped_steps is u.dropped_total minus the previous call's, and
  // its dropped_fraction that over dropped plus trained (u.transitions when
  // ok, else 0). The run's lag totals (FillSummary) count ok updates only.
  MetricsRow RecordUpdate(const Update& u);

  // WatchMetrics: the first recorded update after `after` (false: none yet).
  bool NextMetrics(uint64_t after, v1::UpdateMetrics* out) const;

  // Counters for a checkpoint (actor ids and trained transitions are added
  // by the caller).
  CheckpointCounters Counters() const;
  // The progress fields of a LearnerStatus.
  void FillStatus(v1::LearnerStatus* st) const;
  // The progress fields of the run summary, the run's lag (mean_lag weighted
  // by trained transitions, max_lag) among them.
  void FillSummary(RunSummary* s) const;

 private:
  const ServerClock::time_point start_ = ServerClock::now();
  mutable absl::Mutex mu_;
  double wall_before_ ABSL_GUARDED_BY(mu_) = 0;  // from a resumed checkpoint
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t updates_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t env_steps_ ABSL_GUARDED_BY(mu_) = 0;
  EpisodeTracker tracker_ ABSL_GUARDED_BY(mu_);
  int64_t episodes_before_ ABSL_GUARDED_BY(mu_) = 0;
  // Kept out of ChunkAccounting, which counts this process only, so that the
  // accounting invariant holds after a --resume too.
  int64_t transitions_trained_before_ ABSL_GUARDED_BY(mu_) = 0;
  RateWindow rate_ ABSL_GUARDED_BY(mu_);
  // This process's lag over trained transitions, and the dropped total the
  // previous RecordUpdate saw.
  double lag_sum_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t lag_transitions_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t lag_max_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t dropped_seen_ ABSL_GUARDED_BY(mu_) = 0;
  v1::UpdateMetrics last_update_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::UpdateMetrics> history_ ABSL_GUARDED_BY(mu_);
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_RUN_PROGRESS_H_
