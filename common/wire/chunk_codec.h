// Conversion between RolloutBatch (in memory, float32 actions) and the wire
// message proxima.v1.TrajectoryChunk (trajectory.proto).
//
// Tensors travel as dtype + shape + raw little-endian bytes; encoding and
// decoding are one memcpy per tensor (discrete actions are widened to / from
// int64 as the schema requires). DecodeChunk expects a chunk that passed
// ValidateChunkPayload (common/wire/chunk_validator.h); it does not re-check.
#ifndef PROXIMA_COMMON_WIRE_CHUNK_CODEC_H_
#define PROXIMA_COMMON_WIRE_CHUNK_CODEC_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "common/wire/rollout_batch.h"
#include "proxima/v1/trajectory.pb.h"

namespace proxima {

struct ChunkHeader {
  uint32_t actor_id = 0;
  uint64_t session_id = 0;
  uint64_t seq = 0;
  uint64_t policy_version = 0;
  bool final = false;
  float rollout_seconds = 0;
};

// An episode that ended inside the chunk, at step t of column e.
struct EpisodeRecord {
  int t = 0;
  int e = 0;
  double episode_return = 0;
  int64_t length = 0;
  bool truncated = false;
};

void EncodeChunk(const RolloutBatch& batch, bool discrete, const ChunkHeader& header,
                 absl::Span<const EpisodeRecord> episodes, v1::TrajectoryChunk* out);

RolloutBatch DecodeChunk(const v1::TrajectoryChunk& chunk, bool discrete);

// Episodes carried by a chunk.
std::vector<EpisodeRecord> ChunkEpisodes(const v1::TrajectoryChunk& chunk);

// Sets `t` to dtype + shape + the raw bytes of `data` (`bytes` long).
void SetTensor(v1::TensorProto* t, v1::DType dtype, std::initializer_list<int64_t> shape,
               const void* data, size_t bytes);

// Bytes per element of a wire dtype (0 for DTYPE_UNSPECIFIED / unknown).
size_t DTypeSize(v1::DType dtype);

}  // namespace proxima

#endif  // PROXIMA_COMMON_WIRE_CHUNK_CODEC_H_
