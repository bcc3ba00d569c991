#include "actor/actor_client.h"

#include <unistd.h>

#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "actor/actor_session.h"
#include "actor/chunk_sender.h"
#include "actor/registration.h"
#include "actor/registration_retry.h"
#include "actor/seq_generator.h"
#include "common/policy/cpu_threads.h"
#include "common/envs/vector_env.h"
#include "common/grpc/grpc_util.h"
#include "common/logging.h"
#include "common/policy/policy_inference.h"
#include "common/policy/policy_snapshot.h"
#include "common/policy/rollout_collector.h"
#include "common/rng.h"
#include "common/status_macros.h"

namespace proxima {
namespace {

std::string Hostname() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
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
  if (remote_env_columns < -1 || remote_env_columns > 65536) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--remote-env-columns must be in [-1, 65536]: env columns per batched session of a "
        "remote env, 0 = all in one, -1 = one single-env session per column (got ",
        remote_env_columns, ")"));
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

ActorClient::ActorClient(Options options)
    : options_(std::move(options)), throughput_(options_.log_interval) {
  hostname_ = Hostname();
  name_ = options_.name.empty() ? absl::StrCat(hostname_, ":", ::getpid()) : options_.name;
  RegistrationRetry::Options ro;
  ro.learner_address = options_.learner_address;
  ro.actor_name = name_;
  ro.log = [this](absl::string_view line) { Log(std::string(line)); };
  // Runs on the stepping thread, the only one that uses hints_.
  ro.new_channel = [this] {
    return MakeLearnerChannel(options_.learner_address, hints_, options_.security);
  };
  registration_ = std::make_unique<RegistrationRetry>(std::move(ro));
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
  registration_->Cancel();
  WakeAll();
}

void ActorClient::WakeAll() {
  absl::MutexLock lock(&mu_);
  if (session_) session_->Wake();
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
    stopping = session_ != nullptr && session_->sender()->stats().learner_stopping;
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

  ActorSession::Options so;
  so.actor_id = actor_id_;
  so.session_id = session_id_;
  so.shape = PolicyShape{config_.env_spec.obs_dim(), config_.env_spec.action_space, config_.model};
  so.hints = hints_;
  if (generator_ != nullptr) {
    // The generator verifies and loads the snapshot at a chunk boundary.
    so.decode = [](const v1::WeightSnapshot& proto)
        -> absl::StatusOr<std::shared_ptr<const PolicySnapshot>> {
      auto snapshot = std::make_shared<PolicySnapshot>();
      snapshot->version = proto.version();
      snapshot->sequence = std::make_shared<const v1::WeightSnapshot>(proto);
      return std::shared_ptr<const PolicySnapshot>(std::move(snapshot));
    };
  }
  so.log = [this](absl::string_view line) { Log(std::string(line)); };
  so.on_session_lost = [this](absl::string_view reason) { OnSessionLost(reason); };
  auto session = std::make_unique<ActorSession>(stub_.get(), std::move(so));
  // Only this (the stepping) thread replaces the session, so the pointer
  // stays valid after the lock is released.
  ActorSession* const started = session.get();
  {
    absl::MutexLock lock(&mu_);
    session_ = std::move(session);
    ++stats_.registrations;
    stats_.actor_id = actor_id_;
    stats_.session_id = session_id_;
    lost_reason_.clear();
  }
  started->Start();
}

ActorSession* ActorClient::CurrentSession() {
  absl::MutexLock lock(&mu_);
  return session_.get();
}

void ActorClient::EndSession(bool graceful) {
  std::unique_ptr<ActorSession> session;
  {
    // Taken out under the lock, ended outside it: its threads may be
    // calling OnSessionLost, which takes mu_.
    absl::MutexLock lock(&mu_);
    session = std::move(session_);
  }
  if (session == nullptr) return;
  const ChunkSender::Stats cs =
      session->Finish(graceful, options_.final_ack_timeout, options_.close_grace);
  {
    absl::MutexLock lock(&mu_);
    stats_.chunks_acked += cs.acked;
    stats_.chunks_accepted += cs.accepted;
    stats_.duplicate_acks += cs.duplicates;
    stats_.reconnects += cs.reconnects;
  }
  session.reset();
}

