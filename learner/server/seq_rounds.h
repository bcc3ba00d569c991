// The sync rounds of a sequence run's learner (`--mode sync`, issue 25;
// learner/server/seq_learner_server.h): the MLP learner's Batcher
// (learner/server/batcher.h), whose AssembleSync gathers one chunk from
// every live session at the current version, wired to the sequence
// learner's parts. A sequence run has no pause and no admin requests that
// the round loop serves (Admin.SaveCheckpoint and SetHyperparameters answer
// at once), so those callbacks say "none"; a chunk the round drops
// (DROPPED_LATE_FOR_ROUND) is counted in the accounting and on its
// session, held chunks that moved into the queue are acked through the
// intake, and a session left out of a round is counted on it.
//
// The Batcher is used as its contract says: from one thread (the learner's
// chunk thread).
#ifndef PROXIMA_LEARNER_SERVER_SEQ_ROUNDS_H_
#define PROXIMA_LEARNER_SERVER_SEQ_ROUNDS_H_

#include <memory>

#include "learner/server/batcher.h"
#include "learner/server/chunk_accounting.h"
#include "learner/server/chunk_intake.h"
#include "learner/server/learner_options.h"
#include "learner/server/session_registry.h"
#include "learner/server/trajectory_queue.h"

namespace proxima {

// Every pointer outlives the Batcher. options: min_actors (the first round
// waits for them) and sync_round_timeout_seconds (a round goes ahead
// without the sessions still missing that long after its first chunk).
std::unique_ptr<Batcher> MakeSeqRoundBatcher(TrajectoryQueue* queue, SessionRegistry* sessions,
                                             ChunkAccounting* accounting, ChunkIntake* intake,
                                             const LearnerOptions& options);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_SEQ_ROUNDS_H_
