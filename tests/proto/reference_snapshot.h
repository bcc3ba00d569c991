// The small WeightSnapshot the proto tests share: the checksum known answers
// (weights_checksum_test.cc, recomputed by weights_checksum_reference.py's
// reference_snapshot()) and the wire-format round trip start from it.
//
// version 42; "actor.0.weight" [2,3] = -1, -0.5, ..., 1.5;
// "actor.0.bias" [2] = 0.25, -0.25; normalizer on, mean (1, -2, 0.5),
// var (4, 0.25, 1), count 1000.0001, clip 10, epsilon 1e-8. No checksum,
// publication time or env steps.
#ifndef PROXIMA_TESTS_PROTO_REFERENCE_SNAPSHOT_H_
#define PROXIMA_TESTS_PROTO_REFERENCE_SNAPSHOT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "proxima/v1/tensor.pb.h"
#include "proxima/v1/weights.pb.h"

namespace proxima::testing {

inline v1::NamedTensor Float32Tensor(const std::string& name, std::vector<int64_t> shape,
                                     const std::vector<float>& values) {
  v1::NamedTensor t;
  t.set_name(name);
  t.mutable_tensor()->set_dtype(v1::DTYPE_FLOAT32);
  for (int64_t d : shape) t.mutable_tensor()->add_shape(d);
  t.mutable_tensor()->set_data(values.data(), values.size() * sizeof(float));
  return t;
}

inline v1::WeightSnapshot ReferenceSnapshot() {
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

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_PROTO_REFERENCE_SNAPSHOT_H_
