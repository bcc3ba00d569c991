// V-trace targets (Espeholt et al. 2018, IMPALA) with episode cuts, over one
// time-major column; used for data acted by a lagging behaviour policy.
//
// Convention (the same as $PROXIMA_GOLDEN_DIR/ppo/vtrace.json):
//   ratio_t = exp(target_logp_t − behaviour_logp_t)
//   ρ_t = min(ρ̄, ratio_t),   c_t = λ · min(c̄, ratio_t)
//   δ_t = ρ_t (r_t + γ · next_values[t] · (1 − terminated_t) − values[t])
//   vs_t = values[t] + δ_t + γ c_t (1 − terminated_t)(1 − truncated_t)(vs_{t+1} − values[t+1])
//          (the correction term is 0 after the last step)
//   pg_advantage_t = ρ_t (r_t + γ · nxt_t − values[t]), where nxt_t = vs_{t+1}
//          inside an episode and next_values[t] · (1 − terminated_t) at an
//          episode boundary or at the end of the segment.
// Element t lives at index t * stride (see gae.h).
#ifndef PROXIMA_LEARNER_VTRACE_H_
#define PROXIMA_LEARNER_VTRACE_H_

#include <cstdint>

namespace proxima {

struct VtraceParams {
  double gamma = 0.99;
  double lambda = 1.0;
  double rho_bar = 1.0;
  double c_bar = 1.0;
};

template <typename Real>
void ComputeVtrace(int num_steps, int stride, const Real* rewards, const Real* values,
                   const Real* next_values, const uint8_t* terminated,
                   const uint8_t* truncated, const Real* target_logp,
                   const Real* behaviour_logp, const VtraceParams& params, Real* vs,
                   Real* pg_advantages);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_VTRACE_H_
