// ChunkAccounting: the learner's chunk and transition counters, kept so that
// the invariant of DESIGN.md holds whenever they are read:
//
//   received = trained + Σ dropped(reason) + queued   (chunks and transitions)
//
// Every method moves a chunk from one term to another in one step under the
// accounting's own mutex, so a reader (FillStatus, CheckInvariant) never sees
// half a move. A chunk counted Accepted() is "queued" until Trained() or
// Dropped() seals its fate, whether it sits in the TrajectoryQueue, is held
// there, or is in the batch being trained. Rejected() chunks are received and
// dropped at once. Duplicates of processed chunks are not received again;
// they, and reads delayed by the rate limit, have counters of their own.
//
// The fate hook (LearnerTestHooks::on_chunk_done) is called for every
// accepted chunk when its fate is sealed, with the accounting's mutex held:
// it must not call back into the learner.
//
// Thread-safe. Lock order: the accounting's mutex is a leaf — no other lock
// is taken while it is held.
#ifndef PROXIMA_LEARNER_SERVER_CHUNK_ACCOUNTING_H_
#define PROXIMA_LEARNER_SERVER_CHUNK_ACCOUNTING_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "proxima/v1/status.pb.h"

namespace proxima {

class ChunkAccounting {
 public:
  using FateHook = std::function<void(const std::string& actor_name, uint64_t seq,
                                      int64_t transitions, v1::ChunkOutcome fate)>;

  // Installs the fate hook; call before any chunk is counted.
  void SetFateHook(FateHook hook) { hook_ = std::move(hook); }

  // A chunk received and refused (or dropped before it was queued).
  void Rejected(v1::ChunkOutcome reason, int64_t transitions);
  // A chunk received and accepted: it is queued until Trained() or Dropped().
  void Accepted(int64_t transitions);
  // An accepted chunk with no transitions (an empty final chunk): received
  // and trained at once.
  void AcceptedEmpty(const std::string& actor_name, uint64_t seq);
  // An accepted chunk trained / dropped.
  void Trained(const std::string& actor_name, uint64_t seq, int64_t transitions);
  void Dropped(const std::string& actor_name, uint64_t seq, int64_t transitions,
               v1::ChunkOutcome reason);
  // A resend of a chunk already processed.
  void Duplicate();
  // A read delayed by --max-chunks-per-second.
  void RateLimited();

  struct Counts {
    uint64_t chunks_received = 0, chunks_trained = 0, chunks_queued = 0;
    int64_t transitions_received = 0, transitions_trained = 0, transitions_queued = 0;
    std::map<int, std::pair<uint64_t, int64_t>> dropped;  // reason → (chunks, transitions)
    uint64_t duplicates = 0, rate_limited = 0;
  };
  Counts counts() const;
  int64_t transitions_trained() const;
  // Σ dropped(reason) in transitions.
  int64_t transitions_dropped() const;

  // OK when the invariant holds and nothing queued is below zero (it always
  // should); otherwise says how not.
  absl::Status CheckInvariant() const;

  // Writes the counters into a LearnerStatus (chunks_*, transitions_*).
  void FillStatus(v1::LearnerStatus* st) const;

 private:
  void DropLocked(v1::ChunkOutcome reason, int64_t transitions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  FateHook hook_;  // set before use, then read-only
  mutable absl::Mutex mu_;
  Counts c_ ABSL_GUARDED_BY(mu_);
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_CHUNK_ACCOUNTING_H_
