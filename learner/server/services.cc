#include "learner/server/services.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_builder.h>

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc/grpc_util.h"
#include "common/logging.h"
#include "learner/checkpoint.h"
#include "learner/server/rejected_call.h"
#include "learner/server/server_security.h"

namespace proxima {
namespace {

// The prelude every handler shares.
class ServiceBase {
 protected:
  explicit ServiceBase(ServiceHost* host) : host_(host) {}

  // `serve()` when the call is authorized for `access`, else `reject(status)`.
  template <typename Serve, typename Reject>
  auto Authorized(grpc::CallbackServerContext* ctx, Access access, Serve serve, Reject reject) {
    grpc::Status auth = host_->Authorize(ctx, access);
    return auth.ok() ? serve() : reject(auth);
  }
  // A unary call whose answer is ready at once: `fn()` fills the response and
  // returns the status.
  template <typename Fn>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* ctx, Access access, Fn fn) {
    return Authorized(
        ctx, access,
        [&] {
          grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
          r->Finish(fn());
          return r;
        },
        [&](const grpc::Status& s) { return RejectUnary(ctx, s); });
  }
  // A unary call answered later: `fn(reactor)` finishes it.
  template <typename Fn>
  grpc::ServerUnaryReactor* UnaryLater(grpc::CallbackServerContext* ctx, Access access, Fn fn) {
    return Authorized(
        ctx, access,
        [&] {
          grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
          fn(r);
          return r;
        },
        [&](const grpc::Status& s) { return RejectUnary(ctx, s); });
  }

  ServiceHost* const host_;
};

using LearnerBase = v1::Learner::WithRawCallbackMethod_WatchWeights<
    v1::Learner::WithCallbackMethod_Register<
        v1::Learner::WithRawCallbackMethod_StreamTrajectories<v1::Learner::Service>>>;

class LearnerService final : public LearnerBase, ServiceBase {
 public:
  explicit LearnerService(ServiceHost* host) : ServiceBase(host) {}

  grpc::ServerUnaryReactor* Register(grpc::CallbackServerContext* ctx,
                                     const v1::RegisterRequest* req,
                                     v1::RegisterResponse* resp) override {
    return Unary(ctx, Access::kLearner, [&] { return host_->Register(*req, resp); });
  }

  // Raw (ByteBuffer) so that a message which does not parse is seen, counted
  // and answered with INVALID_ARGUMENT instead of looking like a half-close.
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* StreamTrajectories(
      grpc::CallbackServerContext* ctx) override {
    using Reactor = grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>;
    return Authorized(
        ctx, Access::kLearner,
        [&]() -> Reactor* { return TrajectoryStream::Create(host_->trajectory_host()); },
        [](const grpc::Status& s) {
          return RejectedBidiStream<grpc::ByteBuffer, grpc::ByteBuffer>::Create(s);
        });
  }

  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchWeights(
      grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* raw) override {
    using Reactor = grpc::ServerWriteReactor<grpc::ByteBuffer>;
    return Authorized(
        ctx, Access::kLearner, [&]() -> Reactor* { return Watch(*raw); },
        [](const grpc::Status& s) { return RejectedWriteStream<grpc::ByteBuffer>::Create(s); });
  }

 private:
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Watch(const grpc::ByteBuffer& raw) {
    v1::WatchWeightsRequest req;
    grpc::ByteBuffer copy(raw);
    grpc::Status parsed =
        grpc::SerializationTraits<v1::WatchWeightsRequest>::Deserialize(&copy, &req);
    std::optional<uint64_t> have;
    if (req.has_have_version()) have = req.have_version();
    std::shared_ptr<WeightStream> w = WeightStream::Make(host_->weight_host(), req.session_id(), have);
    grpc::Status s = parsed.ok() ? host_->AttachWatch(req, w)
                                 : grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                                "WatchWeightsRequest does not parse");
    if (!s.ok()) {
      w->Abort(s);
    } else {
      w->Notify();
    }
    return w.get();
  }
};

class MonitorService final : public v1::Monitor::CallbackService, ServiceBase {
 public:
  explicit MonitorService(ServiceHost* host) : ServiceBase(host) {}

  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* ctx,
                                      const v1::GetStatusRequest* req,
                                      v1::LearnerStatus* resp) override {
    return Unary(ctx, Access::kMonitor, [&] {
      *resp = host_->Status(req->include_actors());
      return grpc::Status::OK;
    });
  }

  grpc::ServerUnaryReactor* ListActors(grpc::CallbackServerContext* ctx,
                                       const v1::ListActorsRequest* req,
                                       v1::ListActorsResponse* resp) override {
    return Unary(ctx, Access::kMonitor, [&] {
      v1::LearnerStatus st = host_->Status(true);
      for (const v1::ActorInfo& a : st.actors()) {
        if (req->include_inactive() || a.state() == v1::ACTOR_STATE_CONNECTED) {
          *resp->add_actors() = a;
        }
      }
      resp->set_policy_version(st.policy_version());
      *resp->mutable_as_of() = st.as_of();
      return grpc::Status::OK;
    });
  }

  grpc::ServerWriteReactor<v1::UpdateMetrics>* WatchMetrics(
      grpc::CallbackServerContext* ctx, const v1::WatchMetricsRequest* req) override {
    using Reactor = grpc::ServerWriteReactor<v1::UpdateMetrics>;
    return Authorized(
        ctx, Access::kMonitor,
        [&]() -> Reactor* {
          const uint64_t after =
              req->has_after_update() ? req->after_update() : host_->Status(false).updates();
          std::shared_ptr<MetricsStream> m = MetricsStream::Make(host_->metrics_host(), after);
          host_->AttachMetricsWatch(m);
          m->Notify();
          return m.get();
        },
        [](const grpc::Status& s) { return RejectedWriteStream<v1::UpdateMetrics>::Create(s); });
  }
};

