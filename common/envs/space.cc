#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/envs/env.h"

namespace proxima {

Space Space::Discrete(int n) {
  Space s;
  s.kind = Kind::kDiscrete;
  s.n = n;
  return s;
}

Space Space::Box(std::vector<float> low, std::vector<float> high) {
  Space s;
  s.kind = Kind::kBox;
  s.low = std::move(low);
  s.high = std::move(high);
  return s;
}

bool Space::Contains(absl::Span<const float> x) const {
  if (is_discrete()) {
    if (x.size() != 1) return false;
    const float a = x[0];
    return std::isfinite(a) && a == std::floor(a) && a >= 0.0f && a < static_cast<float>(n);
  }
  if (x.size() != low.size() || low.size() != high.size()) return false;
  for (size_t i = 0; i < x.size(); ++i) {
    // NaN fails every comparison, so it is rejected here too.
    if (!std::isfinite(x[i]) || !(x[i] >= low[i]) || !(x[i] <= high[i])) return false;
  }
  return true;
}

std::string Space::DebugString() const {
  if (is_discrete()) return absl::StrCat("Discrete(", n, ")");
  return absl::StrCat("Box([", absl::StrJoin(low, ", "), "], [", absl::StrJoin(high, ", "), "], (",
                      low.size(), ",), float32)");
}

}  // namespace proxima
