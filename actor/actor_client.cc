#include "actor/actor_client.h"

#include <unistd.h>

#include <algorithm>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/grpc/backoff.h"
#include "actor/chunk_sender.h"
#include "actor/policy_lag_gate.h"
#include "actor/registration.h"
#include "common/policy/cpu_threads.h"
#include "common/envs/vector_env.h"
#include "common/grpc/grpc_util.h"
#include "common/logging.h"
#include "common/policy/policy_inference.h"
#include "common/policy/policy_snapshot.h"
#include "common/policy/rollout_collector.h"
#include "actor/weight_watcher.h"
#include "common/rng.h"
#include "common/status_macros.h"

namespace proxima {
namespace {

std::string Hostname() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

absl::Duration Hint(const google::protobuf::Duration& d, absl::Duration fallback) {
  const absl::Duration v = DurationFromProto(d.seconds(), d.nanos());
  return v > absl::ZeroDuration() ? v : fallback;
}

}  // namespace

absl::Status ActorClient::Options::Validate() const {
  if (learner_address.empty() || learner_address.rfind(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--learner must be HOST:PORT (got '", learner_address, "')"));
  }
  if (num_envs < 0 || num_envs > 65536) {
    return absl::InvalidArgumentError(
        absl::StrCat("--num-envs must be in [0, 65536], 0 = the learner's default (got ",
                     num_envs, ")"));
  }
  if (threads < 1 || threads > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("--threads must be in [1, 1024] (got ", threads, ")"));
  }
  if (exit_after_learner_done < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--exit-after-learner-done must be >= 0 seconds, 0 = never (got ",
                     absl::ToDoubleSeconds(exit_after_learner_done), ")"));
  }
  return ParseInferenceEngine(engine).status();
}

ActorClient::ActorClient(Options options) : options_(std::move(options)) {
  hostname_ = Hostname();
  name_ = options_.name.empty() ? absl::StrCat(hostname_, ":", ::getpid()) : options_.name;
}

ActorClient::~ActorClient() {
  Stop();
  EndSession(false);
}

void ActorClient::Log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
    return;
  }
  const std::string stamp =
      absl::FormatTime("%Y-%m-%d %H:%M:%E3S", absl::Now(), absl::LocalTimeZone());
  LogRaw(absl::StrCat(stamp, " ", ProcessName(), "[", name_, "]: ", line, "\n"));
}

ActorClient::Stats ActorClient::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void ActorClient::Stop() {
  stop_.store(true);
  interrupt_.store(true);
  {
    absl::MutexLock lock(&mu_);
    if (register_context_ != nullptr) register_context_->TryCancel();
  }
  WakeAll();
}

void ActorClient::WakeAll() {
  absl::MutexLock lock(&mu_);
  if (slot_) slot_->Wake();
  if (sender_) sender_->Wake();
  cv_.SignalAll();
}

void ActorClient::OnSessionLost(absl::string_view reason) {
  {
    absl::MutexLock lock(&mu_);
    if (lost_reason_.empty()) lost_reason_ = std::string(reason);
  }
  session_lost_.store(true);
  interrupt_.store(true);
  WakeAll();
}

bool ActorClient::SleepUnlessStopped(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  const absl::Time deadline = absl::Now() + d;
  while (!stop_.load() && !cv_.WaitWithDeadline(&mu_, deadline)) {
  }
  return !stop_.load();
}

absl::Status ActorClient::Run() {
  return RunWatched([this] { return LearnerGoneAfterItsRun(); });
}

absl::Status ActorClient::Run(std::atomic<bool>* stop) {
  return RunWatched([this, stop] { return stop->load() || LearnerGoneAfterItsRun(); });
}

absl::Status ActorClient::RunWatched(const std::function<bool()>& should_stop) {
  absl::Mutex mu;
  bool done = false;  // guarded by mu
  std::thread watch([&] {
    absl::MutexLock lock(&mu);
    while (!done) {
      if (should_stop()) {
        Stop();
        return;
      }
      mu.AwaitWithTimeout(absl::Condition(&done), absl::Milliseconds(50));
    }
  });
  absl::Status status = RunSessions();
  {
    absl::MutexLock lock(&mu);
    done = true;
  }
  watch.join();
  return status;
}

