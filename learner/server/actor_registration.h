// Learner.Register (MLP and sequence runs): checks an actor's registration request, records the
// session (SessionRegistry::Register, which supersedes the actor's previous
// one) and answers with the run configuration the actor must use — env,
// model, rollout length, seeds derived from the stable actor id, mode, lag
// limit and channel hints.
//
// Thread-safe: the registry takes its own lock; the superseded streams are
// ended with it released.
#ifndef PROXIMA_LEARNER_SERVER_ACTOR_REGISTRATION_H_
#define PROXIMA_LEARNER_SERVER_ACTOR_REGISTRATION_H_

#include <grpcpp/support/status.h>

#include <string>

#include "common/envs/env.h"
#include "common/policy/seq_run_config.h"
#include "learner/ppo_config.h"
#include "learner/server/learner_options.h"
#include "learner/server/session_registry.h"
#include "proxima/v1/learner_service.pb.h"

namespace proxima {

// What a registration answers with, besides the session.
struct RegistrationContext {
  const PpoConfig& config;
  const LearnerOptions& options;
  const EnvSpec& spec;
  uint64_t version;  // the learner's current policy version
  const std::string& instance_id;
  bool serving;  // false: refused (UNAVAILABLE) once the request is checked
};

// A fresh id for this learner process ("<env>-<pid>-<random hex>"): actors
// tell a restarted learner from the one they registered with.
std::string NewLearnerInstanceId(const std::string& env_id);

// The channel hints of `options` (RunConfig.channel).
void FillChannelHints(const LearnerOptions& options, v1::ChannelHints* out);

// Registers the actor in `sessions` and ends the streams of the session it
// supersedes (ABORTED).
grpc::Status RegisterActor(const v1::RegisterRequest& req, const RegistrationContext& ctx,
                           SessionRegistry* sessions, v1::RegisterResponse* resp);

// A sequence run's registration (learner/server/seq_learner_server.h):
// protocol revision 2 at least (FAILED_PRECONDITION below it), an actor
// that lists env ids must list the task; the answer carries
// RunConfig.sequence, the seeds (the action seed follows the actor id),
// the mode and the channel hints.
struct SeqRegistrationContext {
  const SeqRunSettings& run;
  uint64_t run_seed;
  bool sync;  // --mode sync
  const LearnerOptions& options;
  uint64_t version;
  const std::string& instance_id;
  bool serving;
};
grpc::Status RegisterSeqActor(const v1::RegisterRequest& req, const SeqRegistrationContext& ctx,
                              SessionRegistry* sessions, v1::RegisterResponse* resp);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_ACTOR_REGISTRATION_H_
