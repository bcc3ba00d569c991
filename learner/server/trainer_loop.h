// TrainerLoop: the learner's one trainer thread (DESIGN.md "Threads"). It
// owns the PpoUpdater (model, optimizer, normalizer): it takes a batch from
// the Batcher, runs the PPO update, records it (RunProgress, metrics.csv,
// TensorBoard), seals the fate of the batch's chunks (ChunkAccounting) and
// publishes the next version (WeightPublisher). Between batches — and
// between chunks while a batch fills — it serves Admin requests that need
// the model: checkpoints and hyperparameter changes (applied from the next
// update). With --eval-every it evaluates the policy it has just trained,
// inline after the update and before publishing it (learner/periodic_eval.h),
// and keeps the best as a checkpoint tagged "best". It reports where its time goes (TimeBreakdownTracker) and has a
// test-only delay point before each update ("learner.update",
// common/failpoint.h). It writes periodic checkpoints, and asks the server to stop when
// the step budget is spent or the env is solved (with --stop-when-solved).
//
// The thread sleeps in TrajectoryQueue::Wait() while it has nothing to do;
// SetPaused(), RequestCheckpoint() and SetHyperparameters() wake it with
// TrajectoryQueue::Wake(), and TrajectoryQueue::Close() stops it (Join()
// then returns). Chunks it had taken when stopped are DROPPED_AT_SHUTDOWN.
//
// Thread-safety: the control methods may be called from any thread; they
// take the trainer's own mutex (a leaf: no other lock is taken with it held,
// and the queue is woken after it is released). The updater is touched by
// the trainer thread only, and by Publish()/Checkpoint() before Start() and
// after Join().
#ifndef PROXIMA_LEARNER_SERVER_TRAINER_LOOP_H_
#define PROXIMA_LEARNER_SERVER_TRAINER_LOOP_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "learner/ppo_config.h"
#include "learner/server/batcher.h"
#include "learner/server/chunk_accounting.h"
#include "learner/server/learner_options.h"
#include "learner/server/run_progress.h"
#include "learner/server/session_registry.h"
#include "learner/server/time_breakdown.h"
#include "learner/server/trajectory_queue.h"
#include "learner/server/weight_publisher.h"
#include "proxima/v1/admin_service.pb.h"

namespace proxima {

class PpoUpdater;
class PeriodicEvaluator;
class MetricsCsv;
class TensorBoardWriter;

class TrainerLoop {
 public:
  using CheckpointDone = std::function<void(absl::StatusOr<v1::CheckpointInfo>)>;

  struct Deps {
    PpoUpdater* updater;
    TrajectoryQueue* queue;
    ChunkAccounting* accounting;
    SessionRegistry* sessions;
    RunProgress* progress;
    WeightPublisher* publisher;
    MetricsCsv* csv;                 // may be null
    TensorBoardWriter* tensorboard;  // may be null
    // Test hook: true fails the next update (LearnerTestHooks::fail_update).
    std::function<bool()> fail_update;
    // Held chunks moved into the queue: ack their streams.
    std::function<void(std::vector<TrajectoryQueue::Released>)> resume_held;
    // A successful update took this long (the Prometheus histogram).
    std::function<void(double seconds)> update_timed;
    // After each update attempt is recorded (metrics streams, progress line).
    std::function<void()> after_update;
    // The run is over: the step budget is spent or the env solved.
    std::function<void(const std::string& reason)> finished;
    // Evaluation during training (--eval-every); null: off.
    PeriodicEvaluator* evaluator = nullptr;
  };

  // `config` and `options` as the run started (SetHyperparameters validates
  // changes against them plus the changes made since).
  TrainerLoop(Deps deps, const PpoConfig& config, const LearnerOptions& options,
              std::string run_dir);
  ~TrainerLoop();  // joins the thread (the queue must be closed first)

  // Where the trainer thread's time goes (wait for a batch, update,
  // publish); null: not measured. Call before Start().
  void SetTimeBreakdown(TimeBreakdownTracker* times) { times_ = times; }

  void Start();
  // Waits for the thread to end (after TrajectoryQueue::Close()).
  void Join();

  // Serializes the current model and normalizer as the current version.
  void Publish();

  void SetPaused(bool paused);
  bool paused() const;
  int max_policy_lag() const;

  // Queues a checkpoint request (a non-empty `tag`, already checked with
  // CheckCheckpointTag, names the file: learner/checkpoint.h); false once the
  // trainer has finished (the caller answers it).
  bool RequestCheckpoint(CheckpointDone done, std::string tag = "");
  v1::SetHyperparametersResponse SetHyperparameters(const v1::SetHyperparametersRequest& req);
  // After Join(): the checkpoint requests still pending (the final, untagged
  // checkpoint answers them); later ones are refused.
  std::vector<CheckpointDone> TakeCheckpointRequests();
  absl::StatusOr<v1::CheckpointInfo> Checkpoint(const std::string& tag = "");

  // Hyperparameters, last checkpoint, pause state, device and sync rounds.
  void FillStatus(v1::LearnerStatus* st) const;
  std::string device() const;

 private:
  void Run();
  void Enter(TimeBreakdownTracker::Stage stage);  // no-op without a tracker
  // One update on `parts` (taken at `version`); true when the run is over.
  bool Train(std::vector<QueuedChunk>& parts, uint64_t version);
  bool HasRequests() const;
  void ServeRequests();
  void Drop(const QueuedChunk& c, v1::ChunkOutcome reason);

  const Deps deps_;
  const PpoConfig config_;    // as the run started
  LearnerOptions options_;    // as the run started
  const std::string run_dir_;
  Batcher batcher_;
  TimeBreakdownTracker* times_ = nullptr;
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;  // no more checkpoint requests
  int max_policy_lag_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> hyper_ ABSL_GUARDED_BY(mu_);  // as the trainer has them
  std::map<std::string, std::string> pending_hyper_ ABSL_GUARDED_BY(mu_);
  // Tag ("" for none) and callback of each pending request.
  std::vector<std::pair<std::string, CheckpointDone>> checkpoint_requests_ ABSL_GUARDED_BY(mu_);
  std::optional<v1::CheckpointInfo> last_checkpoint_ ABSL_GUARDED_BY(mu_);
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_TRAINER_LOOP_H_