bool ActorClient::LearnerGoneAfterItsRun() {
  const absl::Duration grace = options_.exit_after_learner_done;
  if (grace <= absl::ZeroDuration()) return false;
  bool stopping = false;
  {
    absl::MutexLock lock(&mu_);
    stopping = sender_ != nullptr && sender_->stats().learner_stopping;
  }
  const absl::Time now = absl::Now();
  if (!stopping) {
    learner_done_since_ = absl::InfiniteFuture();
    return false;
  }
  if (learner_done_since_ == absl::InfiniteFuture()) learner_done_since_ = now;
  if (now - learner_done_since_ < grace) return false;
  Log(absl::StrCat("the learner ended its run (it said it was shutting down) and has not come "
                   "back for ", absl::FormatDuration(grace),
                   "; exiting (--exit-after-learner-done)"));
  return true;
}

absl::StatusOr<v1::RegisterResponse> ActorClient::Register() {
  Backoff backoff = Backoff::FromHints(hints_, JitterSeed());
  const absl::Duration deadline = Hint(hints_.unary_deadline(), absl::Seconds(5));
  const v1::RegisterRequest request = MakeRegisterRequest(name_, hostname_, options_.num_envs);

  int attempts = 0;
  absl::Time last_warning = absl::InfinitePast();
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    {
      absl::MutexLock lock(&mu_);
      if (stop_.load()) return absl::CancelledError("stopped before registering");
      register_context_ = &context;
    }
    v1::RegisterResponse response;
    const grpc::Status status = stub_->Register(&context, request, &response);
    {
      absl::MutexLock lock(&mu_);
      register_context_ = nullptr;
    }
    ++attempts;
    if (stop_.load()) return absl::CancelledError("stopped while registering");
    if (status.ok()) {
      PROXIMA_RETURN_IF_ERROR(CheckRegisterResponse(response, options_.learner_address));
      if (attempts > 1) Log(absl::StrCat("learner reachable after ", attempts, " attempts"));
      return response;
    }
    if (!RetryableRegisterError(status.error_code())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "learner at ", options_.learner_address, " refused the registration of '", name_,
          "': ", GrpcCodeName(status.error_code()), ": ", status.error_message()));
    }
    const absl::Duration delay = backoff.Next();
    if (absl::Now() - last_warning >= absl::Seconds(10)) {
      last_warning = absl::Now();
      Log(absl::StrFormat("cannot register with learner at %s (%s: %s); retrying every %.1fs "
                          "at most (attempt %d)",
                          options_.learner_address, GrpcCodeName(status.error_code()),
                          status.error_message(), absl::ToDoubleSeconds(backoff.max()),
                          attempts));
    }
    if (!SleepUnlessStopped(delay)) return absl::CancelledError("stopped while registering");
  }
}

absl::Status ActorClient::Setup(const ActorRunConfig& config) {
  if (have_config_ && SameRunShape(config, config_) && envs_ != nullptr) {
    config_ = config;  // mode and hints may change; the envs keep running
    envs_->set_clip_actions(config.clip_actions);
    return absl::OkStatus();
  }
  env_steps_before_ = TotalEnvSteps();
  collector_.reset();
  policy_.reset();
  envs_.reset();
  PROXIMA_ASSIGN_OR_RETURN(envs_,
                           VectorEnv::Create(config.env_id, config.num_envs, config.env_seed_base));
  envs_->set_clip_actions(config.clip_actions);
  PROXIMA_RETURN_IF_ERROR(envs_->SetThreads(options_.threads));
  rng_ = std::make_unique<Rng>(config.action_seed);
  const PolicyShape shape{config.env_spec.obs_dim(), config.env_spec.action_space, config.model};
  PROXIMA_ASSIGN_OR_RETURN(const InferenceEngine engine, ParseInferenceEngine(options_.engine));
  if (!have_config_) {  // once: at the first registration
    Log(absl::StrCat("inference engine: ", InferenceEngineName(engine), " (--engine=",
                     options_.engine, ")"));
  }
  policy_ = std::make_unique<PolicyInference>(shape, config.num_envs, engine);
  collector_ = std::make_unique<RolloutCollector>(envs_.get(), policy_.get(), rng_.get(),
                                                  config.rollout_length);
  config_ = config;
  have_config_ = true;
  return absl::OkStatus();
}

