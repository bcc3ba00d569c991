// WeightWatcher: the actor's side of Learner.WatchWeights for one session.
//
// A thread reads the server stream; every WeightSnapshot is decoded into a
// fresh network and verified (DecodeSnapshot → ApplyWeights: checksum, names,
// shapes, finiteness). A snapshot that fails is logged and dropped — the
// actor keeps acting with the one it has. A good one goes into the
// SnapshotSlot, latest-wins; the stepping loop takes it at its next rollout
// boundary, never mid-rollout.
//
// A broken stream is reopened after backoff with jitter, asking only for
// versions newer than the one held (have_version). NOT_FOUND (the learner
// does not know the session: it restarted) and ABORTED (superseded) mean the
// session is gone: on_session_lost is called and the thread ends.
#ifndef PROXIMA_ACTOR_WEIGHT_WATCHER_H_
#define PROXIMA_ACTOR_WEIGHT_WATCHER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/policy/policy_snapshot.h"
#include "grpcpp/client_context.h"
#include "proxima/v1/learner_service.grpc.pb.h"

namespace proxima {

class WeightWatcher {
 public:
  struct Options {
    uint32_t actor_id = 0;
    uint64_t session_id = 0;
    PolicyShape shape;
    // Turns a received snapshot into what the slot holds; null:
    // DecodeSnapshot(proto, shape). A sequence run's actor keeps the proto.
    std::function<absl::StatusOr<std::shared_ptr<const PolicySnapshot>>(
        const v1::WeightSnapshot&)>
        decode;
    absl::Duration backoff_initial = absl::Milliseconds(100);
    absl::Duration backoff_max = absl::Seconds(5);
    std::function<void(absl::string_view)> log;
    // Called at most once, from the watcher thread, with no watcher lock held.
    std::function<void(absl::string_view reason)> on_session_lost;
  };

  struct Stats {
    uint64_t received = 0;
    uint64_t discarded = 0;  // failed verification
    uint64_t reconnects = 0;
  };

  // `stub` and `slot` must outlive the watcher.
  WeightWatcher(v1::Learner::StubInterface* stub, SnapshotSlot* slot, Options options);
  ~WeightWatcher();  // Stop()

  WeightWatcher(const WeightWatcher&) = delete;
  WeightWatcher& operator=(const WeightWatcher&) = delete;

  void Start();
  // Cancels the stream and joins the thread. Idempotent.
  void Stop();

  Stats stats() const;

 private:
  void Loop();
  void Log(const std::string& line) const;

  v1::Learner::StubInterface* const stub_;
  SnapshotSlot* const slot_;
  const Options options_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;  // the backoff sleep awaits it
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace proxima

#endif  // PROXIMA_ACTOR_WEIGHT_WATCHER_H_