class AdminService final : public v1::Admin::CallbackService, ServiceBase {
 public:
  explicit AdminService(ServiceHost* host) : ServiceBase(host) {}

  grpc::ServerUnaryReactor* SaveCheckpoint(grpc::CallbackServerContext* ctx,
                                           const v1::SaveCheckpointRequest* req,
                                           v1::SaveCheckpointResponse* resp) override {
    return UnaryLater(ctx, Access::kAdmin, [&](grpc::ServerUnaryReactor* r) {
      if (!req->tag().empty()) {
        if (absl::Status bad = CheckCheckpointTag(req->tag()); !bad.ok()) {
          r->Finish(ToGrpcStatus(bad));
          return;
        }
      }
      host_->RequestCheckpoint(req->tag(), [r, resp](absl::StatusOr<v1::CheckpointInfo> info) {
        if (!info.ok()) {
          r->Finish(ToGrpcStatus(info.status()));
          return;
        }
        *resp->mutable_checkpoint() = *info;
        r->Finish(grpc::Status::OK);
      });
    });
  }

  grpc::ServerUnaryReactor* Pause(grpc::CallbackServerContext* ctx, const v1::PauseRequest* req,
                                  v1::PauseResponse* resp) override {
    return Unary(ctx, Access::kAdmin, [&] {
      resp->set_was_paused(host_->paused());
      host_->SetPaused(true);
      LogInfo(absl::StrCat("paused", req->reason().empty() ? "" : ": ", req->reason()));
      resp->set_policy_version(host_->version());
      return grpc::Status::OK;
    });
  }

  grpc::ServerUnaryReactor* Resume(grpc::CallbackServerContext* ctx, const v1::ResumeRequest*,
                                   v1::ResumeResponse* resp) override {
    return Unary(ctx, Access::kAdmin, [&] {
      resp->set_was_paused(host_->paused());
      host_->SetPaused(false);
      LogInfo("resumed");
      resp->set_policy_version(host_->version());
      return grpc::Status::OK;
    });
  }

  grpc::ServerUnaryReactor* SetHyperparameters(grpc::CallbackServerContext* ctx,
                                               const v1::SetHyperparametersRequest* req,
                                               v1::SetHyperparametersResponse* resp) override {
    return Unary(ctx, Access::kAdmin, [&] {
      *resp = host_->SetHyperparameters(*req);
      return grpc::Status::OK;
    });
  }

  grpc::ServerUnaryReactor* Shutdown(grpc::CallbackServerContext* ctx,
                                     const v1::ShutdownRequest* req,
                                     v1::ShutdownResponse* resp) override {
    return UnaryLater(ctx, Access::kAdmin, [&](grpc::ServerUnaryReactor* r) {
      host_->RequestShutdown(req->save_checkpoint(), [r, resp](v1::ShutdownResponse out) {
        *resp = std::move(out);
        r->Finish(grpc::Status::OK);
      });
    });
  }
};

}  // namespace

LearnerServices::LearnerServices(ServiceHost* host)
    : learner(std::make_unique<LearnerService>(host)),
      monitor(std::make_unique<MonitorService>(host)),
      admin(std::make_unique<AdminService>(host)) {}

LearnerServices::~LearnerServices() = default;

absl::StatusOr<CallSecurity> LoadCallSecurity(LearnerOptions* options) {
  absl::StatusOr<ServerSecurity> security = LoadServerSecurity(*options);
  if (!security.ok()) return security.status();
  LogInfo(absl::StrCat("channel security: ", DescribeServerSecurity(*security)));
  CallSecurity out;
  out.credentials = security->credentials;
  if (!security->tokens.empty()) {
    out.internal_token = RandomToken();
    for (Role r : {Role::kActor, Role::kMonitor, Role::kAdmin}) {
      security->tokens.Add(r, out.internal_token);
    }
  }
  out.auth = std::make_unique<CallAuthorizer>(std::move(security->tokens));
  options->auth_tokens.clear();  // the table holds them now
  return out;
}

std::unique_ptr<grpc::Server> StartGrpcServer(
    const LearnerOptions& options, const std::shared_ptr<grpc::ServerCredentials>& credentials,
    LearnerServices* services, int* port) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials, port);
  builder.RegisterService(services->learner.get());
  builder.RegisterService(services->monitor.get());
  builder.RegisterService(services->admin.get());
  // Above --max-message-bytes so that a chunk somewhat too large is read,
  // rejected and counted (REJECTED_TOO_LARGE); anything larger is refused
  // by gRPC unread.
  builder.SetMaxReceiveMessageSize(options.TransportMessageLimit());
  builder.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  const int keepalive_ms = static_cast<int>(options.keepalive_seconds * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, keepalive_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             static_cast<int>(options.keepalive_timeout_seconds * 1000));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Clients ping at keepalive_seconds; permit twice that rate so that no
  // well-configured actor is ever answered with too_many_pings.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             keepalive_ms / 2);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  return builder.BuildAndStart();
}

}  // namespace proxima
