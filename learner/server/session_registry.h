// SessionRegistry: the actors the learner knows (DESIGN.md "Sessions,
// sequence numbers, lag") — actor ids stable per name, one Session per
// registration, the trajectory and weight streams attached to each, the
// per-actor chunk rate buckets, and every open trajectory stream.
//
// Register() supersedes the actor's previous session and hands its streams
// back to the caller to end (the registry never calls a stream). Chunk intake
// reads and moves a session's sequence state through WithSession(), which
// runs a function under the registry's lock; that function must take no
// other lock and call no stream.
//
// Thread-safe. Lock order: the registry's mutex is a leaf.
#ifndef PROXIMA_LEARNER_SERVER_SESSION_REGISTRY_H_
#define PROXIMA_LEARNER_SERVER_SESSION_REGISTRY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/running_stats.h"
#include "learner/server/rate_limiter.h"
#include "learner/server/status_util.h"
#include "proxima/v1/status.pb.h"

namespace proxima {

class TrajectoryStream;  // learner/server/stream_reactors.h
class WeightStream;

// Where one actor's time went (issue 18): sums of its valid chunks' timings.
struct ActorTimeSums {
  double env = 0, inference = 0, send_wait = 0, weights_wait = 0, wall = 0;
  uint64_t chunks = 0;
  void Add(const v1::TrajectoryChunk& chunk);
  // Sets the actor_* fields and chunks of `out`.
  void ToProto(v1::TimeBreakdown* out) const;
};

struct Session {
  uint64_t id = 0;
  uint32_t actor_id = 0;
  std::string name;
  int num_envs = 0;
  bool superseded = false;
  bool final_received = false;
  uint64_t next_seq = 0;  // last processed + 1
  std::shared_ptr<TrajectoryStream> stream;
  std::shared_ptr<WeightStream> watch;
  std::unique_ptr<RewardScaler> reward_scaler;
  TokenBucket* rate_bucket = nullptr;  // the actor's (--max-chunks-per-second), or null
  std::string hostname, build_version;
  uint32_t pid = 0;
  absl::Time registered_at, last_seen;
  int64_t env_steps = 0;
  uint64_t chunks = 0, chunks_dropped = 0, rounds_missed = 0;
  uint64_t chunks_rate_limited = 0;  // reads delayed by --max-chunks-per-second
  uint64_t last_policy_version = 0, lag = 0;
  RateWindow rate;  // steps/s over the last chunks
  // Valid chunks of this and the actor's earlier sessions in this learner
  // process (ActorInfo.time_total; Register carries it over).
  ActorTimeSums time;
  // Expected in sync rounds: registered, connected (an actor watches weights
  // from registration on, so a watch counts before its first chunk), not done.
  bool live() const {
    return (stream != nullptr || watch != nullptr) && !final_received && !superseded;
  }
};

class SessionRegistry {
 public:
  // `max_actors`: distinct actor names at most; `max_chunks_per_second` > 0
  // gives every actor a token bucket.
  SessionRegistry(int max_actors, double max_chunks_per_second)
      : max_actors_(max_actors), max_chunks_per_second_(max_chunks_per_second) {}

  // Actor ids of a resumed run (before anything registers).
  void RestoreActorIds(std::map<std::string, uint32_t> ids);
  std::map<std::string, uint32_t> actor_ids() const;

  struct NewSession {
    std::string name, hostname, build_version;
    uint32_t pid = 0;
    int num_envs = 0;
    std::unique_ptr<RewardScaler> reward_scaler;  // null unless --normalize-reward
  };
  struct Registered {
    uint32_t actor_id = 0;
    uint64_t session_id = 0;
    // The actor's previous session's streams: the caller ends them.
    std::shared_ptr<TrajectoryStream> superseded_stream;
    std::shared_ptr<WeightStream> superseded_watch;
  };
  // RESOURCE_EXHAUSTED when a new name would exceed max_actors.
  absl::StatusOr<Registered> Register(NewSession s);

  // Runs f(Session*) — null for an unknown id — under the registry's lock
  // and returns what it returns.
  template <typename F>
  auto WithSession(uint64_t id, F&& f) {
    absl::MutexLock l(&mu_);
    auto it = sessions_.find(id);
    return f(it == sessions_.end() ? nullptr : it->second.get());
  }

  // Trajectory streams, bound to a session or not yet.
  void StreamStarted(const std::shared_ptr<TrajectoryStream>& stream);
  void StreamDone(const TrajectoryStream* stream, uint64_t session_id);
  std::vector<std::shared_ptr<TrajectoryStream>> OpenStreams() const;

  // Binds a WatchWeights stream to its session; returns the one it replaces
  // (to be ended by the caller). NOT_FOUND / ABORTED for an unknown /
  // superseded session, then UNAVAILABLE when the learner is not `serving`.
  absl::StatusOr<std::shared_ptr<WeightStream>> AttachWatch(
      uint64_t session_id, const std::shared_ptr<WeightStream>& watch, bool serving);
  void WatchDone(const WeightStream* watch, uint64_t session_id);

  // Sync rounds: the live sessions, and those a round went ahead without.
  std::vector<uint64_t> LiveSessions() const;
  void MissedRound(const std::vector<uint64_t>& session_ids);
  // A queued chunk of `session_id` was dropped / trained with `lag`.
  void CountDropped(uint64_t session_id);
  void SetLag(uint64_t session_id, uint64_t lag);

  // Registered actor names (RunSummary.actors).
  int actors() const;
  // ActorInfo of each actor's latest session (when include_actors) and the
  // number connected.
  void FillStatus(bool include_actors, v1::LearnerStatus* st) const;

 private:
  const int max_actors_;
  const double max_chunks_per_second_;
  mutable absl::Mutex mu_;
  std::map<uint64_t, std::shared_ptr<Session>> sessions_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint32_t> actor_ids_ ABSL_GUARDED_BY(mu_);
  std::map<uint32_t, uint64_t> latest_session_ ABSL_GUARDED_BY(mu_);  // actor id → session
  // One bucket per actor id, so that re-registering does not refill it.
  std::map<uint32_t, TokenBucket> rate_buckets_ ABSL_GUARDED_BY(mu_);
  // Registrations per actor id in this process (ActorInfo.registrations).
  std::map<uint32_t, uint32_t> registrations_ ABSL_GUARDED_BY(mu_);
  std::map<const TrajectoryStream*, std::shared_ptr<TrajectoryStream>> streams_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_SESSION_REGISTRY_H_
