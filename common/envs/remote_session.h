// The client end of one proxima.v1.Env Session stream, shared by RemoteEnv
// (one env per session, remote_env.h) and RemoteEnvBatch (N env columns per
// session, remote_env_batch.h). Internal to common/envs.
//
//  * RemoteSession: the stream as a callback reactor. The owning thread fills
//    `request`, calls RoundTrip() (one write and one read, lockstep) and reads
//    `response`; Close() half-closes and waits for the server's status. Used
//    by one thread at a time.
//  * OpenRemoteSession(): parses the remote id, connects on the process-wide
//    channel of its target (one per target, keepalive pings every 30 s),
//    sends the hello (num_envs 0: a single-env session; N: a batched one) and
//    checks the reply: protocol version 1, an EnvSpec whose observation space
//    is a rank-1 float32 Box and whose action space is Discrete(n) or a
//    rank-1 float32 Box, a time limit in [0, 2^30]. Errors keep the server's
//    code and are named "<id>: env server at <target>: ...".
//  * CheckedRoundTrip(): a round trip whose reply must be of the request's
//    kind; UNAVAILABLE (server gone), DEADLINE_EXCEEDED (no reply in time),
//    the server's own status, or INTERNAL for a reply of another kind; the
//    message starts with `what`.
//  * ReadFloatRows(): copies a DTYPE_FLOAT32 tensor of shape [dim] (rows < 0)
//    or [rows, dim] into `out`; INTERNAL naming the expected and received
//    dtype, shape and size otherwise.
#ifndef PROXIMA_COMMON_ENVS_REMOTE_SESSION_H_
#define PROXIMA_COMMON_ENVS_REMOTE_SESSION_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/envs/env.h"
#include "common/envs/remote_env.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/client_callback.h"
#include "proxima/v1/env_service.grpc.pb.h"

namespace proxima {

class RemoteSession final : public grpc::ClientBidiReactor<v1::EnvRequest, v1::EnvResponse> {
 public:
  explicit RemoteSession(const std::shared_ptr<grpc::Channel>& channel);
  ~RemoteSession() override;

  v1::EnvRequest request;
  v1::EnvResponse response;

  // Sends `request` and waits up to `timeout` for `response`. On failure the
  // call is over (cancelled if it timed out) and the status says why.
  absl::Status RoundTrip(absl::Duration timeout);
  // Half-closes and waits up to `timeout` for the server to end the call,
  // then cancels it. Returns the call's final status.
  grpc::Status Close(absl::Duration timeout);

  void OnWriteDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  bool OpsDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !write_pending_ && !read_pending_;
  }
  void End();
  absl::Status EndedStatus();

  std::unique_ptr<v1::Env::Stub> stub_;
  grpc::ClientContext context_;
  bool ended_ = false;  // owner thread only: the hold is released
  absl::Mutex mu_;
  bool write_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool read_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool write_ok_ ABSL_GUARDED_BY(mu_) = false;
  bool read_ok_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status final_status_ ABSL_GUARDED_BY(mu_);
  absl::Notification done_;
};

// A session after a successful handshake.
struct OpenedRemoteSession {
  std::string target;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<RemoteSession> session;
  EnvSpec spec;               // spec.id is the remote id; state_dim 0
  std::string server_name;    // EnvHandshakeResponse.server_name
  std::string server_env_id;  // EnvSpec.id on the wire
  uint32_t num_envs = 0;      // EnvHandshakeResponse.num_envs
};

absl::StatusOr<OpenedRemoteSession> OpenRemoteSession(absl::string_view id, uint32_t num_envs,
                                                      const RemoteEnvOptions& options);

// "<id>: env server at <target>: <message>", keeping the code.
absl::Status NameRemoteServer(absl::string_view id, absl::string_view target, absl::Status status);

absl::Status CheckedRoundTrip(RemoteSession& session, absl::Duration timeout, const char* what);

absl::Status ReadFloatRows(const v1::TensorProto& tensor, int rows, int dim, const char* what,
                           float* out);

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_REMOTE_SESSION_H_
