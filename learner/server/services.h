// The learner's gRPC services (callback API): proxima.v1.Learner (Register,
// StreamTrajectories, WatchWeights), Monitor (GetStatus, ListActors,
// WatchMetrics) and Admin (SaveCheckpoint, Pause, Resume,
// SetHyperparameters, Shutdown). Each handler starts with the same prelude —
// the bearer-token check for its role (learner/server/auth.h), refusing the
// call when it fails — written once (ServiceBase::Authorized); the work
// itself is the ServiceHost's.
//
// The services hold no state and no lock; ServiceHost calls are made from
// gRPC threads with no lock held.
#ifndef PROXIMA_LEARNER_SERVER_SERVICES_H_
#define PROXIMA_LEARNER_SERVER_SERVICES_H_

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/support/server_callback.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "learner/server/auth.h"
#include "learner/server/learner_options.h"
#include "learner/server/stream_reactors.h"
#include "proxima/v1/admin_service.grpc.pb.h"
#include "proxima/v1/learner_service.grpc.pb.h"
#include "proxima/v1/monitor_service.grpc.pb.h"

namespace proxima {

// What the services need from the learner (LearnerServer's wiring).
class ServiceHost {
 public:
  virtual ~ServiceHost() = default;
  virtual grpc::Status Authorize(grpc::CallbackServerContext* ctx, Access access) const = 0;
  virtual TrajectoryHost* trajectory_host() = 0;
  virtual WeightHost* weight_host() = 0;
  virtual MetricsHost* metrics_host() = 0;
  virtual grpc::Status Register(const v1::RegisterRequest& req, v1::RegisterResponse* resp) = 0;
  virtual grpc::Status AttachWatch(const v1::WatchWeightsRequest& req,
                                   const std::shared_ptr<WeightStream>& w) = 0;
  virtual v1::LearnerStatus Status(bool include_actors) const = 0;
  virtual void AttachMetricsWatch(const std::shared_ptr<MetricsStream>& m) = 0;
  // `tag`: "" or a tag CheckCheckpointTag accepts (learner/checkpoint.h).
  virtual void RequestCheckpoint(
      const std::string& tag, std::function<void(absl::StatusOr<v1::CheckpointInfo>)> done) = 0;
  virtual bool paused() const = 0;
  virtual void SetPaused(bool paused) = 0;
  virtual uint64_t version() const = 0;
  virtual v1::SetHyperparametersResponse SetHyperparameters(
      const v1::SetHyperparametersRequest& req) = 0;
  virtual void RequestShutdown(bool save, std::function<void(v1::ShutdownResponse)> done) = 0;
};

// The three services, registered together.
struct LearnerServices {
  explicit LearnerServices(ServiceHost* host);
  ~LearnerServices();
  std::unique_ptr<grpc::Service> learner, monitor, admin;
};

// The learner's call security (learner/server/server_security.h): the
// server credentials and the token table — with, when tokens are on, a fresh
// internal token of every role for InProcessChannel() calls (it never leaves
// the process). Prints what it set up; clears options->auth_tokens (the
// table holds them).
struct CallSecurity {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  std::unique_ptr<CallAuthorizer> auth;
  std::string internal_token;  // empty: no tokens
};
absl::StatusOr<CallSecurity> LoadCallSecurity(LearnerOptions* options);

// Builds and starts the gRPC server on options.listen with the services, the
// health service and reflection, the learner's message limits and keepalive
// policy. `port` receives the bound port (0, or a null server: failed).
std::unique_ptr<grpc::Server> StartGrpcServer(
    const LearnerOptions& options, const std::shared_ptr<grpc::ServerCredentials>& credentials,
    LearnerServices* services, int* port);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_SERVICES_H_
