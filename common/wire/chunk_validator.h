// ValidateChunkPayload: the content checks every TrajectoryChunk passes before
// it can reach a batch (trajectory.proto states the rules).
//
// Checks, each failing with InvalidArgument whose message starts with the
// offending field: step/env counts against the run config; every tensor's
// dtype, shape and byte length; finite floats (observations, log-probs,
// rewards, continuous actions, bootstrap and truncated observations); discrete
// actions inside [0, n); flags 0 or 1; exactly one truncated observation per
// truncated-not-terminated step and one episode summary per finished step, in
// increasing (t, e) order; no `sequences` (a sequence chunk, protocol
// revision 2, belongs to a sequence run); the actor's timings (rollout_seconds, env_seconds,
// inference_seconds, send_wait_seconds, weights_wait_seconds) finite and
// >= 0. Session, sequence and version checks are the
// session registry's job (they need learner state). Pure function,
// thread-safe, no allocation beyond the error message.
#ifndef PROXIMA_COMMON_WIRE_CHUNK_VALIDATOR_H_
#define PROXIMA_COMMON_WIRE_CHUNK_VALIDATOR_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/envs/env.h"
#include "proxima/v1/trajectory.pb.h"

namespace proxima {

struct ChunkSpec {
  int obs_dim = 0;
  Space action_space;
  int num_envs = 0;
  int rollout_length = 0;  // T of a regular chunk; a final chunk may be shorter
};

absl::Status ValidateChunkPayload(const v1::TrajectoryChunk& chunk, const ChunkSpec& spec);

// The pieces other chunk kinds share (common/wire/seq_chunk_validator.h):
// `t` has exactly `dtype`, `shape` and prod(shape) elements of data, else
// InvalidArgument "<field>: ..."; the actor's timings are finite and >= 0.
absl::Status CheckWireTensor(const v1::TensorProto& t, absl::string_view field, v1::DType dtype,
                             const std::vector<int64_t>& shape);
absl::Status CheckChunkTimings(const v1::TrajectoryChunk& chunk);

}  // namespace proxima

#endif  // PROXIMA_COMMON_WIRE_CHUNK_VALIDATOR_H_
