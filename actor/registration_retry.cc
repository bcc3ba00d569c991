#include "actor/registration_retry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "actor/channel_hints.h"
#include "actor/registration.h"
#include "common/grpc/backoff.h"
#include "common/grpc/grpc_util.h"
#include "common/status_macros.h"

namespace proxima {

void RegistrationRetry::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  if (context_ != nullptr) context_->TryCancel();
}

absl::StatusOr<v1::RegisterResponse> RegistrationRetry::Register(
    std::shared_ptr<grpc::Channel>* channel, const v1::ChannelHints& hints,
    const v1::RegisterRequest& request) {
  auto log = [this](const std::string& line) {
    if (options_.log) options_.log(line);
  };
  Backoff backoff = Backoff::FromHints(hints, JitterSeed());
  const absl::Duration deadline = HintOr(hints.unary_deadline(), absl::Seconds(5));

  int attempts = 0;
  absl::Time last_warning = absl::InfinitePast();
  absl::Time channel_made = absl::Now();
  std::unique_ptr<v1::Learner::Stub> stub = v1::Learner::NewStub(*channel);
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_) return absl::CancelledError("stopped before registering");
      context_ = &context;
    }
    v1::RegisterResponse response;
    const grpc::Status status = stub->Register(&context, request, &response);
    {
      absl::MutexLock lock(&mu_);
      context_ = nullptr;
      if (cancelled_) return absl::CancelledError("stopped while registering");
    }
    ++attempts;
    if (status.ok()) {
      PROXIMA_RETURN_IF_ERROR(CheckRegisterResponse(response, options_.learner_address));
      if (attempts > 1) log(absl::StrCat("learner reachable after ", attempts, " attempts"));
      return response;
    }
    if (!RetryableRegisterError(status.error_code())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "learner at ", options_.learner_address, " refused the registration of '",
          options_.actor_name, "': ", GrpcCodeName(status.error_code()), ": ",
          status.error_message()));
    }
    // UNAVAILABLE on a connected channel is the learner's own answer (e.g.
    // still starting): the connection is fine and stays.
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
        (*channel)->GetState(false) != GRPC_CHANNEL_READY) {
      if (options_.new_channel && absl::Now() - channel_made >= backoff.max()) {
        *channel = options_.new_channel();
        stub = v1::Learner::NewStub(*channel);
        channel_made = absl::Now();
      } else {
        ReconnectNow(channel->get());
      }
    }
    const absl::Duration delay = backoff.Next();
    if (absl::Now() - last_warning >= absl::Seconds(10)) {
      last_warning = absl::Now();
      log(absl::StrFormat("cannot register with learner at %s (%s: %s); retrying every %.1fs "
                          "at most (attempt %d)",
                          options_.learner_address, GrpcCodeName(status.error_code()),
                          status.error_message(), absl::ToDoubleSeconds(backoff.max()),
                          attempts));
    }
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithDeadline(absl::Condition(&cancelled_), absl::Now() + delay);
    if (cancelled_) return absl::CancelledError("stopped while registering");
  }
}

}  // namespace proxima
