// `proxima lm SUBCOMMAND [flags]`: the sequence-policy commands.
//
//   proxima lm sft [--task ID] [--steps N] [--batch-size N] [--lr X]
//                  [--warmup N] [--eval-every N] [--eval-prompts N]
//                  [--layers N] [--width N] [--heads N] [--max-seq-len N]
//                  [--seed S] [--threads N] [--tokenizer MODEL] [--run-dir DIR]
//     trains a fresh sequence policy (common/lm/seq_policy.h; --width sets
//     d_model, the MLP is 4 × width; the model is initialised with --seed)
//     on the task's demonstrations (learner/lm/sft.h, whose SftOptions give
//     the defaults), printing the loss every 100 steps and the held-out
//     exact match at every evaluation, then a summary line. --threads sets
//     LibTorch's and OpenBLAS's pools (default 1). With --run-dir, writes the
//     trained policy to DIR/checkpoints/ckpt-000000000000-sft.pt
//     (learner/lm/seq_checkpoint.h: policy version 0, the start of an LM run)
//     and prints its path. --tokenizer MODEL uses a SentencePiece model
//     (common/lm/sentencepiece_tokenizer.h) instead of the character
//     tokenizer; the checkpoint carries the model's bytes.
//   proxima lm tokenizer --corpus FILE --vocab-size N --out MODEL
//     trains a SentencePiece unigram model of N pieces on FILE's lines
//     (<pad> 0, <bos> 1, <eos> 2, <unk> 3) and writes it to MODEL.
//   proxima lm rl --init CKPT [--algo grpo|ppo] [flags]
//     GRPO or sequence PPO in one process from a sequence checkpoint
//     (learner/lm/rl_command.h lists the flags).
//   proxima lm tasks
//     lists the task ids with their descriptions.
//
// Flags are parsed by learner/lm/lm_flags.h, not by absl::flags (they are
// this command's own and must not collide with `proxima train`'s). `--help` prints this
// usage.
//
// RunLmCommand takes main's argc/argv shifted so that argv[0] is "lm" (or any
// program name; ignored) and argv[1] the subcommand. Exit status: 0 ok, 1 a
// runtime failure, 2 a bad command line (printed to stderr with the usage).
#ifndef PROXIMA_LEARNER_LM_LM_COMMAND_H_
#define PROXIMA_LEARNER_LM_LM_COMMAND_H_

#include <ostream>

namespace proxima {

int RunLmCommand(int argc, char** argv);

// RunLmCommand with its output streams given (tests).
int RunLmCommand(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_LM_LM_COMMAND_H_
