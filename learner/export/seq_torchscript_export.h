// TorchScript export of a sequence policy (learner/lm/seq_checkpoint.h):
// `proxima export --checkpoint SEQ_CHECKPOINT --out FILE` writes a module
// that Python loads with torch.jit.load and C++ with torch::jit::load.
//
// The module (class ProximaSeqPolicy) holds every SeqPolicy parameter under
// its checkpoint name with '.' replaced by '_' (token_embedding_weight,
// blocks_0_qkv_weight, ...), metadata attributes (format, kind "seq_policy",
// the SeqPolicyConfig fields, task, tokenizer_kind, tokenizer_alphabet for a
// character tokenizer, policy_version, sft_steps, sft_held_out_accuracy) and
// one method:
//   forward(tokens: int64 [B, T], T <= max_seq_len)
//       -> (logits float32 [B, T, vocab_size], values float32 [B, T])
// generated as TorchScript source for the model's depth: the same ops as
// SeqPolicyImpl::forward (embedding, layer_norm eps 1e-5, linear, the causal
// mask as masked_fill(-inf), softmax, exact GELU), so it reproduces the C++
// model to float rounding. A SentencePiece tokenizer's model bytes go into
// the extra file "tokenizer.model"; "proxima.json" repeats the metadata.
//
// After building, the export loads the bytes back and compares logits and
// values with the live model on random token batches
// (self_check_max_abs_diff); above 1e-5 nothing is written.
#ifndef PROXIMA_LEARNER_EXPORT_SEQ_TORCHSCRIPT_EXPORT_H_
#define PROXIMA_LEARNER_EXPORT_SEQ_TORCHSCRIPT_EXPORT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace proxima {

// Bumped whenever the method contract or an attribute changes.
inline constexpr int kTorchScriptSeqPolicyFormat = 1;

struct SeqExportInfo {
  std::string path;        // the file written
  std::string checkpoint;  // the checkpoint it came from
  std::string task_id;
  int vocab_size = 0;
  int max_seq_len = 0;
  int64_t parameters = 0;
  uint64_t policy_version = 0;
  int64_t size_bytes = 0;
  double self_check_max_abs_diff = 0;  // max |exported − live| of logits and values
};

// LoadSeqCheckpoint(checkpoint_path) (file, checkpoints dir or run dir), then
// the export to `out_path` (atomically). The loader's errors; Internal when
// the module cannot be built or the self-check fails.
absl::StatusOr<SeqExportInfo> ExportSeqCheckpointToTorchScript(const std::string& checkpoint_path,
                                                               const std::string& out_path);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_EXPORT_SEQ_TORCHSCRIPT_EXPORT_H_
