// Sequence chunks (protocol revision 2): conversion between SequenceChunk
// (in memory, one record per generated sequence) and the wire message
// proxima.v1.SequenceBatch (trajectory.proto states the layout and rules).
//
// EncodeSequenceBatch pads prompts and completions to the longest of the
// chunk (P, C) with 0 and writes lengths, mask, log-probs, rewards and group
// ids as raw little-endian tensors; DecodeSequenceBatch is its inverse and
// expects a batch that passed ValidateSequenceChunk
// (common/wire/seq_chunk_validator.h): it does not re-check. Plain vectors,
// no LibTorch: an actor or a test builds a chunk without a tensor library.
// Pure functions, thread-safe.
#ifndef PROXIMA_COMMON_WIRE_SEQ_CHUNK_CODEC_H_
#define PROXIMA_COMMON_WIRE_SEQ_CHUNK_CODEC_H_

#include <cstdint>
#include <vector>

#include "proxima/v1/trajectory.pb.h"

namespace proxima {

// One generated sequence.
struct SequenceRecord {
  std::vector<int> prompt;         // the prompt as the model read it (<bos> first)
  std::vector<int> completion;     // generated ids, the stop token included
  std::vector<float> logprobs;     // log mu of each completion id
  float reward = 0;                // by the task's rule
  int64_t group_id = 0;            // equal within a group of G
};

// A chunk's sequences, in groups of `group_size` consecutive records.
struct SequenceChunk {
  int group_size = 1;
  float temperature = 1;
  int top_k = 0;
  std::vector<SequenceRecord> sequences;

  // Completion tokens over every sequence.
  int64_t completion_tokens() const;
};

void EncodeSequenceBatch(const SequenceChunk& chunk, v1::SequenceBatch* out);

SequenceChunk DecodeSequenceBatch(const v1::SequenceBatch& batch);

}  // namespace proxima

#endif  // PROXIMA_COMMON_WIRE_SEQ_CHUNK_CODEC_H_
