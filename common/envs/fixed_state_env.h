// FixedStateEnv: the shared frame of a local Env whose whole internal state is
// a fixed number of doubles (the classic-control envs; meant for the MuJoCo
// envs too, whose state is qpos followed by qvel).
//
// An env derives from FixedStateEnv<Env, kStateDim> (CRTP) and writes only
// what is its own:
//
//   class CartPole final : public FixedStateEnv<CartPole, 4> {
//    private:
//     friend FixedStateEnv;           // the hooks below may stay private
//     static EnvSpec MakeSpec();      // Spec() and spec() answer it
//     void ResetState();              // draw state_ from rng_ (Gymnasium's reset)
//     StepResult StepState(const float* action);  // dynamics, reward, terminated
//     void WriteObs(float* obs) const;  // optional: the observation of state_
//     void OnSetState();                // optional: SetState stored a new state
//   };
//
// This class implements the Env interface from them, the same way for every
// env: Spec() (static, for the registry) and spec() return MakeSpec()'s spec
// with state_dim set to kStateDim, built once; Reset() calls ResetState(),
// zeroes elapsed_steps() and writes the observation; Step() calls
// StepState(), then sets `truncated` from the TimeLimit counter (StepState
// leaves it false) and writes the observation; SetState() rejects a state of
// the wrong size with InvalidArgument "<id> state needs <kStateDim> values,
// got <n>", otherwise stores it and calls OnSetState(); GetState() copies
// state_ out. State values keep the order Gymnasium uses (each env names its
// indices). Without its own WriteObs() an env observes its state as float32
// (obs_dim == kStateDim); without OnSetState() a new state needs nothing
// else. MakeSpec() returns RegisteredSpec(...): the env as Gymnasium
// registers it.
//
// Like every local Env: not thread-safe, nothing blocks, Reset()/Step() do
// not allocate.
#ifndef PROXIMA_COMMON_ENVS_FIXED_STATE_ENV_H_
#define PROXIMA_COMMON_ENVS_FIXED_STATE_ENV_H_

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "common/envs/env.h"

namespace proxima {

template <typename Derived, int kDim>
class FixedStateEnv : public Env {
 public:
  static constexpr int kStateDim = kDim;

  static const EnvSpec& Spec() {
    static const EnvSpec* const spec = [] {
      EnvSpec* s = new EnvSpec(Derived::MakeSpec());
      s->state_dim = kStateDim;
      return s;
    }();
    return *spec;
  }
  const EnvSpec& spec() const final { return Spec(); }

  void Reset(float* obs) final {
    derived().ResetState();
    elapsed_steps_ = 0;
    derived().WriteObs(obs);
  }

  StepResult Step(const float* action, float* obs) final {
    StepResult r = derived().StepState(action);
    r.truncated = TickTimeLimit();
    derived().WriteObs(obs);
    return r;
  }

  absl::Status SetState(absl::Span<const double> state) final {
    if (state.size() != static_cast<size_t>(kStateDim)) {
      return absl::InvalidArgumentError(absl::StrCat(Spec().id, " state needs ",
                                                     kStateDim, " values, got ", state.size()));
    }
    std::copy(state.begin(), state.end(), state_.begin());
    derived().OnSetState();
    return absl::OkStatus();
  }

  void GetState(double* state) const final { std::copy(state_.begin(), state_.end(), state); }

 protected:
  // A spec from Gymnasium's registration of the env: its id, spaces,
  // TimeLimit and reward threshold (nullopt where it registers none).
  static EnvSpec RegisteredSpec(std::string id, Space observation_space, Space action_space,
                                int max_episode_steps, std::optional<double> reward_threshold) {
    EnvSpec spec;
    spec.id = std::move(id);
    spec.observation_space = std::move(observation_space);
    spec.action_space = std::move(action_space);
    spec.max_episode_steps = max_episode_steps;
    spec.has_reward_threshold = reward_threshold.has_value();
    spec.reward_threshold = reward_threshold.value_or(0.0);
    return spec;
  }

  // The defaults of the optional hooks (see the file comment).
  void WriteObs(float* obs) const {
    for (int i = 0; i < kStateDim; ++i) obs[i] = static_cast<float>(state_[i]);
  }
  void OnSetState() {}

  std::array<double, kStateDim> state_{};

 private:
  Derived& derived() { return static_cast<Derived&>(*this); }
  const Derived& derived() const { return static_cast<const Derived&>(*this); }
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_FIXED_STATE_ENV_H_
