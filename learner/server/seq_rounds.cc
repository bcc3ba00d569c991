#include "learner/server/seq_rounds.h"

#include <utility>
#include <vector>

namespace proxima {

std::unique_ptr<Batcher> MakeSeqRoundBatcher(TrajectoryQueue* queue, SessionRegistry* sessions,
                                             ChunkAccounting* accounting, ChunkIntake* intake,
                                             const LearnerOptions& options) {
  Batcher::Callbacks cb{
      [] { return false; },  // paused
      [] { return false; },  // has_requests
      [] {},                 // serve
      [] { return 0; },      // max_policy_lag: a round takes its own version only
      [accounting, sessions](const QueuedChunk& c, v1::ChunkOutcome why) {
        accounting->Dropped(c.actor_name, c.seq, c.transitions, why);
        sessions->CountDropped(c.session_id);
      },
      [intake](std::vector<TrajectoryQueue::Released> released) {
        intake->ResumeHeld(std::move(released));
      },
      [sessions] { return sessions->LiveSessions(); },
      [sessions](const std::vector<uint64_t>& ids) { sessions->MissedRound(ids); },
  };
  return std::make_unique<Batcher>(
      queue, std::move(cb),
      Batcher::Options{options.min_actors, absl::Seconds(options.sync_round_timeout_seconds)});
}

}  // namespace proxima
