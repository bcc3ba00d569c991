// The WeightSnapshot checksum (CHECKSUM_ALGORITHM_FNV1A64_CANONICAL) as
// weights.proto defines it, implemented here straight from the definition
// and pinned by known answers that were computed independently (a short
// Python script using struct.pack over the same canonical byte string). The
// publisher and the actor's verifier must reproduce these values.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proxima/v1/tensor.pb.h"
#include "proxima/v1/weights.pb.h"

namespace proxima {
namespace {

// 64-bit FNV-1a fed with little-endian fixed-width fields.
class Fnv1a64 {
 public:
  void Bytes(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
      h_ ^= p[i];
      h_ *= 0x100000001b3ULL;
    }
  }
  void U8(uint8_t v) { Bytes(&v, 1); }
  void U32(uint32_t v) { LittleEndian(v, 4); }
  void U64(uint64_t v) { LittleEndian(v, 8); }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void F64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    U64(bits);
  }
  uint64_t value() const { return h_; }

 private:
  void LittleEndian(uint64_t v, int n) {
    unsigned char b[8];
    for (int i = 0; i < n; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
    Bytes(b, n);
  }
  uint64_t h_ = 0xcbf29ce484222325ULL;
};

uint64_t CanonicalChecksum(const v1::WeightSnapshot& s) {
  Fnv1a64 h;
  h.U64(s.version());
  h.U32(static_cast<uint32_t>(s.tensors_size()));
  for (const v1::NamedTensor& t : s.tensors()) {
    h.U32(static_cast<uint32_t>(t.name().size()));
    h.Bytes(t.name().data(), t.name().size());
    h.U32(static_cast<uint32_t>(t.tensor().dtype()));
    h.U32(static_cast<uint32_t>(t.tensor().shape_size()));
    for (int64_t d : t.tensor().shape()) h.I64(d);
    h.U64(t.tensor().data().size());
    h.Bytes(t.tensor().data().data(), t.tensor().data().size());
  }
  const v1::ObservationNormalizer& n = s.obs_normalizer();
  h.U8(n.enabled() ? 1 : 0);
  h.U32(static_cast<uint32_t>(n.mean_size()));
  for (double m : n.mean()) h.F64(m);
  h.U32(static_cast<uint32_t>(n.var_size()));
  for (double v : n.var()) h.F64(v);
  h.F64(n.count());
  h.F64(n.clip());
  h.F64(n.epsilon());
  return h.value();
}

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
