// RemoteEnvBatch: N env columns of a remote env stepped in ONE round trip, a
// batched session of the proxima.v1.Env service (proto/proxima/v1/
// env_service.proto, "Batched sessions"), e.g. N copies of a Gymnasium env
// behind deploy/python/proxima_env_server.py. VectorEnv (vector_env.h) uses
// it for remote ids, so actors and `proxima train` step a remote env's
// columns together; RemoteEnv (remote_env.h) is the one-env-per-session form.
//
// Semantics (the same observations, rewards and flags as N RemoteEnvs, and as
// N local envs under VectorEnv):
//  * Connect() opens one session with hello.num_envs = N. A server without
//    batched sessions (an older proxima_env_server.py, or any server that
//    answers num_envs 0) gives UNIMPLEMENTED naming the server, after
//    closing that session; VectorEnv then falls back to one RemoteEnv per
//    column.
//  * Seed(s): the next Reset() sends seed s, so column i starts from seed
//    s + i (Gymnasium's vector reset(seed=s)); other resets send none. A new
//    batch has seed 0 pending, as N new local envs seeded 0..N-1.
//  * Reset(obs) resets every column: N * obs_dim floats, column-major rows.
//  * Step(actions, obs, final_obs, results) steps every column with SAME-STEP
//    auto-reset, exactly VectorEnv's contract: final_obs row i is the
//    observation the step produced (the ended episode's last one, which the
//    server sends as final_observations) and obs row i the observation to act
//    on next (the next episode's first if column i's episode ended, else the
//    same as final_obs). results[i] holds the raw reward and the flags.
//    Discrete actions go out as DTYPE_INT64 [N] (DiscreteActionIndex, the
//    clamp local envs apply), Box actions as float32 [N, dim], raw (the
//    server's env clips).
//  * TimeLimit: the server applies max_episode_steps; the client counts each
//    column's steps and treats a column that reaches the limit without its
//    episode ending as a protocol error.
//  * Errors as RemoteEnv's (the server's own code, UNAVAILABLE,
//    DEADLINE_EXCEEDED, INTERNAL for a broken reply: wrong kind, wrong dtype
//    or shape, a non-finite reward, a bool byte other than 0/1), kept in
//    status() and named "<id>: env server at <target>: ..."; afterwards
//    Reset()/Step() write zeros, mark every column terminated and send
//    nothing.
// Used by one thread at a time.
#ifndef PROXIMA_COMMON_ENVS_REMOTE_ENV_BATCH_H_
#define PROXIMA_COMMON_ENVS_REMOTE_ENV_BATCH_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/envs/env.h"
#include "common/envs/remote_env.h"

namespace proxima {

class RemoteSession;

class RemoteEnvBatch {
 public:
  // InvalidArgument for num_envs outside [1, 65536]; the handshake's errors
  // as RemoteEnv::Connect; UNIMPLEMENTED for a server without batches.
  static absl::StatusOr<std::unique_ptr<RemoteEnvBatch>> Connect(
      absl::string_view id, int num_envs, const RemoteEnvOptions& options = {});

  ~RemoteEnvBatch();
  RemoteEnvBatch(const RemoteEnvBatch&) = delete;
  RemoteEnvBatch& operator=(const RemoteEnvBatch&) = delete;

  const EnvSpec& spec() const { return spec_; }
  int num_envs() const { return num_envs_; }
  void Seed(uint64_t seed) { pending_seed_ = seed; }
  void Reset(float* obs);
  void Step(const float* actions, float* obs, float* final_obs, StepResult* results);
  absl::Status status() const { return status_; }
  // Steps of column i's current episode.
  int elapsed_steps(int i) const { return elapsed_[i]; }
  const std::string& server_name() const { return server_name_; }

 private:
  RemoteEnvBatch(std::string id, std::string target, int num_envs,
                 const RemoteEnvOptions& options);
  // Records the first error (named after the server) and ends the session.
  void Fail(absl::Status status);
  // Reads the batch_step reply into the outputs; an error if it is broken.
  absl::Status ReadStep(float* obs, float* final_obs, StepResult* results);
  void WriteFailed(float* obs, float* final_obs, StepResult* results) const;

  const std::string id_;
  const std::string target_;
  const int num_envs_;
  const RemoteEnvOptions options_;
  std::unique_ptr<RemoteSession> session_;
  EnvSpec spec_;
  std::string server_name_;
  std::optional<uint64_t> pending_seed_ = 0;
  std::vector<int> elapsed_;
  // Scratch of one step: Discrete actions, the reply's rewards and flags,
  // its final_observations rows.
  std::vector<int64_t> discrete_;
  std::vector<double> rewards_;
  std::vector<uint8_t> terminated_, truncated_;
  std::vector<float> finals_;
  absl::Status status_;
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_REMOTE_ENV_BATCH_H_
