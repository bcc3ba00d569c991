// libFuzzer target: trajectory chunk bytes as the learner receives them.
//
// Mirrors LearnerServer's HandleChunk: the bytes are parsed as a
// proxima.v1.TrajectoryChunk, checked by ValidateChunkPayload against a fixed
// spec, and only a chunk that passed is decoded (DecodeChunk trusts the
// validator) and its episodes read. Every input is tried against a discrete
// (CartPole-like) and a continuous spec. A decoded batch that fails
// RolloutBatch::Validate means the validator let through something the decoder
// cannot handle: that aborts, so the fuzzer reports it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "common/wire/chunk_codec.h"
#include "common/wire/chunk_validator.h"
#include "google/protobuf/stubs/logging.h"
#include "proxima/v1/trajectory.pb.h"
#include "tests/fuzz/fuzz_specs.h"

namespace proxima {
namespace {

void CheckAgainst(const v1::TrajectoryChunk& chunk, const ChunkSpec& spec) {
  if (!ValidateChunkPayload(chunk, spec).ok()) return;
  const bool discrete = spec.action_space.is_discrete();
  RolloutBatch batch = DecodeChunk(chunk, discrete);
  const int action_dim = discrete ? 1 : spec.action_space.flat_dim();
  absl::Status s = batch.Validate(spec.obs_dim, action_dim, discrete);
  if (!s.ok()) {
    std::fprintf(stderr, "validated chunk decodes to an invalid batch: %s\n",
                 s.ToString().c_str());
    std::abort();
  }
  if (ChunkEpisodes(chunk).size() > static_cast<size_t>(chunk.episodes_size())) std::abort();
}

}  // namespace
}  // namespace proxima

// Protobuf logs every string field with invalid UTF-8; at fuzzing rates that
// is most of the run's time and output.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  proxima::v1::TrajectoryChunk chunk;
  if (!chunk.ParseFromArray(data, static_cast<int>(size))) return 0;
  proxima::CheckAgainst(chunk, proxima::fuzz::DiscreteChunkSpec());
  proxima::CheckAgainst(chunk, proxima::fuzz::ContinuousChunkSpec());
  return 0;
}
