#include "learner/server/chunk_accounting.h"

#include "absl/strings/str_cat.h"

namespace proxima {

void ChunkAccounting::DropLocked(v1::ChunkOutcome reason, int64_t transitions) {
  auto& d = c_.dropped[reason];
  ++d.first;
  d.second += transitions;
}

void ChunkAccounting::Rejected(v1::ChunkOutcome reason, int64_t transitions) {
  absl::MutexLock l(&mu_);
  ++c_.chunks_received;
  c_.transitions_received += transitions;
  DropLocked(reason, transitions);
}

void ChunkAccounting::Accepted(int64_t transitions) {
  absl::MutexLock l(&mu_);
  ++c_.chunks_received;
  c_.transitions_received += transitions;
  ++c_.chunks_queued;
  c_.transitions_queued += transitions;
}

void ChunkAccounting::AcceptedEmpty(const std::string& actor_name, uint64_t seq) {
  absl::MutexLock l(&mu_);
  ++c_.chunks_received;
  ++c_.chunks_trained;
  if (hook_) hook_(actor_name, seq, 0, v1::CHUNK_OUTCOME_ACCEPTED);
}

void ChunkAccounting::Trained(const std::string& actor_name, uint64_t seq, int64_t transitions) {
  absl::MutexLock l(&mu_);
  --c_.chunks_queued;
  c_.transitions_queued -= transitions;
  ++c_.chunks_trained;
  c_.transitions_trained += transitions;
  if (hook_) hook_(actor_name, seq, transitions, v1::CHUNK_OUTCOME_ACCEPTED);
}

void ChunkAccounting::Dropped(const std::string& actor_name, uint64_t seq, int64_t transitions,
                              v1::ChunkOutcome reason) {
  absl::MutexLock l(&mu_);
  --c_.chunks_queued;
  c_.transitions_queued -= transitions;
  DropLocked(reason, transitions);
  if (hook_) hook_(actor_name, seq, transitions, reason);
}

void ChunkAccounting::Duplicate() {
  absl::MutexLock l(&mu_);
  ++c_.duplicates;
}

void ChunkAccounting::RateLimited() {
  absl::MutexLock l(&mu_);
  ++c_.rate_limited;
}

ChunkAccounting::Counts ChunkAccounting::counts() const {
  absl::MutexLock l(&mu_);
  return c_;
}

int64_t ChunkAccounting::transitions_trained() const {
  absl::MutexLock l(&mu_);
  return c_.transitions_trained;
}

int64_t ChunkAccounting::transitions_dropped() const {
  absl::MutexLock l(&mu_);
  int64_t total = 0;
  for (const auto& [reason, d] : c_.dropped) total += d.second;
  return total;
}

absl::Status ChunkAccounting::CheckInvariant() const {
  const Counts c = counts();
  uint64_t dropped_chunks = 0;
  int64_t dropped_transitions = 0;
  for (const auto& [reason, d] : c.dropped) {
    dropped_chunks += d.first;
    dropped_transitions += d.second;
  }
  // A fate sealed twice (or for a chunk never accepted) would leave queued
  // below zero while the sum still matched.
  if (c.chunks_queued > c.chunks_received || c.transitions_queued < 0) {
    return absl::InternalError(absl::StrCat("queued below zero: ", c.chunks_queued, " chunks, ",
                                            c.transitions_queued, " transitions"));
  }
  if (c.chunks_received != c.chunks_trained + dropped_chunks + c.chunks_queued) {
    return absl::InternalError(absl::StrCat("chunks: received ", c.chunks_received, " != trained ",
                                            c.chunks_trained, " + dropped ", dropped_chunks,
                                            " + queued ", c.chunks_queued));
  }
  if (c.transitions_received != c.transitions_trained + dropped_transitions + c.transitions_queued) {
    return absl::InternalError(absl::StrCat(
        "transitions: received ", c.transitions_received, " != trained ", c.transitions_trained,
        " + dropped ", dropped_transitions, " + queued ", c.transitions_queued));
  }
  return absl::OkStatus();
}

void ChunkAccounting::FillStatus(v1::LearnerStatus* st) const {
  const Counts c = counts();
  st->set_chunks_received(c.chunks_received);
  st->set_chunks_trained(c.chunks_trained);
  st->set_chunks_queued(c.chunks_queued);
  st->set_chunks_duplicate(c.duplicates);
  st->set_chunks_rate_limited(c.rate_limited);
  for (const auto& [reason, counts] : c.dropped) {
    v1::DropCount* d = st->add_chunks_dropped();
    d->set_reason(static_cast<v1::ChunkOutcome>(reason));
    d->set_chunks(counts.first);
    d->set_transitions(static_cast<uint64_t>(counts.second));
  }
  st->set_transitions_received(static_cast<uint64_t>(c.transitions_received));
  st->set_transitions_trained(static_cast<uint64_t>(c.transitions_trained));
  st->set_transitions_queued(static_cast<uint64_t>(c.transitions_queued));
}

}  // namespace proxima
