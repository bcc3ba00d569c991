// ChunkLedger: the chunk accounting as a test knows it, independently of the
// learner's own counters. The test records every chunk it sent and the ack it
// got; the learner's test hook (LearnerTestHooks::on_chunk_done) records what
// became of every accepted chunk (trained, or dropped after its ack, with the
// reason). Check() then compares the learner's status with those counts, so a
// counter the server moves wrongly in pairs cannot hide behind the invariant.
#ifndef PROXIMA_TESTS_LEARNER_CHUNK_LEDGER_H_
#define PROXIMA_TESTS_LEARNER_CHUNK_LEDGER_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "learner/server/learner_server.h"
#include "proxima/v1/status.pb.h"
#include "proxima/v1/trajectory.pb.h"

namespace proxima::testing {

class ChunkLedger {
 public:
  // The hook to install with LearnerServer::SetTestHooks (the ledger must
  // outlive the server).
  std::function<void(const std::string&, uint64_t, int64_t, v1::ChunkOutcome)> FateHook() {
    return [this](const std::string& actor, uint64_t seq, int64_t transitions,
                  v1::ChunkOutcome fate) {
      absl::MutexLock l(&mu_);
      Fate& f = fates_[{actor, seq}];
      ++f.times;
      f.outcome = fate;
      f.transitions = transitions;
    };
  }

  // The test sent `chunk` as `actor` and got `ack` for it.
  void RecordAck(const std::string& actor, const v1::TrajectoryChunk& chunk,
                 const v1::ChunkAck& ack) {
    absl::MutexLock l(&mu_);
    Sent& s = acks_[ack.outcome()];
    ++s.chunks;
    s.transitions += static_cast<int64_t>(chunk.num_steps()) * chunk.num_envs();
    if (ack.outcome() == v1::CHUNK_OUTCOME_ACCEPTED) {
      accepted_[{actor, chunk.seq()}] = static_cast<int64_t>(chunk.num_steps()) * chunk.num_envs();
    }
  }

  // Chunks whose fate the learner reported as `outcome` (ACCEPTED: trained).
  uint64_t FateCount(v1::ChunkOutcome outcome) const {
    absl::MutexLock l(&mu_);
    uint64_t n = 0;
    for (const auto& [key, f] : fates_) n += f.outcome == outcome;
    return n;
  }

  uint64_t AckCount(v1::ChunkOutcome outcome) const {
    absl::MutexLock l(&mu_);
    auto it = acks_.find(outcome);
    return it == acks_.end() ? 0 : it->second.chunks;
  }

  // Empty when `st` agrees with the ledger; otherwise what disagrees. Every
  // ack the test received must be in `st` (take `st` after the last ack).
  std::string Check(const v1::LearnerStatus& st) const {
    absl::MutexLock l(&mu_);
    std::string err;
    uint64_t acked = 0;
    int64_t acked_t = 0;
    for (const auto& [outcome, s] : acks_) {
      if (outcome == v1::CHUNK_OUTCOME_DUPLICATE) continue;  // not received again
      acked += s.chunks;
      acked_t += s.transitions;
    }
    auto dup = acks_.find(v1::CHUNK_OUTCOME_DUPLICATE);
    const uint64_t duplicates = dup == acks_.end() ? 0 : dup->second.chunks;
    if (st.chunks_duplicate() != duplicates) {
      absl::StrAppend(&err, "duplicates ", st.chunks_duplicate(), " != the test's ", duplicates,
                      "; ");
    }
    // Every chunk read gets exactly one ack, in order.
    if (st.chunks_received() != acked) {
      absl::StrAppend(&err, "received ", st.chunks_received(), " != acks the test got ", acked,
                      "; ");
    }
    if (st.transitions_received() != static_cast<uint64_t>(acked_t)) {
      absl::StrAppend(&err, "transitions received ", st.transitions_received(),
                      " != the test's ", acked_t, "; ");
    }
    // Each accepted chunk has at most one fate, and only accepted chunks have one.
    std::map<int, std::pair<uint64_t, int64_t>> fate_counts;
    for (const auto& [key, f] : fates_) {
      if (f.times != 1) {
        absl::StrAppend(&err, key.first, "#", key.second, " has ", f.times, " fates; ");
      }
      auto it = accepted_.find(key);
      if (it == accepted_.end()) {
        absl::StrAppend(&err, key.first, "#", key.second, " has a fate but was not accepted; ");
      } else if (f.transitions != it->second && !(f.transitions == 0 && it->second == 0)) {
        absl::StrAppend(&err, key.first, "#", key.second, " fate has ", f.transitions,
                        " transitions, sent ", it->second, "; ");
      }
      ++fate_counts[f.outcome].first;
      fate_counts[f.outcome].second += f.transitions;
    }
    const uint64_t accepted = accepted_.size();
    if (accepted != fates_.size() + st.chunks_queued()) {
      absl::StrAppend(&err, "accepted ", accepted, " != fates ", fates_.size(), " + queued ",
                      st.chunks_queued(), "; ");
    }
    const auto& trained = fate_counts[v1::CHUNK_OUTCOME_ACCEPTED];
    if (st.chunks_trained() != trained.first ||
        st.transitions_trained() != static_cast<uint64_t>(trained.second)) {
      absl::StrAppend(&err, "trained ", st.chunks_trained(), "/", st.transitions_trained(),
                      " != the trainer's ", trained.first, "/", trained.second, "; ");
    }
    // Per drop reason: the drops sent in acks plus those after the ack.
    std::map<int, std::pair<uint64_t, int64_t>> want;
    for (const auto& [outcome, s] : acks_) {
      if (outcome == v1::CHUNK_OUTCOME_ACCEPTED || outcome == v1::CHUNK_OUTCOME_DUPLICATE) continue;
      want[outcome].first += s.chunks;
      want[outcome].second += s.transitions;
    }
    for (const auto& [outcome, c] : fate_counts) {
      if (outcome == v1::CHUNK_OUTCOME_ACCEPTED) continue;
      want[outcome].first += c.first;
      want[outcome].second += c.second;
    }
    std::map<int, std::pair<uint64_t, int64_t>> got;
    for (const v1::DropCount& d : st.chunks_dropped()) {
      got[d.reason()] = {d.chunks(), static_cast<int64_t>(d.transitions())};
    }
    if (got != want) {
      absl::StrAppend(&err, "drops by reason differ from the test's counts: got");
      for (const auto& [r, c] : got) {
        absl::StrAppend(&err, " ", v1::ChunkOutcome_Name(static_cast<v1::ChunkOutcome>(r)), "=",
                        c.first, "/", c.second);
      }
      absl::StrAppend(&err, ", want");
      for (const auto& [r, c] : want) {
        absl::StrAppend(&err, " ", v1::ChunkOutcome_Name(static_cast<v1::ChunkOutcome>(r)), "=",
                        c.first, "/", c.second);
      }
      absl::StrAppend(&err, "; ");
    }
    return err;
  }

 private:
  struct Sent {
    uint64_t chunks = 0;
    int64_t transitions = 0;
  };
  struct Fate {
    int times = 0;
    v1::ChunkOutcome outcome = v1::CHUNK_OUTCOME_UNSPECIFIED;
    int64_t transitions = 0;
  };
  mutable absl::Mutex mu_;
  std::map<int, Sent> acks_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, uint64_t>, int64_t> accepted_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, uint64_t>, Fate> fates_ ABSL_GUARDED_BY(mu_);
};

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_LEARNER_CHUNK_LEDGER_H_
