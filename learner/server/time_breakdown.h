// Where the time goes (issue 18): the learner's per-stage time sums, kept
// since start and over a rolling window, and the one-line bottleneck verdict.
//
// Stages. The trainer thread is always in one of: waiting for a batch
// (idle), updating, publishing, or none of these (checkpoints, admin
// requests); it says which with Enter(). Ingest (decode, validate, enqueue
// in the stream reactors) is added as intervals, summed over reactor
// threads. Actor stages come from each valid chunk's timings
// (TrajectoryChunk.env_seconds and friends) and are spread evenly over the
// actor wall time they cover, ending when the chunk arrived.
//
// Window. Sums are kept in one-second buckets (seconds since the tracker
// started); the recent window is the kWindowSeconds whole seconds before the
// current one plus the current one so far, i.e. the last 10 to 11 s (less
// right after start). The trainer's current,
// unfinished stage counts up to the moment of the snapshot, so a trainer
// stuck waiting shows up at once.
//
// Verdict. BottleneckVerdict() is a pure function of a TimeBreakdown; its
// rules and thresholds are documented at its declaration and in
// docs/learner.md.
//
// Thread-safety: every method may be called from any thread (one internal
// mutex, a leaf). Enter() is meant for the trainer thread only.
#ifndef PROXIMA_LEARNER_SERVER_TIME_BREAKDOWN_H_
#define PROXIMA_LEARNER_SERVER_TIME_BREAKDOWN_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "learner/server/status_util.h"
#include "learner/update_metrics.h"
#include "proxima/v1/status.pb.h"
#include "proxima/v1/trajectory.pb.h"

namespace proxima {

// Shares of wall time (each in [0, 1], 0 when nothing was measured) of one
// TimeBreakdown: learner stages over its wall_seconds, actor stages over
// actor_wall_seconds (learner/update_metrics.h).
TimeShareRow SharesOf(const v1::TimeBreakdown& t);

// The verdict line, from the recent window's shares. First rule that holds:
//  1. no actor data: "no data: ..." (learner waiting X% for a batch);
//  2. network-bound: actors wait >= 30% for the send window and the learner
//     waits >= 30% for a batch (data is produced but does not arrive);
//  2b. latency-bound: actors wait >= 30% for weights and the learner waits
//     >= 30% for a batch (each side waits for the other: round trips of
//     weights and chunks, not compute, set the pace);
//  3. learner-bound: the trainer is busy (update + publish) >= 60% and
//     actors wait (send window + weights) >= 20%, or busy >= 90%;
//  4. actor-bound: the learner waits >= 40% for a batch and actors are busy
//     (env + inference) >= 50%;
//  5. otherwise "balanced: ..." with the main shares.
// Each line names the numbers it was decided on, e.g.
// "learner-bound: update 91% busy; actors idle 64% waiting for weights".
std::string BottleneckVerdict(const v1::TimeBreakdown& recent);

// The actor wall time one chunk accounts for: its rollout (rollout_seconds,
// at least env + inference) plus the waits before it.
double ActorWallSeconds(const v1::TrajectoryChunk& chunk);

// Seconds per stage of `t`, keyed "learner_wall", "learner_ingest",
// "learner_wait_batch", "learner_update", "learner_publish", "actor_wall",
// "actor_env", "actor_inference", "actor_send_wait", "actor_weights_wait"
// (summary.json's time_seconds, Prometheus' proxima_time_seconds_total).
std::map<std::string, double> StageSeconds(const v1::TimeBreakdown& t);
// SharesOf(t) keyed like StageSeconds (without the two walls).
std::map<std::string, double> StageShares(const v1::TimeBreakdown& t);

class TimeBreakdownTracker {
 public:
  static constexpr int kWindowSeconds = 10;
  enum class Stage { kNone, kWaitBatch, kUpdate, kPublish };

  explicit TimeBreakdownTracker(ServerClock::time_point start = ServerClock::now());

  // The trainer thread moves to `stage` now (closing the previous one).
  void Enter(Stage stage, ServerClock::time_point now = ServerClock::now());
  // A reactor spent [begin, end) ingesting a chunk.
  void AddIngest(ServerClock::time_point begin, ServerClock::time_point end);
  // A valid chunk's actor timings, arrived at `now`.
  void AddActorChunk(const v1::TrajectoryChunk& chunk,
                     ServerClock::time_point now = ServerClock::now());

  // Sums since start, over the recent window, and the verdict on the window.
  void Fill(v1::LearnerStatus* st, ServerClock::time_point now = ServerClock::now()) const;
  // SharesOf() the recent window (for metrics.csv / TensorBoard rows).
  TimeShareRow RecentShares(ServerClock::time_point now = ServerClock::now()) const;
  void Snapshot(v1::TimeBreakdown* total, v1::TimeBreakdown* recent,
                ServerClock::time_point now = ServerClock::now()) const;

 private:
  enum Field {
    kIngest, kWaitBatch, kUpdate, kPublish, kEnv, kInference, kSendWait, kWeightsWait,
    kActorWall, kChunks, kNumFields
  };
  using Sums = std::array<double, kNumFields>;
  struct Bucket {
    int64_t second = -1;
    Sums sums{};
  };
  // Adds `sums` spread evenly over [begin, end) (all at `end` if empty).
  void AddSpread(const Sums& sums, ServerClock::time_point begin, ServerClock::time_point end)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddToSecond(int64_t second, const Sums& sums, double weight)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t SecondOf(ServerClock::time_point t) const;
  static void ToProto(const Sums& s, double wall, v1::TimeBreakdown* out);

  const ServerClock::time_point start_;
  mutable absl::Mutex mu_;
  Sums total_ ABSL_GUARDED_BY(mu_){};
  std::array<Bucket, kWindowSeconds + 1> buckets_ ABSL_GUARDED_BY(mu_);
  Stage stage_ ABSL_GUARDED_BY(mu_) = Stage::kNone;
  ServerClock::time_point stage_since_ ABSL_GUARDED_BY(mu_);
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_TIME_BREAKDOWN_H_
