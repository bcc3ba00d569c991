// Reactors for calls the learner refuses before doing anything (an
// authorization failure, learner/server/auth.h): each finishes with the given
// status as soon as it is created — no read, no write, no state touched —
// and deletes itself when gRPC is done with it. Finishing from inside the
// reactor-creating handler is allowed by the callback API (it is held until
// the reactor is bound to the call).
#ifndef PROXIMA_LEARNER_SERVER_REJECTED_CALL_H_
#define PROXIMA_LEARNER_SERVER_REJECTED_CALL_H_

#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

namespace proxima {

// Unary calls: the context's default reactor, finished with `status`.
inline grpc::ServerUnaryReactor* RejectUnary(grpc::CallbackServerContext* ctx,
                                             const grpc::Status& status) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  r->Finish(status);
  return r;
}

template <typename Request, typename Response>
class RejectedBidiStream final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  static grpc::ServerBidiReactor<Request, Response>* Create(const grpc::Status& status) {
    auto* r = new RejectedBidiStream();
    r->Finish(status);
    return r;
  }
  void OnDone() override { delete this; }

 private:
  RejectedBidiStream() = default;
};

template <typename Response>
class RejectedWriteStream final : public grpc::ServerWriteReactor<Response> {
 public:
  static grpc::ServerWriteReactor<Response>* Create(const grpc::Status& status) {
    auto* r = new RejectedWriteStream();
    r->Finish(status);
    return r;
  }
  void OnDone() override { delete this; }

 private:
  RejectedWriteStream() = default;
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_REJECTED_CALL_H_