void ActorClient::StartSession(const v1::RegisterResponse& response) {
  if (response.config().channel().SerializeAsString() != hints_.SerializeAsString() ||
      channel_ == nullptr) {
    hints_ = response.config().channel();
    channel_ = MakeLearnerChannel(options_.learner_address, hints_, options_.security);
    stub_ = v1::Learner::NewStub(channel_);
  }
  actor_id_ = response.actor_id();
  session_id_ = response.session_id();
  next_seq_ = 0;
  session_lost_.store(false);
  // Stop() sets stop_ before interrupt_: clearing first and re-checking after
  // cannot lose a Stop() that races with this.
  interrupt_.store(false);
  if (stop_.load()) interrupt_.store(true);

  const absl::Duration backoff_initial =
      Hint(hints_.reconnect_backoff_initial(), absl::Milliseconds(100));
  const absl::Duration backoff_max = Hint(hints_.reconnect_backoff_max(), absl::Seconds(5));
  auto log = [this](absl::string_view line) { Log(std::string(line)); };
  auto lost = [this](absl::string_view reason) { OnSessionLost(reason); };

  auto slot = std::make_unique<SnapshotSlot>();
  WeightWatcher::Options wo;
  wo.actor_id = actor_id_;
  wo.session_id = session_id_;
  wo.shape = PolicyShape{config_.env_spec.obs_dim(), config_.env_spec.action_space,
                         config_.model};
  wo.backoff_initial = backoff_initial;
  wo.backoff_max = backoff_max;
  wo.log = log;
  wo.on_session_lost = lost;
  auto watcher = std::make_unique<WeightWatcher>(stub_.get(), slot.get(), std::move(wo));

  ChunkSender::Options so;
  so.actor_id = actor_id_;
  so.session_id = session_id_;
  so.window = hints_.max_unacked_chunks() > 0 ? static_cast<int>(hints_.max_unacked_chunks()) : 8;
  so.ack_timeout = Hint(hints_.ack_timeout(), absl::ZeroDuration());
  so.backoff_initial = backoff_initial;
  so.backoff_max = backoff_max;
  so.log = log;
  so.on_session_lost = lost;
  auto sender = std::make_unique<ChunkSender>(stub_.get(), std::move(so));
  // Only this (the stepping) thread replaces the session components, so the
  // pointers stay valid after the lock is released.
  WeightWatcher* const started_watcher = watcher.get();
  ChunkSender* const started_sender = sender.get();
  {
    absl::MutexLock lock(&mu_);
    slot_ = std::move(slot);
    watcher_ = std::move(watcher);
    sender_ = std::move(sender);
    ++stats_.registrations;
    stats_.actor_id = actor_id_;
    stats_.session_id = session_id_;
    lost_reason_.clear();
  }
  started_watcher->Start();
  started_sender->Start();
}

