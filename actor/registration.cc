#include "actor/registration.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/envs/registry.h"
#include "common/lm/task_registry.h"

#ifndef PROXIMA_VERSION_STRING
#define PROXIMA_VERSION_STRING "unknown"
#endif

namespace proxima {

v1::RegisterRequest MakeRegisterRequest(const std::string& name, const std::string& hostname,
                                        int num_envs) {
  v1::RegisterRequest request;
  request.set_actor_name(name);
  request.set_num_envs(static_cast<uint32_t>(num_envs));
  request.set_protocol_version(v1::PROTOCOL_VERSION_2);
  request.set_hostname(hostname);
  request.set_pid(static_cast<uint32_t>(::getpid()));
  request.set_build_version(absl::StrCat("proxima ", PROXIMA_VERSION_STRING));
  for (const std::string& id : RegisteredEnvIds()) request.add_available_env_ids(id);
  // Sequence tasks (protocol revision 2): the actor generates for them.
  for (const std::string& id : lm::TaskIds()) request.add_available_env_ids(id);
  return request;
}

bool RetryableRegisterError(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::INTERNAL:
      return true;
    default:
      return false;
  }
}

std::string GrpcCodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

absl::Status CheckRegisterResponse(const v1::RegisterResponse& response,
                                   absl::string_view learner_address) {
  if (response.session_id() == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("learner at ", learner_address, " returned session id 0"));
  }
  if (response.protocol_version() != v1::PROTOCOL_VERSION_1 &&
      response.protocol_version() != v1::PROTOCOL_VERSION_2 &&
      response.protocol_version() != v1::PROTOCOL_VERSION_UNSPECIFIED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "learner at ", learner_address, " speaks protocol version ",
        response.protocol_version(), "; this actor speaks versions 1 and 2"));
  }
  return absl::OkStatus();
}

absl::Status CheckEnvSpec(const v1::RunConfig& config, const EnvSpec& local) {
  if (!config.has_env_spec()) return absl::OkStatus();
  v1::EnvSpec mine;
  EnvSpecToProto(local, &mine);
  const v1::EnvSpec& theirs = config.env_spec();
  auto differ = [](const google::protobuf::Message& a, const google::protobuf::Message& b) {
    return a.SerializeAsString() != b.SerializeAsString();
  };
  if (differ(theirs.observation_space(), mine.observation_space())) {
    return absl::FailedPreconditionError(absl::StrCat(
        config.env_id(), ": the learner's observation space is {",
        theirs.observation_space().ShortDebugString(), "} but this actor builds {",
        mine.observation_space().ShortDebugString(), "}"));
  }
  if (differ(theirs.action_space(), mine.action_space())) {
    return absl::FailedPreconditionError(absl::StrCat(
        config.env_id(), ": the learner's action space is {",
        theirs.action_space().ShortDebugString(), "} but this actor builds {",
        mine.action_space().ShortDebugString(), "}"));
  }
  if (theirs.max_episode_steps() != 0 && theirs.max_episode_steps() != mine.max_episode_steps()) {
    return absl::FailedPreconditionError(absl::StrCat(
        config.env_id(), ": the learner's time limit is ", theirs.max_episode_steps(),
        " steps but this actor's is ", mine.max_episode_steps()));
  }
  return absl::OkStatus();
}

bool SameRunShape(const ActorRunConfig& a, const ActorRunConfig& b) {
  return a.env_id == b.env_id && a.num_envs == b.num_envs &&
         a.rollout_length == b.rollout_length && a.env_seed_base == b.env_seed_base &&
         a.action_seed == b.action_seed && a.model.hidden_sizes == b.model.hidden_sizes &&
         a.model.activation == b.model.activation && a.model.shared_trunk == b.model.shared_trunk;
}

}  // namespace proxima
