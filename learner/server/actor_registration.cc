#include "learner/server/actor_registration.h"

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/envs/registry.h"
#include "common/grpc/grpc_util.h"
#include "common/logging.h"
#include "common/rng.h"
#include "common/wire/run_config.h"
#include "learner/server/stream_reactors.h"

namespace proxima {
namespace {

void FillRunConfig(const RegistrationContext& ctx, uint32_t actor_id, int num_envs,
                   v1::RunConfig* rc) {
  const PpoConfig& c = ctx.config;
  const LearnerOptions& o = ctx.options;
  rc->set_env_id(c.env_id);
  EnvSpecToProto(ctx.spec, rc->mutable_env_spec());
  ModelSpecToProto(c.model, ctx.spec.obs_dim(), ctx.spec.action_space, rc->mutable_model());
  rc->set_rollout_length(static_cast<uint32_t>(c.rollout_length));
  rc->set_num_envs(static_cast<uint32_t>(num_envs));
  v1::SeedConfig* seeds = rc->mutable_seeds();
  seeds->set_run_seed(c.seed);
  // Seeds follow the actor id, which is stable for a name: a restarted actor
  // continues with the same seeds, different actors never share one.
  seeds->set_env_seed_base(c.seed + static_cast<uint64_t>(actor_id) * 65536);
  seeds->set_action_seed(MixSeed(c.seed ^ (0xac7105eedULL + actor_id)));
  rc->set_mode(o.mode == TrainingModeKind::kSync ? v1::TRAINING_MODE_SYNC
                                                 : v1::TRAINING_MODE_ASYNC);
  rc->set_max_policy_lag(static_cast<uint32_t>(o.max_policy_lag));
  rc->set_clip_actions(c.clip_action);
  if (o.mode == TrainingModeKind::kAsync) {
    rc->set_target_policy_lag(static_cast<uint32_t>(o.target_policy_lag));
    rc->set_batch_transitions(static_cast<uint64_t>(c.batch_size()));
  }
  FillChannelHints(o, rc->mutable_channel());
}

// The registration both kinds of run share once the request is checked:
// the session recorded, the response's ids, version and learner instance
// set, the superseded session's streams ended (after the caller logs).
absl::StatusOr<SessionRegistry::Registered> RecordSession(
    const v1::RegisterRequest& req, int num_envs, std::unique_ptr<RewardScaler> reward_scaler,
    uint64_t version, const std::string& instance_id, SessionRegistry* sessions,
    v1::RegisterResponse* resp) {
  SessionRegistry::NewSession n;
  n.name = req.actor_name();
  n.hostname = req.hostname();
  n.pid = req.pid();
  n.build_version = req.build_version();
  n.num_envs = num_envs;
  n.reward_scaler = std::move(reward_scaler);
  absl::StatusOr<SessionRegistry::Registered> r = sessions->Register(std::move(n));
  if (!r.ok()) return r.status();
  resp->set_actor_id(r->actor_id);
  resp->set_session_id(r->session_id);
  resp->set_policy_version(version);
  resp->set_learner_instance_id(instance_id);
  return r;
}

void EndSuperseded(const SessionRegistry::Registered& r) {
  const grpc::Status superseded(grpc::StatusCode::ABORTED,
                                "the session was superseded by a newer registration");
  if (r.superseded_stream) r.superseded_stream->Abort(superseded);
  if (r.superseded_watch) r.superseded_watch->Abort(superseded);
}

grpc::Status CheckActorName(const v1::RegisterRequest& req) {
  if (req.actor_name().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "actor_name: must not be empty");
  }
  return grpc::Status::OK;
}

}  // namespace

void FillChannelHints(const LearnerOptions& o, v1::ChannelHints* ch) {
  ch->set_max_message_bytes(static_cast<uint64_t>(o.max_message_bytes));
  SetDuration(o.keepalive_seconds, ch->mutable_keepalive_time());
  SetDuration(o.keepalive_timeout_seconds, ch->mutable_keepalive_timeout());
  SetDuration(10, ch->mutable_unary_deadline());
  SetDuration(0.1, ch->mutable_reconnect_backoff_initial());
  SetDuration(5, ch->mutable_reconnect_backoff_max());
  ch->set_max_unacked_chunks(static_cast<uint32_t>(o.max_unacked_chunks));
  SetDuration(o.sync_round_timeout_seconds, ch->mutable_sync_round_timeout());
}

std::string NewLearnerInstanceId(const std::string& env_id) {
  Rng rng(MixSeed(static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())) ^ ::getpid()));
  return absl::StrFormat("%s-%d-%016x", env_id, ::getpid(),
                         static_cast<unsigned long long>(rng.UniformInt(~0ULL)));
}