void ActorClient::EndSession(bool graceful) {
  std::unique_ptr<SnapshotSlot> slot;
  std::unique_ptr<WeightWatcher> watcher;
  std::unique_ptr<ChunkSender> sender;
  {
    // Taken out under the lock, destroyed outside it: their threads may be
    // calling OnSessionLost, which takes mu_.
    absl::MutexLock lock(&mu_);
    slot = std::move(slot_);
    watcher = std::move(watcher_);
    sender = std::move(sender_);
  }
  if (graceful && sender != nullptr) {
    if (!sender->WaitAllAcked(absl::Now() + options_.final_ack_timeout)) {
      Log(absl::StrCat(sender->unacked(), " chunk(s) left unacknowledged (the learner stopped, ",
                       "is unreachable, or did not answer within ",
                       absl::FormatDuration(options_.final_ack_timeout), ")"));
    }
    sender->Shutdown(options_.close_grace);
  }
  if (sender != nullptr) {
    sender->Shutdown(absl::ZeroDuration());
    const ChunkSender::Stats cs = sender->stats();
    absl::MutexLock lock(&mu_);
    stats_.chunks_acked += cs.acked;
    stats_.chunks_accepted += cs.accepted;
    stats_.duplicate_acks += cs.duplicates;
    stats_.reconnects += cs.reconnects;
  }
  watcher.reset();
  sender.reset();
  slot.reset();
}

int64_t ActorClient::TotalEnvSteps() const {
  return env_steps_before_ + (collector_ != nullptr ? collector_->total_env_steps() : 0);
}

void ActorClient::MaybeLogThroughput(bool force) {
  if (options_.log_interval <= absl::ZeroDuration()) return;
  const absl::Time now = absl::Now();
  const absl::Duration elapsed = now - last_log_time_;
  if (!force && elapsed < options_.log_interval) return;
  const int64_t steps = TotalEnvSteps();
  Stats s = stats();
  ChunkSender::Stats cs;
  {
    absl::MutexLock lock(&mu_);
    if (sender_) cs = sender_->stats();
  }
  const double seconds = std::max(absl::ToDoubleSeconds(elapsed), 1e-9);
  const double waited = s.flow_control_wait_seconds - last_log_wait_seconds_;
  Log(absl::StrFormat(
      "%.0f env steps/s, acting with version %d (learner at %d), %d chunks acked, %d "
      "unacked, %d episodes, %.0f%% waiting for newer weights%s",
      static_cast<double>(steps - last_log_steps_) / seconds, s.policy_version,
      cs.learner_version, s.chunks_acked + cs.acked, cs.unacked,
      s.episodes - last_log_episodes_, 100.0 * waited / seconds,
      return_count_ > 0 ? absl::StrFormat(", mean return %.1f",
                                          return_sum_ / static_cast<double>(return_count_))
                        : std::string()));
  last_log_time_ = now;
  last_log_steps_ = steps;
  last_log_wait_seconds_ = s.flow_control_wait_seconds;
  last_log_episodes_ = s.episodes;
  return_sum_ = 0;
  return_count_ = 0;
}

std::shared_ptr<const PolicySnapshot> ActorClient::AwaitFreshEnough(
    PolicyLagGate* gate, SnapshotSlot* slot, ChunkSender* sender,
    std::shared_ptr<const PolicySnapshot> snap) {
  const uint64_t chunk_transitions =
      static_cast<uint64_t>(config_.rollout_length) * static_cast<uint64_t>(config_.num_envs);
  const absl::Time start = absl::Now();
  gate->SawVersion(snap->version, start);
  const absl::Time deadline = start + gate->MaxWait();
  bool waited = false;
  bool gave_up = false;
  while (!interrupt_.load()) {
    const ChunkSender::Stats cs = sender->stats();
    std::optional<PolicyLagGate::AckView> ack;
    if (cs.acked > 0) ack = PolicyLagGate::AckView{cs.learner_version, cs.learner_queued_transitions};
    if (!gate->ShouldWait(snap->version, ack, cs.unacked * chunk_transitions)) break;
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      gave_up = true;
      break;
    }
    waited = true;
    // Acks can change the prediction too: look again every few ms.
    std::shared_ptr<const PolicySnapshot> newer = slot->WaitNewerUntil(
        snap->version, interrupt_, std::min(deadline, now + absl::Milliseconds(5)));
    if (newer != nullptr) {
      snap = std::move(newer);
      gate->SawVersion(snap->version, absl::Now());
    }
  }
  if (waited) {
    absl::MutexLock lock(&mu_);
    ++stats_.flow_control_waits;
    stats_.flow_control_wait_seconds += absl::ToDoubleSeconds(absl::Now() - start);
    if (gave_up) ++stats_.flow_control_timeouts;
  }
  return snap;
}

