// LatencyWatcher: a watcher session of the broadcast suite of `proxima bench`
// (bench.h). It runs the actor's own WeightWatcher (actor/weight_watcher.h):
// every WeightSnapshot is read, decoded and verified into a fresh network
// (DecodeSnapshot: checksum, names, shapes) and put into a SnapshotSlot,
// exactly as in an actor. The watcher is given a stub that forwards every
// call to the session's real stub and wraps the WatchWeights reader, so that
// when the watcher comes back for the next message — which it does only
// after the previous one is in the slot — the previous snapshot's latency is
// taken as system_clock now − WeightSnapshot.published_at (one machine, one
// clock). The learner stamps published_at after encoding the weights, so
// serialization, the write, the transfer, parsing, the apply and the slot's
// lock are all inside the figure.
//
// The first snapshot of the stream (the version current at subscription, not
// a fresh publication) is not timed, nor are snapshots while recording is
// off. Start()/Stop() from the owning thread; samples() after Stop().
#ifndef PROXIMA_LEARNER_CLI_BENCH_LATENCY_WATCHER_H_
#define PROXIMA_LEARNER_CLI_BENCH_LATENCY_WATCHER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

#include "actor/weight_watcher.h"
#include "common/policy/policy_snapshot.h"
#include "learner/cli/bench/synthetic_actor.h"

namespace proxima::bench {

class LatencyWatcher {
 public:
  struct Sample {
    uint64_t version;
    double latency_ms;
  };

  explicit LatencyWatcher(Session session);
  ~LatencyWatcher();  // Stop()

  void Start();
  // Cancels the stream and joins the watcher's thread. Idempotent.
  void Stop();
  void set_recording(bool on) { recording_ = on; }

  // After Stop().
  const std::vector<Sample>& samples() const { return samples_; }
  // Snapshots that failed verification, and the first line the watcher
  // logged (why, or a reconnect), or "".
  int64_t failures() const;
  std::string first_event() const;
  // The serialized size of the first snapshot (0 if none came).
  size_t snapshot_bytes() const { return snapshot_bytes_; }

 private:
  class TimingStub;
  class TimingReader;
  // Called by the reader on the watcher's thread: snapshot `version`,
  // published at `published_ns` (system clock), is in the slot.
  void Applied(uint64_t version, int64_t published_ns);

  Session session_;
  std::unique_ptr<TimingStub> stub_;
  SnapshotSlot slot_;
  std::unique_ptr<WeightWatcher> watcher_;
  std::atomic<bool> recording_{false};
  mutable absl::Mutex mu_;
  std::string first_event_ ABSL_GUARDED_BY(mu_);
  // Written by the watcher's thread only, read after Stop().
  std::vector<Sample> samples_;
  size_t snapshot_bytes_ = 0;
};

}  // namespace proxima::bench

#endif  // PROXIMA_LEARNER_CLI_BENCH_LATENCY_WATCHER_H_
