// ActorClient: one actor process's whole life against a learner.
//
//   Register (retried with backoff + jitter while the learner is unreachable:
//     actor/registration_retry.h)
//     → build num_envs envs (seeded from the RunConfig) and the policy network
//     → WatchWeights (WeightWatcher thread → SnapshotSlot, latest-wins)
//     → StreamTrajectories (ChunkSender threads, bounded send window)
//     → stepping loop on the calling thread: take the newest snapshot at the
//       rollout boundary (sync mode: wait for a version newer than the one
//       the last chunk was acted with), collect T × E steps, encode, push.
//   A sequence run (RunConfig.sequence set, protocol revision 2,
//     docs/sequence-policies.md "Actors generating"): no envs or MLP; a
//     SequenceGenerator (actor/seq_generator.h) built from the config loads
//     each snapshot the watcher keeps (at a chunk boundary), generates one
//     chunk of G completions per prompt and streams it as
//     TrajectoryChunk.sequences through the same sender (window, acks,
//     reconnects); Stats::env_steps then counts completion tokens.
//   Session lost (UNKNOWN/STALE session, NOT_FOUND/ABORTED streams) → drop
//   the session's unacknowledged chunks and in-progress rollout, register
//   again, continue (envs kept when the RunConfig is unchanged).
//   Stop() → the stepping loop ends its rollout early and sends it as the
//   final chunk (T' ≤ T steps, bootstrap = current obs), waits a bounded time
//   for its ack, half-closes, cancels WatchWeights; Run() returns OK.
//   The learner ended its run → the same as Stop(), once the learner has said
//   it is shutting down (a REJECTED_SHUTTING_DOWN ack, or the trajectory
//   stream ended by the learner with OK) and no learner has answered since,
//   for Options::exit_after_learner_done. A learner that vanished without
//   saying so (a crash, a lost network) is waited for and reconnected to
//   forever, as is one that comes back within that time (a resumed run).
//
// Logging (Options::log; by default common/logging.h, as "<time>
// <process>[<actor name>]: ..."): one line per registration, reconnect and
// lost session, and a throughput line every log_interval
// (actor/throughput_log.h). What Register sends and how its answer is
// checked: actor/registration.h; the streams of one session:
// actor/actor_session.h; the async flow-control wait:
// actor/flow_control_wait.h.
//
// Where the code is: the sessions (registration, start and end, stop, lost
// sessions, the shared push) in actor/actor_client.cc; an env run's Setup
// and stepping loop in actor/actor_client_rollout.cc; a sequence run's
// SetupSequence and generating loop in actor/actor_client_sequence.cc.
#ifndef PROXIMA_ACTOR_ACTOR_CLIENT_H_
#define PROXIMA_ACTOR_ACTOR_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "actor/throughput_log.h"
#include "common/wire/run_config.h"
#include "common/grpc/channel_security.h"
#include "proxima/v1/learner_service.grpc.pb.h"

namespace proxima {

class ActorSession;
class ChunkSender;
class RegistrationRetry;
class PolicyInference;
class RolloutCollector;
class VectorEnv;
class Rng;
class SequenceGenerator;
class SnapshotSlot;
struct PolicySnapshot;

class ActorClient {
 public:
  struct Options {
    std::string learner_address;  // HOST:PORT
    std::string name;             // empty: "<hostname>:<pid>"
    int num_envs = 0;             // 0: the learner's default
    // A remote:// env: columns per batched session (one round trip steps
    // them; 0: all in one session); -1: one single-env session per column.
    int remote_env_columns = 0;
    int threads = 1;              // env-stepping threads (VectorEnv::SetThreads) and
                                  // LibTorch intra-op + OpenBLAS threads
    // Inference engine (ParseInferenceEngine, common/policy/policy_inference.h):
    // "auto" (= fused), "fused" or "torch". Logged once, at the first
    // registration.
    std::string engine = "auto";
    // TLS and bearer token of every channel to the learner (loaded by main).
    ChannelSecurity security;
    // How long the final chunk's ack is awaited at shutdown, and how long the
    // learner then gets to end the half-closed stream.
    absl::Duration final_ack_timeout = absl::Seconds(3);
    absl::Duration close_grace = absl::Seconds(1);
    // How long after the learner said it is shutting down, with no learner
    // answering since, Run() stops by itself (then OK); zero: never.
    absl::Duration exit_after_learner_done = absl::Seconds(60);
    // Throughput line period; zero: none.
    absl::Duration log_interval = absl::Seconds(10);
    // Where log lines go (without trailing newline); null: common/logging.h.
    std::function<void(absl::string_view)> log;

    absl::Status Validate() const;
  };

  struct Stats {
    int registrations = 0;
    uint32_t actor_id = 0;
    uint64_t session_id = 0;
    uint64_t chunks = 0;          // chunks pushed, all sessions
    int64_t env_steps = 0;
    uint64_t policy_version = 0;  // of the last rollout
    uint64_t episodes = 0;
    uint64_t chunks_acked = 0;    // acks received, any outcome, all sessions
    uint64_t chunks_accepted = 0;   // ACCEPTED acks, all sessions
    uint64_t duplicate_acks = 0;    // DUPLICATE acks (resends already processed)
    uint64_t reconnects = 0;      // trajectory streams reopened, all sessions
    // Async flow control (actor/policy_lag_gate.h): rollouts that waited for
    // a newer snapshot, the time spent waiting, and waits given up at the
    // gate's MaxWait.
    uint64_t flow_control_waits = 0;
    double flow_control_wait_seconds = 0;
    uint64_t flow_control_timeouts = 0;
    // Where the time went (issue 18), summed over chunks, all sessions: as
    // sent in TrajectoryChunk env_seconds, inference_seconds,
    // send_wait_seconds and weights_wait_seconds.
    double env_seconds = 0;
    double inference_seconds = 0;
    double send_wait_seconds = 0;
    double weights_wait_seconds = 0;
  };