absl::StatusOr<ActorClient::LoopEnd> ActorClient::StepLoop() {
  SnapshotSlot* slot;
  ChunkSender* sender;
  {
    absl::MutexLock lock(&mu_);
    slot = slot_.get();
    sender = sender_.get();
  }
  const uint64_t max_bytes = hints_.max_message_bytes();
  PolicyLagGate gate(config_.target_policy_lag, config_.batch_transitions);
  std::shared_ptr<const PolicySnapshot> current;
  // Blocked pushing the previous chunk: reported with the next one.
  double send_wait_seconds = 0;
  while (true) {
    // Rollout boundary: the only place the policy changes. Time spent here
    // is the chunk's weights_wait_seconds (sync rounds, flow control, and
    // the first snapshot).
    const absl::Time weights_wait_start = absl::Now();
    std::shared_ptr<const PolicySnapshot> next;
    if (current == nullptr) {
      next = slot->WaitNewer(std::nullopt, interrupt_);
    } else if (config_.sync) {
      // The learner trains on this actor's chunk (acted with current) and
      // publishes a newer version; acting again before it arrives would only
      // produce data for a round that has passed.
      next = slot->WaitNewer(current->version, interrupt_);
    } else {
      next = slot->Latest();
      if (gate.enabled() && next != nullptr) {
        next = AwaitFreshEnough(&gate, slot, sender, std::move(next));
      }
    }
    const double weights_wait_seconds = absl::ToDoubleSeconds(absl::Now() - weights_wait_start);
    if (session_lost_.load() && !stop_.load()) return LoopEnd::kSessionLost;
    if (next != nullptr && next != current && !stop_.load()) {
      PROXIMA_RETURN_IF_ERROR(policy_->SetPolicy(next));
      current = next;
    }

    // A learner that is shutting down refuses every chunk: collecting more
    // would only burn CPU. Wait for Stop() or for the session to end (a
    // restarted learner does not know it, and the actor registers again).
    while (!interrupt_.load() && sender->stats().learner_stopping) {
      SleepUnlessStopped(absl::Milliseconds(20));
    }

    const absl::Time start = absl::Now();
    // Returns at once with 0 steps (and the current obs as bootstrap) when
    // already stopping.
    collector_->Collect(&interrupt_);
    // A remote env whose server failed ends the actor with that error.
    PROXIMA_RETURN_IF_ERROR(envs_->status());
    if (session_lost_.load() && !stop_.load()) return LoopEnd::kSessionLost;
    const bool final = stop_.load();

    ChunkHeader header;
    header.actor_id = actor_id_;
    header.session_id = session_id_;
    header.seq = next_seq_;
    header.policy_version = current != nullptr ? current->version : 0;
    header.final = final;
    header.rollout_seconds = static_cast<float>(absl::ToDoubleSeconds(absl::Now() - start));
    auto chunk = std::make_unique<v1::TrajectoryChunk>();
    collector_->Encode(header, chunk.get());
    chunk->set_env_seconds(static_cast<float>(collector_->env_seconds()));
    chunk->set_inference_seconds(static_cast<float>(collector_->inference_seconds()));
    chunk->set_send_wait_seconds(static_cast<float>(send_wait_seconds));
    chunk->set_weights_wait_seconds(static_cast<float>(weights_wait_seconds));
    if (max_bytes > 0 && chunk->ByteSizeLong() > max_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a chunk of ", collector_->steps(), " steps x ", config_.num_envs, " envs is ",
          chunk->ByteSizeLong(), " bytes, above the learner's max_message_bytes ", max_bytes,
          ": lower --num-envs (or the learner's rollout length)"));
    }
    ++next_seq_;
    {
      absl::MutexLock lock(&mu_);
      ++stats_.chunks;
      stats_.env_steps = TotalEnvSteps();
      stats_.policy_version = header.policy_version;
      stats_.episodes += collector_->episodes().size();
      stats_.env_seconds += collector_->env_seconds();
      stats_.inference_seconds += collector_->inference_seconds();
      stats_.send_wait_seconds += send_wait_seconds;
      stats_.weights_wait_seconds += weights_wait_seconds;
    }
    for (const EpisodeRecord& ep : collector_->episodes()) {
      return_sum_ += ep.episode_return;
      ++return_count_;
    }

    if (final) {
      absl::Status st = sender->PushFinal(&chunk);
      if (!st.ok()) Log(absl::StrCat("final chunk not sent: ", st.message()));
      return LoopEnd::kStopped;
    }
    const absl::Time push_start = absl::Now();
    absl::Status st = sender->Push(&chunk, interrupt_);
    send_wait_seconds = absl::ToDoubleSeconds(absl::Now() - push_start);
    if (absl::IsCancelled(st)) {
      if (session_lost_.load() && !stop_.load()) return LoopEnd::kSessionLost;
      // Stopped while the window was full: this complete rollout becomes the
      // final chunk.
      chunk->set_final(true);
      st = sender->PushFinal(&chunk);
      if (!st.ok()) Log(absl::StrCat("final chunk not sent: ", st.message()));
      return LoopEnd::kStopped;
    }
    if (!st.ok()) {
      if (stop_.load()) return LoopEnd::kStopped;
      // The sender's message names why; its on_session_lost may not have run
      // yet, and Run() logs the reason recorded first.
      OnSessionLost(st.message());
      return LoopEnd::kSessionLost;
    }
    MaybeLogThroughput(false);
  }
}