int64_t ActorClient::TotalEnvSteps() const {
  return env_steps_before_ + generated_tokens_ +
         (collector_ != nullptr ? collector_->total_env_steps() : 0);
}

void ActorClient::MaybeLogThroughput(bool force) {
  const absl::Time now = absl::Now();
  if (!throughput_.Due(now, force)) return;
  const Stats s = stats();
  ChunkSender::Stats cs;
  {
    absl::MutexLock lock(&mu_);
    if (session_) cs = session_->sender()->stats();
  }
  ThroughputLog::Sample sample;
  sample.env_steps = TotalEnvSteps();
  sample.policy_version = s.policy_version;
  sample.learner_version = cs.learner_version;
  sample.chunks_acked = s.chunks_acked + cs.acked;
  sample.unacked = cs.unacked;
  sample.episodes = s.episodes;
  sample.flow_control_wait_seconds = s.flow_control_wait_seconds;
  Log(throughput_.Line(now, sample));
}

std::shared_ptr<const PolicySnapshot> ActorClient::BoundarySnapshot(SnapshotSlot* slot,
                                                                   const PolicySnapshot* current,
                                                                   bool sync) {
  if (current == nullptr) return slot->WaitNewer(std::nullopt, interrupt_);
  if (sync) return slot->WaitNewer(current->version, interrupt_);
  return slot->Latest();
}

std::optional<ActorClient::LoopEnd> ActorClient::PushOrEnd(
    ChunkSender* sender, std::unique_ptr<v1::TrajectoryChunk>* chunk,
    double* send_wait_seconds) {
  const absl::Time push_start = absl::Now();
  absl::Status st = sender->Push(chunk, interrupt_);
  *send_wait_seconds = absl::ToDoubleSeconds(absl::Now() - push_start);
  if (absl::IsCancelled(st)) {
    if (session_lost_.load() && !stop_.load()) return LoopEnd::kSessionLost;
    // Stopped while the window was full: this complete rollout becomes the
    // final chunk.
    (*chunk)->set_final(true);
    st = sender->PushFinal(chunk);
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
  return std::nullopt;
}

absl::Status ActorClient::RunSessions() {
  PROXIMA_RETURN_IF_ERROR(options_.Validate());
  ConfigureCpuThreads(options_.threads);
  channel_ = MakeLearnerChannel(options_.learner_address, hints_, options_.security);
  stub_ = v1::Learner::NewStub(channel_);
  throughput_.Start(absl::Now());
  while (true) {
    absl::StatusOr<v1::RegisterResponse> response = registration_->Register(
        &channel_, hints_, MakeRegisterRequest(name_, hostname_, options_.num_envs));
    stub_ = v1::Learner::NewStub(channel_);  // the channel may be a new one
    if (!response.ok()) {
      if (stop_.load()) return absl::OkStatus();
      return response.status();
    }
    const bool sequence = response->config().has_sequence();
    if (sequence) {
      PROXIMA_RETURN_IF_ERROR(SetupSequence(response->config()));
      StartSession(*response);
      const v1::SequenceRunConfig& sc = response->config().sequence();
      Log(absl::StrFormat(
          "registered with %s as actor %d, session %016x: sequence run of %s, %d prompts x %d "
          "completions per chunk, learner version %d",
          options_.learner_address, actor_id_, session_id_, response->config().env_id(),
          sc.prompts_per_chunk(), sc.group_size(), response->policy_version()));
    } else {
      generator_.reset();
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
    }

    absl::StatusOr<LoopEnd> end = sequence ? GenerateLoop() : StepLoop();
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
