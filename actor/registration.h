// What an actor sends to Learner.Register and how it judges the answer: the
// request (name, host, env ids this build can run, protocol revision 2 —
// sequence runs, docs/sequence-policies.md; an MLP learner answers 1 or 2 and
// streams step chunks as before — and build version), which failures are worth retrying while the learner starts or
// restarts, and the checks an accepted registration must pass before the
// actor acts for it (session id, protocol version, the learner's env spec
// against the one built here). RegistrationRetry (actor/registration_retry.h)
// runs the retry loop; these are pure functions that never block.
#ifndef PROXIMA_ACTOR_REGISTRATION_H_
#define PROXIMA_ACTOR_REGISTRATION_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/envs/env.h"
#include "common/wire/run_config.h"
#include "grpcpp/support/status.h"
#include "proxima/v1/learner_service.pb.h"

namespace proxima {

// The Register request of actor `name` on `hostname` (this process's pid,
// every env id this build registers; num_envs 0 asks for the learner's
// default).
v1::RegisterRequest MakeRegisterRequest(const std::string& name, const std::string& hostname,
                                        int num_envs);

// Errors worth retrying while the learner starts, restarts or is briefly
// unreachable; anything else is the learner saying no.
bool RetryableRegisterError(grpc::StatusCode code);

// "UNAVAILABLE", "NOT_FOUND", ...: the name of a gRPC status code in messages.
std::string GrpcCodeName(grpc::StatusCode code);

// FailedPrecondition when the learner at `learner_address` answered with
// session id 0 or a protocol version this actor does not speak.
absl::Status CheckRegisterResponse(const v1::RegisterResponse& response,
                                   absl::string_view learner_address);

// The learner's EnvSpec is authoritative: FailedPrecondition when the env
// built here (`local`) differs from it in observation space, action space or
// time limit, so the actor never sends data for a different env. OK when the
// learner sent no spec.
absl::Status CheckEnvSpec(const v1::RunConfig& config, const EnvSpec& local);

// Whether a re-registration's run config lets the actor keep its envs,
// policy network and RNG (only mode and channel hints changed).
bool SameRunShape(const ActorRunConfig& a, const ActorRunConfig& b);

}  // namespace proxima

#endif  // PROXIMA_ACTOR_REGISTRATION_H_
