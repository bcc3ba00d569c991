// `proxima eval --checkpoint PATH | --policy FILE [--env ENV] [--episodes N]
// [--deterministic] [--seed S] [--clip-action=true|false] [--json]`: runs N
// episodes of a trained policy on Proxima's C++ environments
// (learner/export/policy_evaluator.h) and prints mean ± std of return and
// length; with --json one object with the per-episode values. Box actions are
// clipped as the run clipped them in training unless --clip-action says.
//
// A sequence-policy checkpoint (`proxima lm sft --run-dir`, learner/lm/
// seq_checkpoint.h) is evaluated on its task instead: `proxima eval
// --checkpoint PATH [--prompts N] [--seed S] [--json]` completes N held-out
// prompts greedily (common/lm/task_eval.h) and prints the exact-match
// accuracy and mean partial credit.
//
// Defines --policy, --episodes, --deterministic and --prompts (--checkpoint lives in
// export_command.cc, --env/--seed/--clip-action in ppo_flags.cc, --json in
// proxima_torch_main.cc);
// link only into the `proxima-torch` executable.
#ifndef PROXIMA_LEARNER_CLI_EVAL_COMMAND_H_
#define PROXIMA_LEARNER_CLI_EVAL_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

namespace proxima {

// `args`: the command line as given to main (without argv[0]), already parsed
// into the flags once; used only to tell whether --env was given (it defaults
// to the policy's env, not to --env's default).
// Exit status: 0 ok, 1 runtime failure, 2 bad command line, missing or
// unreadable policy, unknown env or one the policy does not fit, N <= 0.
int EvalCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_EVAL_COMMAND_H_
