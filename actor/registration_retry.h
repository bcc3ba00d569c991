// RegistrationRetry: Learner.Register, retried while the learner starts,
// restarts or is briefly unreachable, until it answers, says no, or the
// owner cancels.
//
// Each attempt has the channel hints' unary deadline (5 s when unset). A
// retryable failure (RetryableRegisterError, actor/registration.h) is
// followed by a sleep from the hints' reconnect backoff with jitter
// (common/grpc/backoff.h); it is logged at most once every 10 s, and a
// success after failures says how many attempts it took. What the request
// holds and how the answer is checked: actor/registration.h.
//
// Thread-safety: Register() runs on one thread at a time (the actor's
// stepping thread); Cancel() may be called from any thread, also while
// Register() blocks, and wakes it at once.
#ifndef PROXIMA_ACTOR_REGISTRATION_RETRY_H_
#define PROXIMA_ACTOR_REGISTRATION_RETRY_H_

#include <functional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/client_context.h"
#include "proxima/v1/learner_service.grpc.pb.h"

namespace proxima {

class RegistrationRetry {
 public:
  struct Options {
    std::string learner_address;  // named in messages
    std::string actor_name;       // named in the refusal
    std::function<void(absl::string_view)> log;  // null: silent
  };

  explicit RegistrationRetry(Options options) : options_(std::move(options)) {}

  RegistrationRetry(const RegistrationRetry&) = delete;
  RegistrationRetry& operator=(const RegistrationRetry&) = delete;

  // Sends `request` through `stub` until an attempt succeeds: returns the
  // answer once CheckRegisterResponse accepts it (FailedPrecondition when it
  // does not). A non-retryable failure is FailedPrecondition naming the
  // learner, the actor and the learner's status; Cancelled once Cancel() was
  // called (before or during the call).
  absl::StatusOr<v1::RegisterResponse> Register(v1::Learner::StubInterface* stub,
                                                const v1::ChannelHints& hints,
                                                const v1::RegisterRequest& request);

  // Cancels the attempt in flight and the backoff sleep; every later
  // Register() returns Cancelled at once. Idempotent, never blocks.
  void Cancel();

 private:
  const Options options_;
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;  // the attempt in flight
};

}  // namespace proxima

#endif  // PROXIMA_ACTOR_REGISTRATION_RETRY_H_
