#include "learner/vtrace.h"

#include <algorithm>
#include <cmath>

namespace proxima {

template <typename Real>
void ComputeVtrace(int num_steps, int stride, const Real* rewards, const Real* values,
                   const Real* next_values, const uint8_t* terminated,
                   const uint8_t* truncated, const Real* target_logp,
                   const Real* behaviour_logp, const VtraceParams& p, Real* vs,
                   Real* pg_advantages) {
  // vs_{t+1} − values[t+1] of the step after t (0 after the last step).
  double next_correction = 0.0;
  double next_vs = 0.0;
  for (int t = num_steps - 1; t >= 0; --t) {
    const int i = t * stride;
    const double ratio = std::exp(static_cast<double>(target_logp[i]) -
                                  static_cast<double>(behaviour_logp[i]));
    const double rho = std::min(p.rho_bar, ratio);
    const double c = p.lambda * std::min(p.c_bar, ratio);
    const double v = static_cast<double>(values[i]);
    const double r = static_cast<double>(rewards[i]);
    const bool boundary = terminated[i] || truncated[i];
    const double bootstrap =
        terminated[i] ? 0.0 : static_cast<double>(next_values[i]);
    const double delta = rho * (r + p.gamma * bootstrap - v);
    const double carry = (boundary || t == num_steps - 1) ? 0.0 : next_correction;
    const double vs_t = v + delta + p.gamma * c * carry;
    const double nxt = (boundary || t == num_steps - 1) ? bootstrap : next_vs;
    vs[i] = static_cast<Real>(vs_t);
    pg_advantages[i] = static_cast<Real>(rho * (r + p.gamma * nxt - v));
    next_correction = vs_t - v;
    next_vs = vs_t;
  }
}

template void ComputeVtrace<float>(int, int, const float*, const float*, const float*,
                                   const uint8_t*, const uint8_t*, const float*, const float*,
                                   const VtraceParams&, float*, float*);
template void ComputeVtrace<double>(int, int, const double*, const double*, const double*,
                                    const uint8_t*, const uint8_t*, const double*,
                                    const double*, const VtraceParams&, double*, double*);

}  // namespace proxima
