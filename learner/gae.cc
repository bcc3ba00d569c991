#include "learner/gae.h"

namespace proxima {

template <typename Real>
void ComputeGae(int num_steps, int stride, const Real* rewards, const Real* values,
                const Real* next_values, const uint8_t* terminated, const uint8_t* truncated,
                double gamma, double lambda, Real* advantages, Real* returns) {
  double next_advantage = 0.0;
  for (int t = num_steps - 1; t >= 0; --t) {
    const int i = t * stride;
    const double not_terminated = terminated[i] ? 0.0 : 1.0;
    const double not_done = (terminated[i] || truncated[i]) ? 0.0 : 1.0;
    const double delta = static_cast<double>(rewards[i]) +
                         gamma * static_cast<double>(next_values[i]) * not_terminated -
                         static_cast<double>(values[i]);
    const double a = delta + gamma * lambda * not_done * next_advantage;
    advantages[i] = static_cast<Real>(a);
    returns[i] = static_cast<Real>(a + static_cast<double>(values[i]));
    next_advantage = a;
  }
}

template void ComputeGae<float>(int, int, const float*, const float*, const float*,
                                const uint8_t*, const uint8_t*, double, double, float*, float*);
template void ComputeGae<double>(int, int, const double*, const double*, const double*,
                                 const uint8_t*, const uint8_t*, double, double, double*,
                                 double*);

}  // namespace proxima