grpc::Status RegisterActor(const v1::RegisterRequest& req, const RegistrationContext& ctx,
                           SessionRegistry* sessions, v1::RegisterResponse* resp) {
  const PpoConfig& config = ctx.config;
  const LearnerOptions& options = ctx.options;
  if (grpc::Status s = CheckActorName(req); !s.ok()) return s;
  // Revision 2 adds sequence runs only; step chunks mean the same in both.
  if (req.protocol_version() != v1::PROTOCOL_VERSION_1 &&
      req.protocol_version() != v1::PROTOCOL_VERSION_2) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat("protocol_version ", req.protocol_version(),
                                     " is not supported; this learner speaks 1 and 2"));
  }
  // A remote env (remote://HOST:PORT) is built by connecting to its server,
  // which any actor can try: it is never in an actor's list.
  if (req.available_env_ids_size() > 0 && !IsRemoteEnvId(config.env_id) &&
      std::find(req.available_env_ids().begin(), req.available_env_ids().end(),
                config.env_id) == req.available_env_ids().end()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat("this run trains ", config.env_id,
                                     ", which the actor cannot build"));
  }
  int num_envs = static_cast<int>(req.num_envs());
  if (num_envs == 0) {
    num_envs = options.actor_num_envs > 0 ? options.actor_num_envs : config.num_envs;
  }
  num_envs = std::min(num_envs, 65536);
  // A chunk must fit the queue, or it could never be enqueued.
  const int64_t max_envs = std::max<int64_t>(1, options.queue_capacity / config.rollout_length);
  num_envs = static_cast<int>(std::min<int64_t>(num_envs, max_envs));
  if (!ctx.serving) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the learner is not serving");
  }
  std::unique_ptr<RewardScaler> scaler;
  if (config.normalize_reward) {
    scaler = std::make_unique<RewardScaler>(num_envs, config.gamma, config.reward_clip);
  }
  absl::StatusOr<SessionRegistry::Registered> r = RecordSession(
      req, num_envs, std::move(scaler), ctx.version, ctx.instance_id, sessions, resp);
  if (!r.ok()) return ToGrpcStatus(r.status());
  resp->set_protocol_version(req.protocol_version());
  FillRunConfig(ctx, r->actor_id, num_envs, resp->mutable_config());
  LogInfo(absl::StrFormat("actor %u '%s' registered (session %016llx, %d envs)", r->actor_id,
                          req.actor_name(), static_cast<unsigned long long>(r->session_id),
                          num_envs));
  EndSuperseded(*r);
  return grpc::Status::OK;
}

grpc::Status RegisterSeqActor(const v1::RegisterRequest& req, const SeqRegistrationContext& ctx,
                              SessionRegistry* sessions, v1::RegisterResponse* resp) {
  const std::string& task = ctx.run.task_id;
  if (grpc::Status s = CheckActorName(req); !s.ok()) return s;
  if (req.protocol_version() < v1::PROTOCOL_VERSION_2) {
    return grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        absl::StrCat("protocol_version ", req.protocol_version(), " is not supported: this run (",
                     task, ") streams sequence chunks, protocol revision 2"));
  }
  if (req.available_env_ids_size() > 0 &&
      std::find(req.available_env_ids().begin(), req.available_env_ids().end(), task) ==
          req.available_env_ids().end()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat("this run generates for ", task,
                                     ", which the actor cannot run"));
  }
  if (!ctx.serving) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the learner is not serving");
  }
  absl::StatusOr<SessionRegistry::Registered> r =
      RecordSession(req, /*num_envs=*/1, nullptr, ctx.version, ctx.instance_id, sessions, resp);
  if (!r.ok()) return ToGrpcStatus(r.status());
  resp->set_protocol_version(v1::PROTOCOL_VERSION_2);
  v1::RunConfig* rc = resp->mutable_config();
  rc->set_env_id(task);
  SeqRunToProto(ctx.run, rc->mutable_sequence());
  v1::SeedConfig* seeds = rc->mutable_seeds();
  seeds->set_run_seed(ctx.run_seed);
  seeds->set_action_seed(MixSeed(ctx.run_seed ^ (0x5e9ac7042ULL + r->actor_id)));
  rc->set_mode(ctx.sync ? v1::TRAINING_MODE_SYNC : v1::TRAINING_MODE_ASYNC);
  FillChannelHints(ctx.options, rc->mutable_channel());
  LogInfo(absl::StrFormat("actor %u '%s' registered for %s (session %016llx)", r->actor_id,
                          req.actor_name(), task,
                          static_cast<unsigned long long>(r->session_id)));
  EndSuperseded(*r);
  return grpc::Status::OK;
}

}  // namespace proxima
