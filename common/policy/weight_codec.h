// Weight snapshots: the model's parameters plus the observation-normalizer
// statistics that together form one policy version (weights.proto).
//
// The publisher serializes a version once with EncodeWeights; an actor calls
// ApplyWeights, which first verifies the checksum (64-bit FNV-1a over the
// canonical byte string defined in weights.proto: version, tensors with
// names/dtypes/shapes/data, normalizer), then every tensor's name, dtype and
// shape against its own model, and only then copies — a snapshot that fails
// any check leaves the model and statistics untouched.
#ifndef PROXIMA_COMMON_POLICY_WEIGHT_CODEC_H_
#define PROXIMA_COMMON_POLICY_WEIGHT_CODEC_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "common/policy/actor_critic.h"
#include "common/running_stats.h"
#include "proxima/v1/weights.pb.h"

namespace proxima {

// 64-bit FNV-1a fed with little-endian fixed-width fields.
class Fnv1a64 {
 public:
  void Bytes(const void* data, size_t n);
  void U8(uint8_t v) { Bytes(&v, 1); }
  void U32(uint32_t v) { LittleEndian(v, 4); }
  void U64(uint64_t v) { LittleEndian(v, 8); }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void F64(double v);
  uint64_t value() const { return h_; }

 private:
  void LittleEndian(uint64_t v, int n);
  uint64_t h_ = 0xcbf29ce484222325ULL;
};

// The CHECKSUM_ALGORITHM_FNV1A64_CANONICAL checksum of `s` (its checksum,
// timestamp and env_steps fields are not covered).
uint64_t CanonicalChecksum(const v1::WeightSnapshot& s);

// The normalizer part of a policy version.
struct NormalizerState {
  bool enabled = false;
  double clip = 10.0;
  RunningMeanStd stats;
};

// Fills `out` with version, every named parameter of `model` (float32, in
// registration order), the normalizer and the checksum.
void EncodeWeights(ActorCritic& model, const NormalizerState& normalizer, uint64_t version,
                   v1::WeightSnapshot* out);

// Verifies and loads `s` into `model` and `normalizer` (see above).
absl::Status ApplyWeights(const v1::WeightSnapshot& s, ActorCritic& model,
                          NormalizerState* normalizer);

// The same for a model without an observation normalizer (a sequence
// policy, common/lm/seq_policy.h): every named parameter of `module`, the
// normalizer disabled, the checksum; and the checked load, which also
// refuses a snapshot whose normalizer is enabled.
void EncodeModuleWeights(torch::nn::Module& module, uint64_t version, v1::WeightSnapshot* out);
absl::Status ApplyModuleWeights(const v1::WeightSnapshot& s, torch::nn::Module& module);

}  // namespace proxima

#endif  // PROXIMA_COMMON_POLICY_WEIGHT_CODEC_H_
