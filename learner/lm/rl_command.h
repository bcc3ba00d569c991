// `proxima lm rl`: GRPO or sequence PPO on a task in one process, from a
// sequence checkpoint (learner/lm/seq_rl_loop.h runs it; seq_trainer.h
// updates).
//
//   proxima lm rl --init CKPT [--algo grpo|ppo] [--iterations N]
//                 [--prompts N] [--group-size G] [--temperature T] [--top-k K]
//                 [--reward exact|partial] [--lr X] [--epochs N]
//                 [--minibatch N] [--kl-beta B] [--clip C] [--clip-high C]
//                 [--loss-aggregation token-mean|sequence-mean]
//                 [--reward-kl-beta B] [--kl-target K] [--gamma G] [--lambda L]
//                 [--vf-coef C] [--eval-every N] [--eval-prompts N] [--seed S]
//                 [--threads N] [--run-dir DIR]
//
// CKPT (a file, or a run directory: learner/lm/seq_checkpoint.h) is loaded
// twice: the policy that trains and the frozen reference. The task and the
// tokenizer are the checkpoint's. --kl-beta is GRPO's coefficient of the KL
// to the reference in the loss; PPO puts --reward-kl-beta in the per-token
// reward instead and adapts it toward --kl-target (per-sequence KL) when
// that is > 0. Prints one line per iteration (reward, KL, tokens/s) and the
// held-out exact match at every evaluation. With --run-dir DIR, writes
// DIR/metrics.csv (one row per iteration) and the trained policy as
// DIR/checkpoints/ckpt-<iterations>.pt. Exit status: 0, 1 at a runtime
// failure, 2 for a bad command line (the usage printed by the caller).
#ifndef PROXIMA_LEARNER_LM_RL_COMMAND_H_
#define PROXIMA_LEARNER_LM_RL_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace proxima {

// The usage lines of `proxima lm rl`.
extern const char kLmRlUsage[];

// Runs `proxima lm rl` with its arguments (after "rl"). A bad command line
// returns InvalidArgument with nothing run (*exit_code unset); otherwise
// *exit_code is 0 or 1.
absl::Status RunLmRl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                     int* exit_code);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_LM_RL_COMMAND_H_
