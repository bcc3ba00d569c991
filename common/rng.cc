#include "common/rng.h"

#include <cmath>
#include <cstring>
#include <sstream>

namespace proxima {

uint64_t MixSeed(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void Rng::Seed(uint64_t seed) {
  engine_.seed(MixSeed(seed));
  has_spare_ = false;
}

uint64_t Rng::UniformInt(uint64_t n) {
  // Reject the top partial block so every residue is equally likely.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
  uint64_t x;
  do {
    x = engine_();
  } while (x >= limit);
  return x % n;
}

double Rng::Normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u, v, s;
  do {
    u = Uniform(-1.0, 1.0);
    v = Uniform(-1.0, 1.0);
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double m = std::sqrt(-2.0 * std::log(s) / s);
  spare_ = v * m;
  has_spare_ = true;
  return u * m;
}

std::string Rng::State() const {
  // The engine's text form is fixed by the standard; the cached normal is
  // kept as its bit pattern so it comes back exactly.
  uint64_t spare_bits = 0;
  std::memcpy(&spare_bits, &spare_, sizeof(spare_bits));
  std::ostringstream out;
  out << engine_ << ' ' << (has_spare_ ? 1 : 0) << ' ' << spare_bits;
  return out.str();
}

absl::Status Rng::SetState(const std::string& state) {
  std::istringstream in(state);
  std::mt19937_64 engine;
  int has_spare = 0;
  uint64_t spare_bits = 0;
  in >> engine >> has_spare >> spare_bits;
  if (in.fail() || (has_spare != 0 && has_spare != 1) || !(in >> std::ws).eof()) {
    return absl::InvalidArgumentError("not an Rng state");
  }
  engine_ = engine;
  has_spare_ = has_spare == 1;
  std::memcpy(&spare_, &spare_bits, sizeof(spare_));
  return absl::OkStatus();
}

}  // namespace proxima
