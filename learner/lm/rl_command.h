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
//                 [--reward-model RM [--style none|length|pad:C]
//                  [--style-weight W] [--style-cap K]] [--threads N] [--run-dir DIR]
//
// CKPT (a file, or a run directory: learner/lm/seq_checkpoint.h) is loaded
// twice: the policy that trains and the frozen reference. The task and the
// tokenizer are the checkpoint's. --kl-beta is GRPO's coefficient of the KL
// to the reference in the loss; PPO puts --reward-kl-beta in the per-token
// reward instead and adapts it toward --kl-target (per-sequence KL) when
// that is > 0. Prints one line per iteration (reward, KL, tokens/s) and the
// held-out exact match at every evaluation. With --run-dir DIR, writes
// DIR/metrics.csv (one row per iteration) and the trained policy as
// DIR/checkpoints/ckpt-<iterations>.pt.
//
// With --reward-model RM (a reward-model checkpoint or run directory,
// `proxima lm reward-model`), completions are rewarded by the learned reward
// model instead of the task's rule (learner/lm/rlhf_scorer.h), in this one
// process, normalized as (r − mean) / std with the reward model's figures on
// the SFT policy's held-out samples before the first update (mean_reward
// holds the normalized reward, learned_reward the raw r). Every iteration
// then also reports the hidden true score of the
// same completions (TrueScore, learner/lm/preferences.h: --reward is its
// rule part, --style/--style-weight/--style-cap its style term, with
// `proxima lm preferences`' defaults — give the settings the pairs were made
// with), and metrics.csv gains the columns learned_reward, true_reward,
// true_rule, true_style; every evaluation also samples one completion per
// held-out prompt (the prompts the SFT run was measured on) and reports
// their learned and true reward, exact match and KL to the reference per
// sequence (held_out_* columns), before the first iteration too; with
// --run-dir, DIR/summary.json holds those figures before the first update
// ("before", written then) and after the last ("after"), with β, the learning
// rate and the reward normalization (`proxima plot` draws the "before" point
// at the start of its over-optimisation curves: learner/cli/rlhf_plot.h).
// Generation gets the room a padding style pays for. A policy given as RM or
// a reward model as CKPT, a missing file, another task's or tokenizer's
// reward model, or one too short for the completions exits 2 naming the
// flag. Exit status: 0, 1 at a runtime failure, 2 for a bad command line
// (the usage printed by the caller).
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
