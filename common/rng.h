// Rng: Proxima's own seeded random number generator.
//
// Environments and samplers must be reproducible for a fixed seed on every
// platform and standard library. std::mt19937_64 has a standard-specified output
// sequence, but the std:: distributions do not, so the conversions to uniform
// and normal variates are defined here. Not thread-safe: one Rng per thread/env.
#ifndef PROXIMA_COMMON_RNG_H_
#define PROXIMA_COMMON_RNG_H_

#include <cstdint>
#include <random>
#include <string>

#include "absl/status/status.h"

namespace proxima {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { Seed(seed); }

  // Re-seeds the generator. Nearby seeds (s, s+1, ...) give unrelated streams
  // because the seed is first scrambled with SplitMix64.
  void Seed(uint64_t seed);

  uint64_t NextU64() { return engine_(); }

  // Uniform double in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  // Uniform double in [low, high).
  double Uniform(double low, double high) { return low + (high - low) * Uniform(); }

  // Uniform integer in [0, n); n > 0. Unbiased (rejection sampling).
  uint64_t UniformInt(uint64_t n);

  // Standard normal variate (Marsaglia polar method, one value cached).
  double Normal();

  // The whole generator state (engine and cached normal) as text, and back:
  // a restored Rng continues the stream exactly. InvalidArgument for text
  // that State() did not write.
  std::string State() const;
  absl::Status SetState(const std::string& state);

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// SplitMix64 finalizer: a bijective 64-bit mixer, used to derive seeds.
uint64_t MixSeed(uint64_t x);

}  // namespace proxima

#endif  // PROXIMA_COMMON_RNG_H_
