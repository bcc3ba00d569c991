// Generalized Advantage Estimation over one time-major column.
//
// Convention (the same as $PROXIMA_GOLDEN_DIR/ppo/gae.json):
//   next_values[t] = V of the state reached by step t — at an episode boundary
//                    the value of the episode's final observation;
//   delta_t  = r_t + γ · next_values[t] · (1 − terminated_t) − values[t]
//   A_t      = delta_t + γλ · (1 − terminated_t)(1 − truncated_t) · A_{t+1},
//              with A after the last step = 0
//   return_t = A_t + values[t]
// So a truncated episode is bootstrapped from its final observation's value and
// a terminated one never is. Element t of an array lives at index t * stride,
// which lets the same routine walk a column of a [T, E] buffer.
#ifndef PROXIMA_LEARNER_GAE_H_
#define PROXIMA_LEARNER_GAE_H_

#include <cstdint>

namespace proxima {

template <typename Real>
void ComputeGae(int num_steps, int stride, const Real* rewards, const Real* values,
                const Real* next_values, const uint8_t* terminated, const uint8_t* truncated,
                double gamma, double lambda, Real* advantages, Real* returns);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_GAE_H_
