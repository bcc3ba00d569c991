// RolloutBatch: the unit of training data — T steps × E env columns, time-major,
// all acted by one behaviour policy version per column (a column may come from
// a different actor/version than its neighbours in async mode).
//
// Observations are RAW (unnormalized); the trainer normalizes them with the
// statistics of its current version. Rewards are as the trainer should see
// them (already scaled when reward scaling is on). For every step that ended an
// episode by truncation, `final_obs` holds that episode's last observation so
// the trainer can bootstrap from it; `obs[t + 1]` is then the reset observation.
#ifndef PROXIMA_COMMON_WIRE_ROLLOUT_BATCH_H_
#define PROXIMA_COMMON_WIRE_ROLLOUT_BATCH_H_

#include <ATen/core/Tensor.h>

#include <vector>

#include "absl/status/status.h"

namespace proxima {

struct RolloutBatch {
  int num_steps = 0;  // T
  int num_envs = 0;   // E
  at::Tensor obs;             // [T, E, obs_dim] float32, raw
  at::Tensor actions;         // [T, E] (discrete index) or [T, E, act_dim] float32
  at::Tensor behaviour_logp;  // [T, E] float32
  at::Tensor rewards;         // [T, E] float32
  at::Tensor terminated;      // [T, E] uint8
  at::Tensor truncated;       // [T, E] uint8
  at::Tensor bootstrap_obs;   // [E, obs_dim] float32: observation after step T-1
  // Final observations of episodes truncated inside the batch.
  struct FinalObsIndex {
    int t;
    int e;
  };
  std::vector<FinalObsIndex> final_index;  // one per row of final_obs
  at::Tensor final_obs;                    // [K, obs_dim] float32 (K may be 0)

  // Allocates zeroed CPU storage for T × E steps.
  static RolloutBatch Allocate(int num_steps, int num_envs, int obs_dim, int action_dim,
                               bool discrete);

  // Shape and consistency checks (every tensor present, right sizes, every
  // truncated step has a final observation).
  absl::Status Validate(int obs_dim, int action_dim, bool discrete) const;
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_WIRE_ROLLOUT_BATCH_H_
