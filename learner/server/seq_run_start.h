// SeqRunStart: where a sequence run's learner starts from — the policy (the
// seeded init, an init checkpoint, or a resumed run's newest checkpoint), the
// frozen reference (the policy's start: the init checkpoint loaded again, or
// the same seeded init), what the run's own checkpoints will say about the
// model, the version to continue from, the held-out prompts' seed, and the
// run directory's files (learner/server/seq_run_files.h).
//
// PrepareSeqRunStart checks the run-level settings first (held-out
// evaluation, options that need training, resume without a directory:
// InvalidArgument naming them) and then loads. The init checkpoint's model
// shape and alphabet replace config->run's; its task and tokenizer must be
// the run's (InvalidArgument naming --init-checkpoint). A resumed run's
// newest checkpoint must hold the same task and model (FailedPrecondition
// naming the file); LoadSeqCheckpoint's and SeqRunFiles' errors pass
// through, naming their files. With a reward model
// (SeqTrainingOptions.reward_settings) it loads it and measures its
// normalization on the reference (SeqRewardModel::Create), into
// config->training->reward.
#ifndef PROXIMA_LEARNER_SERVER_SEQ_RUN_START_H_
#define PROXIMA_LEARNER_SERVER_SEQ_RUN_START_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "common/lm/seq_policy.h"
#include "learner/lm/seq_checkpoint.h"
#include "learner/server/seq_learner_server.h"
#include "learner/server/seq_run_files.h"

namespace proxima {

struct SeqRunStart {
  lm::SeqPolicy model{nullptr};      // eval mode
  lm::SeqPolicy reference{nullptr};  // with training only
  lm::SeqCheckpointInfo checkpoint;  // policy_version left 0
  uint64_t version = 0;              // a resumed run's; else 0
  uint64_t held_out_seed = 1;        // lm::HeldOutEvalSeed of the SFT's seed
  std::unique_ptr<SeqRunFiles> files;  // null without a run directory
};

absl::StatusOr<SeqRunStart> PrepareSeqRunStart(SeqLearnerConfig* config);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_SEQ_RUN_START_H_
