// Sequence-policy checkpoints: what `proxima lm sft` writes and what an LM
// run (its policy start and frozen reference), `proxima eval` and
// `proxima export` read.
//
// A file holds one SeqPolicy (common/lm/seq_policy.h) with everything needed
// to run it again: its SeqPolicyConfig, its tokenizer (TokenizerSpec: kind
// plus the alphabet or the SentencePiece model bytes), the task id it was
// trained on, its parameters in named_parameters() order, a policy version
// and the SFT summary (steps, held-out exact match and partial credit).
//
// Format: the learner checkpoints' (learner/checkpoint.h) rules — a LibTorch
// archive written atomically (temp file, fsync, rename) under the same file
// names (RUN_DIR/checkpoints/ckpt-<version, 12 digits>[-<tag>].pt,
// learner/checkpoint_names.h), checked by CheckArchiveIntegrity
// (learner/archive_check.h: every zip record's CRC-32) before LibTorch parses
// it, with a JSON "meta" record carrying "format" (kSeqCheckpointFormat,
// bumped whenever a record's meaning changes) and "kind": "seq_policy" (an
// MLP checkpoint has no kind). Records: "meta"; "tokenizer" (uint8 tensor,
// TokenizerSpec::data); "param_<i>" for the i-th parameter, whose name and
// shape the meta lists.
//
// A reward model (`proxima lm reward-model`, learner/lm/reward_model.h) is
// stored the same way with "kind": "reward_model" (kRewardModelKind): the
// same SeqPolicy, whose reward is its value head at the <eos> after a
// completion plus reward_loglik_weight times the completion's log-likelihood
// (meta "reward": {"loglik_weight": w}). Loading takes the kind wanted (a
// policy by default); a file of the other kind is FailedPrecondition naming
// both: `proxima eval` and `proxima export` refuse a reward model
// (DetectSeqCheckpoint returns that error) instead of handing it to the MLP
// loader.
//
// Errors, each naming the file: NotFound (no such file, or no checkpoint in
// a directory); DataLoss for a truncated or corrupted file (CRC), a file of
// another format version, a meta record that does not parse or a parameter
// whose name or shape disagrees with the model its config builds;
// FailedPrecondition for a readable checkpoint of another kind (an MLP
// policy's, written by `proxima train`).
#ifndef PROXIMA_LEARNER_LM_SEQ_CHECKPOINT_H_
#define PROXIMA_LEARNER_LM_SEQ_CHECKPOINT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/lm/seq_policy.h"
#include "common/lm/tokenizer.h"

namespace proxima::lm {

inline constexpr int kSeqCheckpointFormat = 1;
inline constexpr char kSeqCheckpointKind[] = "seq_policy";
inline constexpr char kRewardModelKind[] = "reward_model";
// The tag of the checkpoint `proxima lm sft --run-dir DIR` writes:
// DIR/checkpoints/ckpt-000000000000-sft.pt.
inline constexpr char kSftCheckpointTag[] = "sft";

// The supervised warm start that produced the weights (zeros when none).
struct SftSummary {
  int steps = 0;
  int eval_prompts = 0;             // held-out prompts of the last evaluation
  double held_out_accuracy = 0.0;   // greedy exact match on them
  double mean_partial_credit = 0.0;
  uint64_t seed = 0;
};

// What a checkpoint says besides the parameters.
struct SeqCheckpointInfo {
  SeqPolicyConfig config;
  TokenizerSpec tokenizer;
  std::string task_id;          // e.g. "lm/Addition-v0"
  uint64_t policy_version = 0;  // names the file (ckpt-<version>.pt)
  SftSummary sft;
  std::string kind = kSeqCheckpointKind;  // or kRewardModelKind
  double reward_loglik_weight = 0.0;      // reward models only (reward_model.h)
};

// Writes `model` and `info` to DIR/ckpt-<info.policy_version>[-<tag>].pt
// (DIR created if needed) and returns the path. InvalidArgument when
// info.config is not model.config(), the tokenizer spec does not make a
// tokenizer of config.vocab_size ids, or the tag is not a valid checkpoint
// tag; Internal when LibTorch cannot serialize; the file error otherwise.
absl::StatusOr<std::string> SaveSeqCheckpoint(const std::string& dir, SeqPolicyImpl& model,
                                              const SeqCheckpointInfo& info,
                                              const std::string& tag = "");

struct LoadedSeqCheckpoint {
  std::string path;  // the file read
  SeqCheckpointInfo info;
  std::shared_ptr<const Tokenizer> tokenizer;  // MakeTokenizer(info.tokenizer)
  SeqPolicy model{nullptr};                    // CPU, eval mode, no gradients
};

// The checkpoint file `path` names: itself when it is a file; for a
// directory, its newest sequence checkpoint, or that of DIR/checkpoints (a
// run directory). NotFound when there is none (naming what was skipped).
// `kind`: the checkpoint kind looked for (kSeqCheckpointKind or
// kRewardModelKind).
absl::StatusOr<std::string> ResolveSeqCheckpointPath(const std::string& path,
                                                     const std::string& kind = kSeqCheckpointKind);

// Resolves `path` as above and loads the model, rebuilt from the config and
// filled with the stored parameters. Errors as listed at the top.
absl::StatusOr<LoadedSeqCheckpoint> LoadSeqCheckpoint(const std::string& path,
                                                      const std::string& kind = kSeqCheckpointKind);

// True when `path` (a file or a directory, resolved as above) holds a
// sequence-policy checkpoint: for commands that take either kind and must
// choose a loader (`proxima eval`, `proxima export`). Never fails; a missing
// or unreadable path is false (the MLP loader then reports the error).
bool IsSeqCheckpoint(const std::string& path);

// The same for a command that must also report a damaged file: true for a
// sequence-policy checkpoint; false for what the MLP loader should judge (a
// readable checkpoint of another kind, a directory without sequence
// checkpoints, a path that does not exist — e.g. RUN_DIR/best); the load
// error (DataLoss naming the file) for an existing file that is no readable
// checkpoint at all, whose kind cannot be told; FailedPrecondition for a
// reward model (a sequence checkpoint that is not a policy).
absl::StatusOr<bool> DetectSeqCheckpoint(const std::string& path);

}  // namespace proxima::lm

#endif  // PROXIMA_LEARNER_LM_SEQ_CHECKPOINT_H_
