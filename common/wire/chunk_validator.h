// ValidateChunkPayload: the content checks every TrajectoryChunk passes before
// it can reach a batch (trajectory.proto states the rules).
//
// Checks, each failing with InvalidArgument whose message starts with the
// offending field: step/env counts against the run config; every tensor's
// dtype, shape and byte length; finite floats (observations, log-probs,
// rewards, continuous actions, bootstrap and truncated observations); discrete
// actions inside [0, n); flags 0 or 1; exactly one truncated observation per
// truncated-not-terminated step and one episode summary per finished step, in
// increasing (t, e) order; the actor's timings (rollout_seconds, env_seconds,
// inference_seconds, send_wait_seconds, weights_wait_seconds) finite and
// >= 0. Session, sequence and version checks are the
// session registry's job (they need learner state). Pure function,
// thread-safe, no allocation beyond the error message.
#ifndef PROXIMA_COMMON_WIRE_CHUNK_VALIDATOR_H_
#define PROXIMA_COMMON_WIRE_CHUNK_VALIDATOR_H_

#include "absl/status/status.h"
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

}  // namespace proxima

#endif  // PROXIMA_COMMON_WIRE_CHUNK_VALIDATOR_H_