  explicit ActorClient(Options options);
  ~ActorClient();

  ActorClient(const ActorClient&) = delete;
  ActorClient& operator=(const ActorClient&) = delete;

  // Runs until Stop() or the learner's end of run (then OK; see the file
  // comment) or a non-recoverable error: the learner
  // refuses the registration (wrong protocol or env, actor limit), its run
  // config cannot be served here, or a chunk exceeds max_message_bytes.
  absl::Status Run();

  // Like Run(), stopping when *stop becomes true (for a flag set by a signal
  // handler, which cannot call Stop(); checked every 50 ms).
  absl::Status Run(std::atomic<bool>* stop);

  // Requests the shutdown path. Thread-safe, idempotent, returns at once.
  void Stop();

  Stats stats() const;

 private:
  enum class LoopEnd { kStopped, kSessionLost };

  // Run()'s sessions; RunWatched runs them while a thread calls Stop() once
  // should_stop() (polled every 50 ms) returns true.
  absl::Status RunSessions();
  absl::Status RunWatched(const std::function<bool()>& should_stop);
  // True once the learner has said it is shutting down and no learner has
  // answered for exit_after_learner_done (logged then). Polled by one thread.
  bool LearnerGoneAfterItsRun();
  absl::Status Setup(const ActorRunConfig& config);
  absl::StatusOr<LoopEnd> StepLoop();
  // Pushes a chunk that is not final (blocking while the send window is
  // full; *send_wait_seconds gets the time). The loop's end when it must
  // end — stopped meanwhile (the chunk went as the final one), the session
  // lost — or nullopt to go on.
  std::optional<LoopEnd> PushOrEnd(ChunkSender* sender,
                                   std::unique_ptr<v1::TrajectoryChunk>* chunk,
                                   double* send_wait_seconds);
  // A sequence run's counterparts of Setup and StepLoop.
  absl::Status SetupSequence(const v1::RunConfig& config);
  absl::StatusOr<LoopEnd> GenerateLoop();
  // Both loops' chunk boundary: the snapshot to act or generate with next.
  // The first one (`current` null) and, in sync mode, the one newer than
  // `current` (the learner trains on the chunk just sent and publishes a
  // newer version; acting again before it arrives would only make data for
  // a round that has passed) are waited for; otherwise the newest there is.
  // Null when the wait was interrupted.
  std::shared_ptr<const PolicySnapshot> BoundarySnapshot(SnapshotSlot* slot,
                                                         const PolicySnapshot* current,
                                                         bool sync);
  void StartSession(const v1::RegisterResponse& response);
  // The session StartSession made, for the stepping thread: the only thread
  // that replaces it, so the pointer stays valid until it does.
  ActorSession* CurrentSession();
  // Stops the session's threads (graceful: final ack wait and half-close
  // first) and folds its sender's counters into the totals.
  void EndSession(bool graceful);
  void OnSessionLost(absl::string_view reason);
  void WakeAll();
  bool SleepUnlessStopped(absl::Duration d);
  void MaybeLogThroughput(bool force);
  int64_t TotalEnvSteps() const;
  void Log(const std::string& line) const;

  const Options options_;
  std::string name_;
  std::string hostname_;

  std::atomic<bool> stop_{false};
  std::atomic<bool> session_lost_{false};
  // stop_ || session_lost_: what every wait of the stepping loop watches.
  std::atomic<bool> interrupt_{false};

  v1::ChannelHints hints_;  // from the latest registration
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Learner::Stub> stub_;
  ActorRunConfig config_;
  bool have_config_ = false;
  uint32_t actor_id_ = 0;
  uint64_t session_id_ = 0;
  uint64_t next_seq_ = 0;
  std::string lost_reason_ ABSL_GUARDED_BY(mu_);
  // When the watch thread first saw the learner shutting down (only it
  // touches this); InfiniteFuture while it is not.
  absl::Time learner_done_since_ = absl::InfiniteFuture();

  std::unique_ptr<VectorEnv> envs_;
  std::unique_ptr<PolicyInference> policy_;
  std::unique_ptr<Rng> rng_;
  std::unique_ptr<RolloutCollector> collector_;
  int64_t env_steps_before_ = 0;  // by collectors replaced since (new run shape)
  // A sequence run's generator (null otherwise); rebuilt at each registration.
  std::unique_ptr<SequenceGenerator> generator_;
  int64_t generated_tokens_ = 0;  // completion tokens, all sequence sessions
  // RunConfig.mode is sync: after each chunk, wait for the version the
  // learner's round makes from it before generating again.
  bool sequence_sync_ = false;

  // The session's streams; replaced on re-registration. Stop() and the
  // session-lost callbacks reach them under mu_.
  mutable absl::Mutex mu_;
  absl::CondVar cv_;  // SleepUnlessStopped
  std::unique_ptr<ActorSession> session_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<RegistrationRetry> registration_;  // Stop() cancels it
  Stats stats_ ABSL_GUARDED_BY(mu_);

  ThroughputLog throughput_;  // stepping thread only
};

}  // namespace proxima

#endif  // PROXIMA_ACTOR_ACTOR_CLIENT_H_