absl::Status ActorClient::RunSessions() {
  PROXIMA_RETURN_IF_ERROR(options_.Validate());
  ConfigureCpuThreads(options_.threads);
  channel_ = MakeLearnerChannel(options_.learner_address, hints_, options_.security);
  stub_ = v1::Learner::NewStub(channel_);
  last_log_time_ = absl::Now();
  while (true) {
    absl::StatusOr<v1::RegisterResponse> response = Register();
    if (!response.ok()) {
      if (stop_.load()) return absl::OkStatus();
      return response.status();
    }
    absl::StatusOr<ActorRunConfig> config = ActorRunConfigFromProto(response->config());
    if (!config.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot serve the learner's run config: ", config.status().message()));
    }
    PROXIMA_RETURN_IF_ERROR(CheckEnvSpec(response->config(), config->env_spec));
    PROXIMA_RETURN_IF_ERROR(Setup(*config));
    StartSession(*response);
    Log(absl::StrFormat(
        "registered with %s as actor %d, session %016x: %s, %d envs x %d steps per chunk, %s "
        "mode, learner version %d",
        options_.learner_address, actor_id_, session_id_, config_.env_id, config_.num_envs,
        config_.rollout_length, config_.sync ? "sync" : "async", response->policy_version()));

    absl::StatusOr<LoopEnd> end = StepLoop();
    if (!end.ok()) {
      EndSession(false);
      return end.status();
    }
    if (*end == LoopEnd::kStopped) {
      MaybeLogThroughput(true);
      EndSession(true);
      const Stats s = stats();
      Log(absl::StrFormat(
          "stopped after %d env steps: %d chunk(s) in session %016x, %d acked in all sessions "
          "(%d accepted, %d duplicate)",
          s.env_steps, next_seq_, session_id_, s.chunks_acked, s.chunks_accepted,
          s.duplicate_acks));
      return absl::OkStatus();
    }
    std::string reason;
    {
      absl::MutexLock lock(&mu_);
      reason = lost_reason_;
    }
    EndSession(false);
    if (stop_.load()) return absl::OkStatus();
    Log(absl::StrCat("session lost", reason.empty() ? "" : absl::StrCat(" (", reason, ")"),
                     "; dropping its unacknowledged chunks and registering again"));
  }
}

}  // namespace proxima
