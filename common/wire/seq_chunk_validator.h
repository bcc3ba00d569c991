// ValidateSequenceChunk: the content checks every sequence chunk (a
// TrajectoryChunk carrying a SequenceBatch, protocol revision 2) passes
// before the learner counts or evaluates it; trajectory.proto's SequenceBatch
// comment states the rules.
//
// A failure names its rule class — the vocabulary of the learner's
// rejection counters (SequenceStatus.rejected) — and a message that starts
// with the offending field:
//   kind        no `sequences`, or step fields (num_steps, num_envs, the
//               step tensors, episodes) set beside them
//   shape       a tensor's dtype, shape or byte length; N = 0
//   length      a prompt or completion length outside 1..P / 1..C, or a
//               sequence longer than the model's positions
//   token_range a token id outside [0, vocab_size), or a padding id not 0
//   mask        the completion mask not 1 exactly below the length
//   log_prob    a behaviour log-prob not finite, above 0, or set on padding
//   reward      a reward not finite
//   group       group_size 0, not the run's, not dividing N; a group's ids
//               not equal, a group id reused or negative; a group's
//               prompts not equal
//   sampling    temperature not finite and > 0, top_k above the vocabulary
//   timing      the actor's timings (chunk_validator.h)
// Session, sequence and version checks are the session registry's, as for
// step chunks. Pure function, thread-safe.
#ifndef PROXIMA_COMMON_WIRE_SEQ_CHUNK_VALIDATOR_H_
#define PROXIMA_COMMON_WIRE_SEQ_CHUNK_VALIDATOR_H_

#include <optional>
#include <string>

#include "proxima/v1/trajectory.pb.h"

namespace proxima {

enum class SeqReject {
  kKind,
  kShape,
  kLength,
  kTokenRange,
  kMask,
  kLogProb,
  kReward,
  kGroup,
  kSampling,
  kTiming,
};
// "kind", "shape", "length", "token_range", "mask", "log_prob", "reward",
// "group", "sampling", "timing".
const char* SeqRejectName(SeqReject r);

// What the run allows.
struct SequenceChunkSpec {
  int vocab_size = 0;
  int max_seq_len = 0;  // prompt + completion positions
  int group_size = 0;   // the run's G; 0: any
};

struct SeqRejection {
  SeqReject rule;
  std::string message;  // "<field>: what is wrong"
  // "<class>: <message>", what the learner's ack says.
  std::string reason() const;
};

// nullopt when `chunk` is a valid sequence chunk for `spec`.
std::optional<SeqRejection> ValidateSequenceChunk(const v1::TrajectoryChunk& chunk,
                                                  const SequenceChunkSpec& spec);

}  // namespace proxima

#endif  // PROXIMA_COMMON_WIRE_SEQ_CHUNK_VALIDATOR_H_
