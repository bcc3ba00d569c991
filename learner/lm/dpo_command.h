// `proxima lm dpo`: Direct Preference Optimization of a sequence policy on
// preference pairs (issue 26's offline baseline), in one process.
//
//   proxima lm dpo --init CKPT --pairs FILE [--eval-pairs FILE] [--beta B]
//                  [--steps N] [--lr X] [--batch-size N] [--eval-prompts N]
//                  [--reward exact|partial] [--style none|length|pad:C]
//                  [--style-weight W] [--style-cap K] [--seed S]
//                  [--threads N] [--run-dir DIR]
//
// CKPT (a sequence checkpoint file or a run directory, learner/lm/
// seq_checkpoint.h; normally the SFT policy) is loaded twice: the policy that
// trains and the frozen reference. The task and tokenizer are the
// checkpoint's. FILE is a preference file (learner/lm/preference_data.h); a
// pair's prompt is tokenized with <bos> first and each completion with <eos>
// appended (learner/lm/dpo_loss.h). Pairs must be on the task's training
// prompts: a held-out prompt is refused, because the held-out prompts are
// what the policy is evaluated on. Training: learner/lm/dpo_trainer.h.
//
// Reported before and after training: DPO's loss, preference accuracy and
// implicit reward margin over all the pairs; with --eval-pairs (held-out
// pairs, e.g. `proxima lm preferences --held-out-out`), the preference
// accuracy of the implicit reward on them against their labels and against
// the true order (pairs marked noisy swapped back); and, on --eval-prompts
// held-out prompts (those CKPT's SFT run was measured on, whatever --seed,
// as the sequence learner evaluates; --seed orders the pairs), the
// policy's own samples at temperature 1 — mean exact-match reward, mean
// per-sequence KL to the reference (learner/lm/dpo_eval.h) and the mean
// hidden true score (learner/lm/preferences.h's TrueScore, with its rule and
// style parts; --reward and --style* name it and should be the ones the
// pairs were made with, whose defaults they share) — plus greedy exact
// match (common/lm/task_eval.h). The samples get as many tokens as
// `proxima lm preferences` gives its own (room for a padding style). With --run-dir DIR: DIR/metrics.csv (one row per
// step), DIR/summary.json (the before/after figures) and the trained policy
// as DIR/checkpoints/ckpt-<steps>-dpo.pt, which `proxima eval` reads.
//
// Exit status: 0; 1 at a runtime failure; 2 for a bad command line (a flag
// named), a missing or bad checkpoint, or a bad pairs file (the reader's
// message, naming the file, line and field; or the pair that does not fit
// the task or model).
#ifndef PROXIMA_LEARNER_LM_DPO_COMMAND_H_
#define PROXIMA_LEARNER_LM_DPO_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace proxima {

// The usage lines of `proxima lm dpo`.
extern const char kLmDpoUsage[];

// Runs `proxima lm dpo` with its arguments (after "dpo"). A bad command line
// or input returns InvalidArgument (or the loader's error) with nothing run
// (*exit_code unset: the caller prints the usage and exits 2); otherwise
// *exit_code is 0 or 1.
absl::Status RunLmDpo(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                      int* exit_code);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_LM_DPO_COMMAND_H_
