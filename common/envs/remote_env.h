// RemoteEnv: an Env stepped by another process through the proxima.v1.Env
// service (proto/proxima/v1/env_service.proto), e.g. a Gymnasium env served
// by deploy/python/proxima_env_server.py.
//
// Env id (what --env takes; MakeEnv/GetEnvSpec in registry.h accept it):
//
//   remote://HOST:PORT[/ENV_ID][?KEY=VALUE[&KEY=VALUE...]]
//
//   HOST:PORT  the server: "127.0.0.1:50061", "[::1]:50061", "envs:50061".
//   ENV_ID     the env the server creates (EnvHandshakeRequest.env_id); it may
//              contain '/' ("ALE/Pong-v5"). Absent: the server's default env.
//   KEY=VALUE  construction options (EnvHandshakeRequest.env_options). %XX
//              escapes are decoded in ENV_ID, keys and values (so '&', '=' and
//              '%' can be sent as %26, %3D and %25).
//
// Semantics, on top of env.h:
//  * One RemoteEnv is one single-env Session stream (one env instance on the
//    server; VectorEnv steps a remote id's columns through batched sessions
//    instead, remote_env_batch.h, where the server serves them),
//    opened by Connect() and closed by the destructor (half-close, then wait
//    briefly for the server's OK). Requests are lockstep: Reset() and Step()
//    send one request and block until its reply or request_timeout.
//  * The spec comes from the handshake: observations must be a rank-1
//    float32 Box, actions Discrete(n) or a rank-1 float32 Box. spec().id is
//    the remote id itself (so a run's config and run directory name the
//    remote env); state_dim is 0.
//  * Seed(s) makes the next Reset() send seed s (Gymnasium's reset(seed=s));
//    other resets send none and continue the server env's RNG. A new
//    RemoteEnv has seed 0 pending, as a new local env is seeded with 0.
//  * Discrete actions go out as the DTYPE_INT64 index DiscreteActionIndex()
//    gives (the clamp local envs apply); Box actions as the raw float32
//    values (the server's env clips).
//  * TimeLimit: `truncated` when the server says so or when elapsed_steps()
//    reaches a non-zero max_episode_steps (the server applies the same limit;
//    the client enforces it too, so the Env contract holds either way).
//  * Errors: the first failure is kept in status(); Reset()/Step() then write
//    zeros, report terminated and send nothing. Codes: the server's own
//    status (INVALID_ARGUMENT, NOT_FOUND, INTERNAL: the env raised, ...),
//    UNAVAILABLE (server unreachable, connection lost), DEADLINE_EXCEEDED (no
//    reply within the timeout), INTERNAL (the server broke the protocol: a
//    reply of the wrong kind, an observation of the wrong dtype or shape, a
//    non-finite reward). Every message names the server.
//  * SetState/GetState (test hooks of local envs) are Unimplemented.
//  * Channels are shared per target within a process and send HTTP/2
//    keepalive pings every 30 s while sessions are open (time out after
//    10 s); a server must permit pings at that rate (proxima_env_server.py
//    does).
// Like every Env, a RemoteEnv is used by one thread at a time.
#ifndef PROXIMA_COMMON_ENVS_REMOTE_ENV_H_
#define PROXIMA_COMMON_ENVS_REMOTE_ENV_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/envs/env.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace proxima {
namespace v1 {
class TensorProto;
}  // namespace v1
class RemoteSession;

inline constexpr absl::string_view kRemoteEnvScheme = "remote://";

// A remote env id taken apart.
struct RemoteEnvAddress {
  std::string target;  // HOST:PORT, a gRPC target
  std::string env_id;  // empty: the server's default
  std::map<std::string, std::string> options;
};

// InvalidArgument (naming the id and the expected form) unless `id` is
// remote://HOST:PORT[/ENV_ID][?KEY=VALUE&...] with a port in [1, 65535].
absl::StatusOr<RemoteEnvAddress> ParseRemoteEnvId(absl::string_view id);

struct RemoteEnvOptions {
  // How long Connect() waits for the server to accept a connection (a server
  // still starting up); past it, the handshake fails fast with the reason.
  absl::Duration connect_timeout = absl::Seconds(10);
  // The handshake reply, which includes building the env on the server.
  absl::Duration handshake_timeout = absl::Seconds(60);
  // The reply to one reset or step.
  absl::Duration request_timeout = absl::Seconds(60);
  // How long the destructor waits for the server to end the session.
  absl::Duration close_timeout = absl::Seconds(5);
  // EnvHandshakeRequest.client_name; empty: "proxima pid <pid>".
  std::string client_name;
};

class RemoteEnv final : public Env {
 public:
  // Opens a session and does the handshake. Errors as in the file comment,
  // prefixed with the id.
  static absl::StatusOr<std::unique_ptr<RemoteEnv>> Connect(absl::string_view id,
                                                            const RemoteEnvOptions& options = {});

  ~RemoteEnv() override;
  RemoteEnv(const RemoteEnv&) = delete;
  RemoteEnv& operator=(const RemoteEnv&) = delete;

  const EnvSpec& spec() const override { return spec_; }
  void Seed(uint64_t seed) override { pending_seed_ = seed; }
  void Reset(float* obs) override;
  StepResult Step(const float* action, float* obs) override;
  absl::Status SetState(absl::Span<const double> state) override;
  void GetState(double* state) const override;
  absl::Status status() const override { return status_; }

  // EnvHandshakeResponse.server_name and the id the server gave its env
  // (EnvSpec.id on the wire), for logs.
  const std::string& server_name() const { return server_name_; }
  const std::string& server_env_id() const { return server_env_id_; }

 private:
  RemoteEnv(std::string id, std::string target, std::shared_ptr<grpc::Channel> channel,
            const RemoteEnvOptions& options);

  // Sends the pending request and checks the reply's kind; on failure records
  // status_ (with `what` in the message) and returns false.
  bool RoundTrip(absl::Duration timeout, const char* what);
  // Copies the reply's observation to `obs`; records a protocol error and
  // returns false if it does not fit the spec.
  bool ReadObservation(const v1::TensorProto& tensor, float* obs);
  void Fail(absl::Status status);
  void WriteFailedObs(float* obs) const;

  const std::string id_;
  const std::string target_;
  const RemoteEnvOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<RemoteSession> session_;
  EnvSpec spec_;
  std::string server_name_;
  std::string server_env_id_;
  std::optional<uint64_t> pending_seed_ = 0;
  absl::Status status_;
};

// The spec a remote env reports in its handshake (one short session).
absl::StatusOr<EnvSpec> GetRemoteEnvSpec(absl::string_view id,
                                         const RemoteEnvOptions& options = {});

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_REMOTE_ENV_H_
