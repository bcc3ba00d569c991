// The actors the gRPC suites of `proxima bench` (bench.h) play from threads
// of the bench process: registered sessions that send chunks through the
// actor's own ChunkSender (actor/chunk_sender.h), so what is measured is the
// real actor's network path — its send window, writer and ack reader
// threads, and the learner behind them — with no env and no policy in front.
//
// A SyntheticActor pushes copies of one synthetic chunk, seq 0, 1, 2, ...,
// each stamped with the newest learner version an ack reported (as a real
// actor stamps the version it acted with), as fast as the sender's window
// lets it: Push blocks while `window` chunks are unacknowledged, which is how
// the learner's backpressure reaches the real stepping loop too. One copy of
// the chunk per push stands in for the actor's per-rollout encoding.
//
// Thread-safe accessors; Start() and Stop() from the owning thread.
#ifndef PROXIMA_LEARNER_CLI_BENCH_SYNTHETIC_ACTOR_H_
#define PROXIMA_LEARNER_CLI_BENCH_SYNTHETIC_ACTOR_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "actor/chunk_sender.h"
#include "common/wire/run_config.h"
#include "grpcpp/channel.h"
#include "proxima/v1/learner_service.grpc.pb.h"

namespace proxima::bench {

// A registered actor session on a channel of its own.
struct Session {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Learner::Stub> stub;
  v1::RegisterResponse registration;
  ActorRunConfig config;
};

// Register(name) on a channel of its own, as a separate actor process would
// have (grpc_util's channels never share a connection). Blocks up to
// kUnaryDeadline.
absl::StatusOr<Session> Register(const std::string& address, const std::string& name);

// A chunk of the session's shape (num_envs × rollout_length) that passes
// ValidateChunkPayload and looks like a real rollout: finite observations,
// actions inside the space, log-probs <= 0, unit rewards, and episodes that
// end every 10..200 steps per column — mostly terminated, some truncated
// with their final observation — each with its summary, in (t, e) order.
v1::TrajectoryChunk SyntheticChunk(const Session& s, uint64_t seed);

class SyntheticActor {
 public:
  // `window`: the ChunkSender's window (most chunks unacknowledged).
  SyntheticActor(Session session, int window, uint64_t seed);
  ~SyntheticActor();  // Stop()

  // Starts the sender (which opens the stream) and the pushing thread.
  void Start();
  // Stops pushing, cancels the stream and joins every thread; chunks not yet
  // acknowledged are given up. Idempotent.
  void Stop();

  const v1::TrajectoryChunk& chunk() const { return chunk_; }
  int64_t accepted() const;
  // Acks other than ACCEPTED (rejected, dropped, duplicate).
  int64_t refused() const;
  uint64_t learner_version() const;
  // The first line the sender logged (a rejection's reason), or "".
  std::string first_event() const;

 private:
  void PushLoop();

  Session session_;
  const v1::TrajectoryChunk chunk_;
  std::unique_ptr<ChunkSender> sender_;
  std::atomic<bool> stop_{false};
  std::thread pusher_;
  mutable absl::Mutex mu_;
  std::string first_event_ ABSL_GUARDED_BY(mu_);
};

}  // namespace proxima::bench

#endif  // PROXIMA_LEARNER_CLI_BENCH_SYNTHETIC_ACTOR_H_
