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
#include "tests/proto/reference_snapshot.h"

namespace proxima {
namespace {

using ::proxima::testing::ReferenceSnapshot;

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
