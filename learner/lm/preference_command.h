// `proxima lm preferences` and `proxima lm reward-model`: simulated
// preference labelling (learner/lm/preferences.h) and a Bradley–Terry reward
// model (learner/lm/reward_model.h), from a sequence checkpoint.
//
//   proxima lm preferences --init CKPT --out FILE [--task ID] [--pairs N]
//                          [--held-out-pairs N --held-out-out FILE]
//                          [--label-noise P] [--reward exact|partial]
//                          [--style none|length|pad:C] [--style-weight W]
//                          [--style-cap K] [--temperature T]
//                          [--max-new-tokens N] [--seed S] [--threads N]
//   proxima lm preferences --check FILE
//   proxima lm reward-model --init CKPT --pairs FILE [--eval-pairs FILE]
//                           [--steps N] [--lr X] [--batch-size N]
//                           [--eval-every N] [--loglik-weight W]
//                           [--train all|head] [--seed S] [--threads N]
//                           [--run-dir DIR]
//
// `preferences` samples pairs from CKPT's policy for CKPT's task (or --task)
// and writes the training pairs (kTrain prompts) to --out and, with
// --held-out-pairs N > 0, N pairs of held-out prompts to --held-out-out;
// `--check FILE` reads a preference file (the user's own, say) and prints
// what it holds. `reward-model` initialises a reward model from CKPT (its
// reward: reward_model.h, --loglik-weight being w; --train head trains the
// value head alone), trains it on --pairs, reports pairwise accuracy
// (against the labels and, where the file has true scores, against them)
// and calibration on --eval-pairs before and after training (and on the
// training pairs), and with --run-dir DIR writes the model as a
// reward-model checkpoint (DIR/checkpoints/ckpt-<steps>-rm.pt, kind
// "reward_model"), DIR/metrics.csv (one row per evaluation) and
// DIR/reward_model.json (the final figures).
//
// Exit status as `proxima lm rl` (rl_command.h): a bad command line or a bad
// preference file returns InvalidArgument naming the flag, or the file, line
// and field (the caller prints it with the usage and exits 2); otherwise
// *exit_code is 0, or 1 at a runtime failure.
#ifndef PROXIMA_LEARNER_LM_PREFERENCE_COMMAND_H_
#define PROXIMA_LEARNER_LM_PREFERENCE_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace proxima {

// The usage lines of the two subcommands.
extern const char kLmPreferenceUsage[];

absl::Status RunLmPreferences(const std::vector<std::string>& args, std::ostream& out,
                              std::ostream& err, int* exit_code);
absl::Status RunLmRewardModel(const std::vector<std::string>& args, std::ostream& out,
                              std::ostream& err, int* exit_code);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_LM_PREFERENCE_COMMAND_H_
