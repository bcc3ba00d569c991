// RegistrationRetry: Learner.Register, retried while the learner starts,
// restarts or is briefly unreachable, until it answers, says no, or the
// owner cancels.
//
// Each attempt has the channel hints' unary deadline (5 s when unset). A
// retryable failure (RetryableRegisterError, actor/registration.h) is
// followed by a sleep from the hints' reconnect backoff with jitter
// (common/grpc/backoff.h); it is logged at most once every 10 s, and a
// success after failures says how many attempts it took.
//
// A learner that is late or restarting must be found promptly. After an
// UNAVAILABLE attempt on a channel that is not connected (one that is was
// answered by the learner itself) the channel is asked to reconnect at once
// (ReconnectNow, common/grpc/grpc_util.h), so the next attempt does not fail
// on gRPC's own reconnect timer. That does not reset gRPC's DNS resolver,
// which backs off from 1 s to 2 minutes after failed lookups (measured with
// gRPC 1.51): so a channel that still fails that way one backoff
// maximum (reconnect_backoff_max, 5 s when unset) after Register() began or
// after it was last replaced is replaced by a new one (Options.new_channel),
// whose resolver looks the name up at once. A learner that appears late is
// thus found within about one backoff maximum. What the request holds and
// how the answer is checked: actor/registration.h.
//
// Thread-safety: Register() runs on one thread at a time (the actor's
// stepping thread); Cancel() may be called from any thread, also while
// Register() blocks, and wakes it at once.
#ifndef PROXIMA_ACTOR_REGISTRATION_RETRY_H_
#define PROXIMA_ACTOR_REGISTRATION_RETRY_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "proxima/v1/learner_service.grpc.pb.h"

namespace proxima {

class RegistrationRetry {
 public:
  struct Options {
    std::string learner_address;  // named in messages
    std::string actor_name;       // named in the refusal
    std::function<void(absl::string_view)> log;  // null: silent
    // Makes a new channel to the learner, to replace one that keeps failing
    // (null: the channel is never replaced).
    std::function<std::shared_ptr<grpc::Channel>()> new_channel;
  };

  explicit RegistrationRetry(Options options) : options_(std::move(options)) {}

  RegistrationRetry(const RegistrationRetry&) = delete;
  RegistrationRetry& operator=(const RegistrationRetry&) = delete;

  // Sends `request` through `*channel` until an attempt succeeds: returns
  // the answer once CheckRegisterResponse accepts it (FailedPrecondition when
  // it does not). A non-retryable failure is FailedPrecondition naming the
  // learner, the actor and the learner's status; Cancelled once Cancel() was
  // called (before or during the call). `*channel` (not null) may have been
  // replaced by a new one on return, whatever the outcome.
  absl::StatusOr<v1::RegisterResponse> Register(std::shared_ptr<grpc::Channel>* channel,
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
