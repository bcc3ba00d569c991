// Synthetic trajectory chunks for tests and fuzz seeds: a rollout of a
// chunk spec's shape with random observations and actions (drawn from
// LibTorch's global generator, so `at::manual_seed` first for fixed
// contents), behaviour log-prob log(0.5), reward 1, and the given episode
// ends marked in it — what a valid actor chunk looks like without running an
// env or a policy. Takes no locks; not thread-safe (the global generator).
#ifndef PROXIMA_TESTS_SUPPORT_SYNTHETIC_CHUNK_H_
#define PROXIMA_TESTS_SUPPORT_SYNTHETIC_CHUNK_H_

#include "absl/types/span.h"
#include "common/wire/chunk_codec.h"
#include "common/wire/chunk_validator.h"
#include "common/wire/rollout_batch.h"
#include "proxima/v1/trajectory.pb.h"

namespace proxima::testing {

// `steps` × spec.num_envs steps of spec's shape (`steps` may be shorter than
// the rollout length, as in a final chunk). Random, in this order:
// observations (normal), actions (uniform: an integer below n for a
// discrete space, else in [-1, 1)), bootstrap observations (normal), then
// one final observation (normal) per truncated episode. Each of `episodes`
// marks its (t, e) step terminated or truncated; a truncated one also gets
// a row in final_index/final_obs.
RolloutBatch SyntheticBatch(const ChunkSpec& spec, int steps,
                            absl::Span<const EpisodeRecord> episodes = {});

// SyntheticBatch encoded (EncodeChunk) with `header` and `episodes`.
v1::TrajectoryChunk SyntheticChunk(const ChunkSpec& spec, int steps, const ChunkHeader& header,
                                   absl::Span<const EpisodeRecord> episodes = {});

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_SUPPORT_SYNTHETIC_CHUNK_H_
