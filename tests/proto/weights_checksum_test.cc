// The WeightSnapshot checksum (CHECKSUM_ALGORITHM_FNV1A64_CANONICAL) as
// weights.proto defines it — the library implementation in
// common/policy/weight_codec.h — pinned by known answers computed independently by
// tests/proto/weights_checksum_reference.py (struct.pack over the canonical
// byte string, standard library only):
//   /usr/bin/python3 tests/proto/weights_checksum_reference.py
// prints them, and ctest's weights_checksum_reference checks that every hex
// literal below equals what the script computes. The publisher and the
// actor's verifier must reproduce these values.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/policy/weight_codec.h"
#include "gtest/gtest.h"
#include "proxima/v1/tensor.pb.h"
#include "proxima/v1/weights.pb.h"

namespace proxima {
namespace {

v1::NamedTensor Float32Tensor(const std::string& name,
                              std::vector<int64_t> shape,
                              const std::vector<float>& values) {
  v1::NamedTensor t;
  t.set_name(name);
  t.mutable_tensor()->set_dtype(v1::DTYPE_FLOAT32);
  for (int64_t d : shape) t.mutable_tensor()->add_shape(d);
  t.mutable_tensor()->set_data(values.data(), values.size() * sizeof(float));
  return t;
}

// version 42; "actor.0.weight" [2,3] = -1, -0.5, ..., 1.5;
// "actor.0.bias" [2] = 0.25, -0.25; normalizer on, mean (1, -2, 0.5),
// var (4, 0.25, 1), count 1000.0001, clip 10, epsilon 1e-8.
v1::WeightSnapshot ReferenceSnapshot() {
  v1::WeightSnapshot s;
  s.set_version(42);
  std::vector<float> w;
  for (int i = 0; i < 6; ++i) w.push_back(-1.f + 0.5f * static_cast<float>(i));
  *s.add_tensors() = Float32Tensor("actor.0.weight", {2, 3}, w);
  *s.add_tensors() = Float32Tensor("actor.0.bias", {2}, {0.25f, -0.25f});
  v1::ObservationNormalizer* n = s.mutable_obs_normalizer();
  n->set_enabled(true);
  for (double m : {1.0, -2.0, 0.5}) n->add_mean(m);
  for (double v : {4.0, 0.25, 1.0}) n->add_var(v);
  n->set_count(1000.0001);
  n->set_clip(10.0);
  n->set_epsilon(1e-8);
  return s;
}

TEST(WeightsChecksumTest, Fnv1a64KnownAnswers) {
  Fnv1a64 empty;
  EXPECT_EQ(empty.value(), 0xcbf29ce484222325ULL);
  Fnv1a64 a;
  a.Bytes("a", 1);
  EXPECT_EQ(a.value(), 0xaf63dc4c8601ec8cULL);
  Fnv1a64 foobar;
  foobar.Bytes("foobar", 6);
  EXPECT_EQ(foobar.value(), 0x85944171f73967e8ULL);
}

TEST(WeightsChecksumTest, ReferenceSnapshotKnownAnswer) {
  EXPECT_EQ(CanonicalChecksum(ReferenceSnapshot()), 0x0ab56e57eea56157ULL);
}

TEST(WeightsChecksumTest, UnsetNormalizerHashesAsDefault) {
  v1::WeightSnapshot s;  // version 0, no tensors, no normalizer
  EXPECT_EQ(CanonicalChecksum(s), 0xf739742d5bc540afULL);
  s.mutable_obs_normalizer();  // set but default: same bytes
  EXPECT_EQ(CanonicalChecksum(s), 0xf739742d5bc540afULL);
}

TEST(WeightsChecksumTest, SurvivesTheWireAndIgnoresMetadata) {
  v1::WeightSnapshot s = ReferenceSnapshot();
  s.set_checksum(CanonicalChecksum(s));
  s.set_checksum_algorithm(v1::CHECKSUM_ALGORITHM_FNV1A64_CANONICAL);
  s.mutable_published_at()->set_seconds(1700000000);
  s.set_env_steps(99);
  v1::WeightSnapshot received;
  ASSERT_TRUE(received.ParseFromString(s.SerializeAsString()));
  EXPECT_EQ(CanonicalChecksum(received), received.checksum());
}

TEST(WeightsChecksumTest, DetectsChangesThatMatter) {
  const uint64_t base = CanonicalChecksum(ReferenceSnapshot());

  v1::WeightSnapshot flipped = ReferenceSnapshot();
  (*flipped.mutable_tensors(0)->mutable_tensor()->mutable_data())[5] ^= 0x01;
  EXPECT_NE(CanonicalChecksum(flipped), base);

  v1::WeightSnapshot swapped = ReferenceSnapshot();
  swapped.mutable_tensors()->SwapElements(0, 1);
  EXPECT_NE(CanonicalChecksum(swapped), base);

  v1::WeightSnapshot reshaped = ReferenceSnapshot();
  reshaped.mutable_tensors(0)->mutable_tensor()->set_shape(0, 3);
  reshaped.mutable_tensors(0)->mutable_tensor()->set_shape(1, 2);
  EXPECT_NE(CanonicalChecksum(reshaped), base);

  v1::WeightSnapshot other_stats = ReferenceSnapshot();
  other_stats.mutable_obs_normalizer()->set_mean(0, 1.0000001);
  EXPECT_NE(CanonicalChecksum(other_stats), base);

  v1::WeightSnapshot other_version = ReferenceSnapshot();
  other_version.set_version(43);
  EXPECT_NE(CanonicalChecksum(other_version), base);
}

}  // namespace
}  // namespace proxima
