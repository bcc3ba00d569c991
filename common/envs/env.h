// Env: one single-agent environment with Gymnasium semantics.
//
// Observations are float32 (as Gymnasium returns them); the internal state is
// double, exactly as Gymnasium keeps it. Actions are passed as floats: a
// discrete action is the integer index stored in action[0]; a continuous action
// is the raw (unclipped) policy output, which the env clips exactly as Gymnasium
// does. The TimeLimit wrapper is built in: Step() sets `truncated` once
// elapsed_steps() reaches spec().max_episode_steps.
//
// Envs are not thread-safe; one thread owns an Env. Step() and Reset() never
// allocate (except RemoteEnv's, which go through gRPC).
//
// Local envs cannot fail. An env served by another process (RemoteEnv,
// common/envs/remote_env.h) can: once its server fails or breaks the protocol,
// status() returns the error, and Reset()/Step() return at once writing zero
// observations with terminated set, so that the owner (VectorEnv's users)
// finishes the step or rollout at hand and then stops on status().
#ifndef PROXIMA_COMMON_ENVS_ENV_H_
#define PROXIMA_COMMON_ENVS_ENV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "common/rng.h"

namespace proxima {

// A Gymnasium space: Discrete(n) or a float32 Box(low, high) of rank 1.
struct Space {
  enum class Kind { kDiscrete, kBox };
  Kind kind = Kind::kBox;
  int n = 0;                // kDiscrete: number of actions.
  std::vector<float> low;   // kBox: per-dimension bounds (may be ±inf).
  std::vector<float> high;

  static Space Discrete(int n);
  static Space Box(std::vector<float> low, std::vector<float> high);

  bool is_discrete() const { return kind == Kind::kDiscrete; }
  // Number of floats one element of this space occupies (1 for Discrete).
  int flat_dim() const { return is_discrete() ? 1 : static_cast<int>(low.size()); }
  // True if `x` (flat_dim() floats) lies in the space (finite, in bounds, and
  // an integer in [0, n) for Discrete).
  bool Contains(absl::Span<const float> x) const;
  std::string DebugString() const;
};

struct EnvSpec {
  std::string id;                  // e.g. "CartPole-v1"
  Space observation_space;
  Space action_space;
  int max_episode_steps = 0;       // TimeLimit
  bool has_reward_threshold = false;
  double reward_threshold = 0.0;   // Gymnasium's registered threshold
  int state_dim = 0;               // size of the internal state (SetState)
  // Names of the numeric info entries Env::info() reports (Gymnasium's info
  // dict keys, e.g. "x_velocity", "reward_ctrl"); empty for classic control.
  std::vector<std::string> info_keys;

  int obs_dim() const { return observation_space.flat_dim(); }
  int action_dim() const { return action_space.flat_dim(); }
};

// The discrete action index carried in action[0]: rounded to the nearest
// integer and clamped to [0, n); NaN maps to 0. Gymnasium asserts on an invalid
// action; Step() cannot fail, so Proxima clamps instead.
inline int DiscreteActionIndex(float a, int n) {
  if (!(a >= 0.5f)) return 0;  // also catches NaN
  if (a >= static_cast<float>(n - 1)) return n - 1;
  return static_cast<int>(a + 0.5f);
}

struct StepResult {
  double reward = 0.0;
  bool terminated = false;
  bool truncated = false;
};

class Env {
 public:
  virtual ~Env() = default;

  virtual const EnvSpec& spec() const = 0;

  // Seeds the env's own Rng. Resets draw from it, so Seed(s) followed by the
  // same calls reproduces the same episodes. (RemoteEnv instead hands the
  // seed to its server with the next reset, as Gymnasium's reset(seed=s).)
  virtual void Seed(uint64_t seed) { rng_.Seed(seed); }

  // Starts an episode from the Gymnasium reset distribution; writes obs_dim()
  // floats to `obs` and zeroes elapsed_steps().
  virtual void Reset(float* obs) = 0;

  // Applies `action` (action_dim() floats) and writes the next observation.
  virtual StepResult Step(const float* action, float* obs) = 0;

  // Test hooks: the internal state (state_dim doubles, in Gymnasium's order)
  // and the TimeLimit step counter.
  virtual absl::Status SetState(absl::Span<const double> state) = 0;
  virtual void GetState(double* state) const = 0;
  int elapsed_steps() const { return elapsed_steps_; }
  void set_elapsed_steps(int t) { elapsed_steps_ = t; }
  // The Rng resets draw from (checkpoints save and restore it).
  Rng& rng() { return rng_; }
  const Rng& rng() const { return rng_; }

  // The numeric info entries of the last Reset/Step, one per
  // spec().info_keys (NaN where the env reports none at reset).
  virtual absl::Span<const double> info() const { return {}; }

  // OK, or the error that ended an env that can fail (see the file comment).
  virtual absl::Status status() const { return absl::OkStatus(); }

 protected:
  // Advances the TimeLimit counter; returns true if the episode is truncated.
  bool TickTimeLimit() { return ++elapsed_steps_ >= spec().max_episode_steps; }

  Rng rng_;
  int elapsed_steps_ = 0;
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_ENV_H_
