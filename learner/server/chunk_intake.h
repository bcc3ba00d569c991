// ChunkIntake: what the learner does with each chunk a trajectory stream
// reads (DESIGN.md "Sessions, sequence numbers, lag").
//
// The checks that need no decoding form one decision table (chunk_intake.cc,
// kRules): shutting down, unknown session, superseded session, wrong actor
// id, duplicate, out of order, too large, after the final chunk, newer than
// the learner's version — the first row that applies decides the ack and how
// the chunk is counted. A chunk no row refuses is validated and decoded
// outside every lock, then, in session order: a resend that raced on a newer
// stream is a duplicate, an invalid payload is rejected, a chunk already
// beyond the lag limit (sync: any lag) is dropped, and the rest is accepted —
// rewards scaled, episodes recorded, counted, and pushed to the
// TrajectoryQueue. A chunk the queue cannot take yet is held there with its
// stream (ChunkDecision::blocked): the stream reads nothing more until the
// trainer makes room and the stream is resumed with the ack.
//
// Thread-safe: called from any gRPC thread. It takes the locks of the
// classes it calls one at a time (session registry, accounting, progress,
// queue), never two at once, and calls streams with none held.
#ifndef PROXIMA_LEARNER_SERVER_CHUNK_INTAKE_H_
#define PROXIMA_LEARNER_SERVER_CHUNK_INTAKE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/envs/env.h"
#include "common/wire/chunk_validator.h"
#include "learner/ppo_config.h"
#include "learner/server/chunk_accounting.h"
#include "learner/server/learner_options.h"
#include "learner/server/run_progress.h"
#include "learner/server/session_registry.h"
#include "learner/server/time_breakdown.h"
#include "learner/server/stream_reactors.h"
#include "learner/server/trajectory_queue.h"

namespace proxima {

class ChunkIntake final : public TrajectoryHost {
 public:
  struct Deps {
    SessionRegistry* sessions;
    TrajectoryQueue* queue;
    ChunkAccounting* accounting;
    RunProgress* progress;
    std::function<bool()> serving;        // false once the learner drains
    std::function<bool()> paused;         // ChunkAck.paused
    std::function<int()> max_policy_lag;  // the current --max-policy-lag
  };
  struct Options {
    ChunkSpec spec;  // num_envs is each session's
    bool sync = false;
    int64_t max_message_bytes = 0;
    // Sequence runs (protocol revision 2): checks and decodes a chunk's
    // payload in place of ValidateChunkPayload / DecodeChunk, filling the
    // QueuedChunk's sequences and transitions (completion tokens) when it is
    // valid; `sequence_rejected` hears the error of every chunk that made
    // REJECTED_INVALID. Both unset in an Env run.
    std::function<absl::Status(const v1::TrajectoryChunk&, QueuedChunk*)> sequence_payload;
    std::function<void(const absl::Status&)> sequence_rejected;
    // A run's: its env's spaces, rollout length, mode and message limit.
    static Options Of(const EnvSpec& env, const PpoConfig& config, const LearnerOptions& options);
  };

  ChunkIntake(Deps deps, Options options) : deps_(std::move(deps)), options_(options) {}

  // Where ingest time goes (HandleChunk, per call) and each valid chunk's
  // actor timings; null: not measured. Call before chunks arrive.
  void SetTimeBreakdown(TimeBreakdownTracker* times) { times_ = times; }

  // TrajectoryHost (learner/server/stream_reactors.h).
  void StreamStarted(const std::shared_ptr<TrajectoryStream>& stream) override;
  ChunkDecision HandleChunk(const std::shared_ptr<TrajectoryStream>& stream,
                            const v1::TrajectoryChunk& chunk, size_t wire_bytes) override;
  // A message of `wire_bytes` that did not parse as a TrajectoryChunk:
  // counted as received and REJECTED_INVALID (`session_id` is the stream's,
  // 0 if it sent no chunk before).
  void CountUnparsable(uint64_t session_id, size_t wire_bytes) override;
  // A chunk the stream held back (full queue) stays held: it was received,
  // so the actor's resend on its next stream is a DUPLICATE and the data is
  // trained exactly once.
  void StreamDone(TrajectoryStream* stream, uint64_t session_id) override;

  // Held chunks that moved into the queue: their streams get the ACCEPTED
  // ack and read on.
  void ResumeHeld(std::vector<TrajectoryQueue::Released> released);
  // At shutdown, once the trainer has stopped: every chunk still queued or
  // held is DROPPED_AT_SHUTDOWN; a held chunk's stream gets that ack.
  void DropAllAtShutdown();

  // An ack as the learner sends it now (its version and pause state).
  v1::ChunkAck Ack(uint64_t seq, v1::ChunkOutcome outcome, std::string reason,
                   uint64_t next_expected) const;

 private:
  // The accepted-chunk path, after decoding.
  ChunkDecision Admit(const std::shared_ptr<TrajectoryStream>& stream,
                      const v1::TrajectoryChunk& chunk, int64_t claimed, absl::Status valid,
                      QueuedChunk q, const std::vector<EpisodeRecord>& episodes);

  // HandleChunk without the ingest timing.
  ChunkDecision Ingest(const std::shared_ptr<TrajectoryStream>& stream,
                       const v1::TrajectoryChunk& chunk, size_t wire_bytes);

  const Deps deps_;
  const Options options_;
  TimeBreakdownTracker* times_ = nullptr;
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_CHUNK_INTAKE_H_
