// ModelSpec: the shape of the actor-critic network, shared by the actor (which
// builds its inference copy from the run config) and the learner.
#ifndef PROXIMA_COMMON_WIRE_MODEL_SPEC_H_
#define PROXIMA_COMMON_WIRE_MODEL_SPEC_H_

#include <string>
#include <vector>

namespace proxima {

struct ModelSpec {
  // Hidden layer widths of the policy and value MLPs (each MLP gets all of
  // them when the trunk is separate; the shared trunk has them once).
  std::vector<int> hidden_sizes = {64, 64};
  std::string activation = "tanh";  // "tanh" or "relu"
  bool shared_trunk = false;
  // Initial value of the state-independent log-std (continuous actions only).
  double init_log_std = 0.0;
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_WIRE_MODEL_SPEC_H_
