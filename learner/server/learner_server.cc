// LearnerServer: the wiring of the learner's parts (learner_server.h has the
// threads and the contract). Each part owns its state and its lock:
//
//   TrajectoryQueue   trajectory_queue.h   bounded, closable; wakes the trainer
//   ChunkAccounting   chunk_accounting.h   received = trained + dropped + queued
//   RunProgress       run_progress.h       version, steps, episodes, metrics
//   SessionRegistry   session_registry.h   actors, sessions, their streams
//   WeightPublisher   weight_publisher.h   serialize once, latest-wins
//   ChunkIntake       chunk_intake.h       the decision table for each chunk
//   TrainerLoop       trainer_loop.h       batcher.h, updates, checkpoints, Admin
//   reactors          stream_reactors.h    trajectory, weight, metrics streams
//   MetricsFeed       metrics_feed.h       the WatchMetrics streams
//   services          services.h           Learner, Monitor, Admin
//
// Lock order. No part locks another's mutex, and no part calls out while it
// holds its own, with two exceptions, both one level deep:
//   stream reactor mutex → WeightPublisher / RunProgress / Prometheus
//     exporter (a weight or metrics stream pulls its next message), and
//   ChunkAccounting mutex → the test hook (LearnerTestHooks::on_chunk_done).
// Impl's own mutex (the lifecycle) is a leaf.
#include "learner/server/learner_server.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/policy/cpu_threads.h"
#include "common/envs/registry.h"
#include "common/file_util.h"
#include "common/grpc/channel_security.h"
#include "common/grpc/grpc_util.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "learner/ppo_updater.h"
#include "learner/periodic_eval.h"
#include "learner/server/actor_registration.h"
#include "learner/server/chunk_intake.h"
#include "learner/server/dashboard.h"
#include "learner/server/lag_report.h"
#include "learner/server/learner_status.h"
#include "learner/server/metrics_feed.h"
#include "learner/server/prometheus_exporter.h"
#include "learner/server/run_origin.h"
#include "learner/server/services.h"
#include "learner/server/trainer_loop.h"
#include "learner/tensorboard_writer.h"

namespace proxima {

class LearnerServer::Impl final : public WeightHost, public ServiceHost {
 public:
  Impl(const PpoConfig& config, const LearnerOptions& options)
      : config_(config), options_(options) {}

  absl::Status Init();
  absl::Status Start();
  absl::StatusOr<RunSummary> Wait();
  void RequestStop(const std::string& reason, bool save = true);
  void Shutdown();

  // WeightHost.
  std::shared_ptr<const PublishedWeights> LatestWeights() const override {
    return publisher_.Latest();
  }
  void WeightsDelivered(ServerClock::time_point published) override {
    if (metrics_) metrics_->ObserveBroadcastSeconds(Seconds(ServerClock::now() - published));
  }
  void WatchDone(WeightStream* w, uint64_t session_id) override {
    sessions_->WatchDone(w, session_id);
    publisher_.RemoveListener(w);
    queue_->Wake();
  }
  // ServiceHost.
  grpc::Status Authorize(grpc::CallbackServerContext* ctx, Access access) const override {
    return security_.auth->Check(ctx->client_metadata(), access);
  }
  TrajectoryHost* trajectory_host() override { return intake_.get(); }
  WeightHost* weight_host() override { return this; }
  MetricsHost* metrics_host() override { return feed_.get(); }
  grpc::Status Register(const v1::RegisterRequest& req, v1::RegisterResponse* resp) override;
  grpc::Status AttachWatch(const v1::WatchWeightsRequest& req,
                           const std::shared_ptr<WeightStream>& w) override;
  v1::LearnerStatus Status(bool include_actors) const override {
    return BuildStatus({progress_.get(), sessions_.get(), queue_.get(), &accounting_,
                        trainer_.get(), serving(), started_at_, config_.env_id, run_dir_,
                        instance_id_, &times_},
                       include_actors);
  }
  void AttachMetricsWatch(const std::shared_ptr<MetricsStream>& m) override {
    feed_->Attach(m);
  }
  void RequestCheckpoint(
      const std::string& tag,
      std::function<void(absl::StatusOr<v1::CheckpointInfo>)> done) override {
    if (!trainer_->RequestCheckpoint(done, tag)) {
      done(absl::UnavailableError("the learner is stopping"));
    }
  }
  bool paused() const override { return trainer_->paused(); }
  void SetPaused(bool paused) override { trainer_->SetPaused(paused); }
  uint64_t version() const override { return progress_->version(); }
  v1::SetHyperparametersResponse SetHyperparameters(
      const v1::SetHyperparametersRequest& req) override {
    return trainer_->SetHyperparameters(req);
  }
  void RequestShutdown(bool save, std::function<void(v1::ShutdownResponse)> done) override {
    {
      absl::MutexLock l(&life_mu_);
      shutdown_requests_.push_back(std::move(done));
    }
    RequestStop("Admin.Shutdown", save);
  }

  v1::ServingState serving() const {
    absl::MutexLock l(&life_mu_);
    return serving_;
  }
  // In-process calls carry the internal token (all roles; it never leaves
  // this process), so they pass the same checks as calls from the network.
  std::shared_ptr<grpc::Channel> InProcessChannel() {
    return server_->experimental().InProcessChannelWithInterceptors(
        grpc::ChannelArguments(), ChannelSecurity::TokenOnly(security_.internal_token).Interceptors());
  }

 private:
  friend class LearnerServer;
  void AfterUpdate();

  PpoConfig config_;
  LearnerOptions options_;
  std::string run_dir_, address_, instance_id_;
  EnvSpec spec_;
  std::unique_ptr<PpoUpdater> updater_;
  std::unique_ptr<MetricsCsv> csv_;
  std::unique_ptr<TensorBoardWriter> tensorboard_;  // RUN_DIR/events.out.tfevents.*
  CallSecurity security_;  // set in Init()
  absl::Time started_at_;
  LearnerTestHooks test_hooks_;  // set before Start(), then read-only

  // The parts (learner_server.cc's header comment).
  ChunkAccounting accounting_;
  WeightPublisher publisher_;
  std::unique_ptr<RunProgress> progress_;
  std::unique_ptr<SessionRegistry> sessions_;
  std::unique_ptr<TrajectoryQueue> queue_;
  TimeBreakdownTracker times_;  // where the time goes (issue 18)
  std::unique_ptr<ChunkIntake> intake_;
  std::unique_ptr<MetricsFeed> feed_;
  std::unique_ptr<PeriodicEvaluator> evaluator_;  // --eval-every; the trainer thread uses it
  std::unique_ptr<TrainerLoop> trainer_;
  std::unique_ptr<LearnerServices> services_;
  std::unique_ptr<grpc::Server> server_;

  mutable absl::Mutex life_mu_;  // a leaf
  v1::ServingState serving_ ABSL_GUARDED_BY(life_mu_) = v1::SERVING_STATE_STARTING;
  bool stop_requested_ ABSL_GUARDED_BY(life_mu_) = false;
  bool stop_save_ ABSL_GUARDED_BY(life_mu_) = true;
  std::string stop_reason_ ABSL_GUARDED_BY(life_mu_);
  std::vector<std::function<void(v1::ShutdownResponse)>> shutdown_requests_
      ABSL_GUARDED_BY(life_mu_);
  double last_progress_ = -1;  // trainer thread, then main thread after Join
  bool shut_down_ = false;     // Wait() completed (main thread only)

  // Set in Start() before anything serves; declared last so that it stops
  // scraping Status() before any other member goes away.
  std::unique_ptr<PrometheusExporter> metrics_;
  std::unique_ptr<Dashboard> dashboard_;  // the same, for the dashboard's Status(true)
};

absl::Status LearnerServer::Impl::Init() {
  started_at_ = absl::Now();
  PROXIMA_RETURN_IF_ERROR(options_.Validate());
  // Before anything is created: bad certificates or tokens are flag errors.
  PROXIMA_ASSIGN_OR_RETURN(security_, LoadCallSecurity(&options_));
  PROXIMA_ASSIGN_OR_RETURN(RunOrigin origin, ResolveRunOrigin(options_, &config_));
  run_dir_ = origin.run_dir;
  PROXIMA_RETURN_IF_ERROR(config_.Validate());
  PROXIMA_ASSIGN_OR_RETURN(spec_, GetEnvSpec(config_.env_id));
  PROXIMA_ASSIGN_OR_RETURN(torch::Device device, ResolveDevice(config_.device));
  ConfigureCpuThreads(config_.torch_threads);
  PROXIMA_ASSIGN_OR_RETURN(updater_, PpoUpdater::Create(config_, spec_, device));
  LogInfo(absl::StrCat("PPO update engine: ", updater_->engine_description()));
  progress_ = std::make_unique<RunProgress>(
      spec_.has_reward_threshold ? std::optional<double>(spec_.reward_threshold) : std::nullopt);
  sessions_ = std::make_unique<SessionRegistry>(options_.max_actors,
                                                options_.max_chunks_per_second);
  if (const std::optional<LoadedCheckpoint>& resume = origin.resume) {
    PROXIMA_RETURN_IF_ERROR(RestoreCheckpoint(resume->path, *updater_));
    progress_->Restore(resume->counters);
    sessions_->RestoreActorIds(resume->counters.actor_ids);
    LogInfo(absl::StrFormat("resumed %s at version %llu (%lld env steps)", resume->path,
                            static_cast<unsigned long long>(progress_->version()),
                            static_cast<long long>(progress_->env_steps())));
  }
  PROXIMA_RETURN_IF_ERROR(InitRunDir(run_dir_, config_));
  PROXIMA_RETURN_IF_ERROR(MakeDirs(run_dir_ + "/checkpoints"));
  // A resumed run keeps the rows of its earlier updates (up to its checkpoint).
  PROXIMA_ASSIGN_OR_RETURN(
      csv_, origin.resume ? MetricsCsv::Continue(run_dir_ + "/metrics.csv",
                                                 origin.resume->counters.updates)
                          : MetricsCsv::Open(run_dir_ + "/metrics.csv"));
  PROXIMA_ASSIGN_OR_RETURN(tensorboard_, TensorBoardWriter::Open(run_dir_));
  if (options_.queue_capacity == 0) {
    options_.queue_capacity = 2 * static_cast<int64_t>(config_.batch_size());
  }
  instance_id_ = NewLearnerInstanceId(config_.env_id);
  queue_ = std::make_unique<TrajectoryQueue>(options_.queue_capacity);
  TrainerLoop::Deps t{
      updater_.get(), queue_.get(), &accounting_, sessions_.get(), progress_.get(), &publisher_,
      csv_.get(), tensorboard_.get(),
      [this] { return test_hooks_.fail_update && test_hooks_.fail_update(); },
      [this](std::vector<TrajectoryQueue::Released> r) { intake_->ResumeHeld(std::move(r)); },
      [this](double s) {
        if (metrics_) metrics_->ObserveUpdateSeconds(s);
      },
      [this] { AfterUpdate(); },
      [this](const std::string& reason) { RequestStop(reason, true); }};
  PROXIMA_ASSIGN_OR_RETURN(
      evaluator_, PeriodicEvaluator::Create(config_, options_.eval, run_dir_ + "/checkpoints"));
  t.evaluator = evaluator_.get();
  trainer_ = std::make_unique<TrainerLoop>(std::move(t), config_, options_, run_dir_);
  trainer_->SetTimeBreakdown(&times_);
  ChunkIntake::Deps in{sessions_.get(), queue_.get(), &accounting_, progress_.get(),
                       [this] { return serving() == v1::SERVING_STATE_SERVING; },
                       [this] { return trainer_->paused(); },
                       [this] { return trainer_->max_policy_lag(); }};
  intake_ = std::make_unique<ChunkIntake>(std::move(in),
                                          ChunkIntake::Options::Of(spec_, config_, options_));
  intake_->SetTimeBreakdown(&times_);
  feed_ = std::make_unique<MetricsFeed>(progress_.get());
  return absl::OkStatus();
}

absl::Status LearnerServer::Impl::Start() {
  if (!options_.metrics_listen.empty()) {
    PROXIMA_ASSIGN_OR_RETURN(metrics_, PrometheusExporter::Start(options_.metrics_listen, [this] {
                               return Status(false);
                             }));
    PROXIMA_RETURN_IF_ERROR(
        WriteFileAtomic(run_dir_ + "/metrics.addr", metrics_->address() + "\n"));
  }
  if (!options_.dashboard_listen.empty()) {
    PROXIMA_ASSIGN_OR_RETURN(
        dashboard_, Dashboard::Start(options_.dashboard_listen,
                                     {[this] { return Status(true); }, progress_.get(),
                                      security_.auth.get()}));
    PROXIMA_RETURN_IF_ERROR(
        WriteFileAtomic(run_dir_ + "/dashboard.addr", dashboard_->address() + "\n"));
  }
  services_ = std::make_unique<LearnerServices>(this);
  int port = 0;
  server_ = StartGrpcServer(options_, security_.credentials, services_.get(), &port);
  if (!server_ || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen,
                                               " (address in use or invalid?)"));
  }
  address_ = DialableAddress(options_.listen, port);
  trainer_->Publish();
  PROXIMA_RETURN_IF_ERROR(WriteFileAtomic(run_dir_ + "/learner.addr", address_ + "\n"));
  {
    absl::MutexLock l(&life_mu_);
    serving_ = v1::SERVING_STATE_SERVING;
  }
  server_->GetHealthCheckService()->SetServingStatus(true);
  trainer_->Start();
  return absl::OkStatus();
}

grpc::Status LearnerServer::Impl::Register(const v1::RegisterRequest& req,
                                           v1::RegisterResponse* resp) {
  const RegistrationContext ctx{config_, options_, spec_, progress_->version(), instance_id_,
                                serving() == v1::SERVING_STATE_SERVING};
  grpc::Status s = RegisterActor(req, ctx, sessions_.get(), resp);
  if (s.ok()) queue_->Wake();  // a sync round may stop waiting for a superseded session
  return s;
}

grpc::Status LearnerServer::Impl::AttachWatch(const v1::WatchWeightsRequest& req,
                                              const std::shared_ptr<WeightStream>& w) {
  absl::StatusOr<std::shared_ptr<WeightStream>> old = sessions_->AttachWatch(
      req.session_id(), w, serving() == v1::SERVING_STATE_SERVING);
  if (!old.ok()) return ToGrpcStatus(old.status());
  if (*old) {
    (*old)->Abort(grpc::Status(grpc::StatusCode::ABORTED, "a newer WatchWeights replaced this one"));
  }
  if (!publisher_.AddListener(w)) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the learner is stopping");
  }
  queue_->Wake();
  return grpc::Status::OK;
}

void LearnerServer::Impl::AfterUpdate() {
  feed_->Notify();
  const double now = Seconds(ServerClock::now().time_since_epoch());
  if (!options_.progress || now - last_progress_ < 0.5) return;
  last_progress_ = now;
  PrintProgressLine(Status(false), config_.env_id, config_.total_steps);
}

void LearnerServer::Impl::RequestStop(const std::string& reason, bool save) {
  {
    absl::MutexLock l(&life_mu_);
    if (stop_requested_) return;
    stop_requested_ = true;
    stop_save_ = save;
    stop_reason_ = reason;
    if (serving_ == v1::SERVING_STATE_SERVING) serving_ = v1::SERVING_STATE_DRAINING;
  }
  // Health first, so load balancers and `proxima health` see it at once.
  if (server_) server_->GetHealthCheckService()->SetServingStatus(false);
  queue_->Close();  // the trainer finishes its current update and stops
}

absl::StatusOr<RunSummary> LearnerServer::Impl::Wait() {
  {
    absl::MutexLock l(&life_mu_);
    life_mu_.Await(absl::Condition(&stop_requested_));
  }
  if (!shut_down_) Shutdown();
  shut_down_ = true;
  RunSummary s;
  s.env = config_.env_id;
  s.seed = config_.seed;
  s.mode = options_.mode == TrainingModeKind::kSync ? "sync" : "async";
  s.device = trainer_->device();
  s.actors = sessions_->actors();
  progress_->FillSummary(&s);
  // After Shutdown nothing is queued: what was is dropped at shutdown, and
  // the server has stopped taking chunks.
  v1::LearnerStatus counts;
  accounting_.FillStatus(&counts);
  FillSummaryAccounting(counts, &s);
  v1::LearnerStatus times;
  times_.Fill(&times);
  s.time_seconds = StageSeconds(times.time_total());
  s.bottleneck = times.bottleneck();
  if (evaluator_) evaluator_->FillSummary(&s);
  absl::Status w = WriteSummary(run_dir_, s);
  if (!w.ok()) return w;
  return s;
}

void LearnerServer::Impl::Shutdown() {
  // 1. The trainer finishes its current update and stops (the queue is
  //    closed).
  trainer_->Join();
  bool save;
  {
    absl::MutexLock l(&life_mu_);
    save = stop_save_;
  }
  std::vector<TrainerLoop::CheckpointDone> ckpt_done = trainer_->TakeCheckpointRequests();
  // 2. Everything still queued or held is dropped (counted).
  intake_->DropAllAtShutdown();
  // 3. Final checkpoint.
  absl::StatusOr<v1::CheckpointInfo> final_ckpt = absl::CancelledError("not saved");
  if (save) final_ckpt = trainer_->Checkpoint();
  for (auto& d : ckpt_done) d(final_ckpt);
  std::vector<std::function<void(v1::ShutdownResponse)>> shutdown_done;
  std::string reason;
  {
    absl::MutexLock l(&life_mu_);
    serving_ = v1::SERVING_STATE_STOPPED;
    shutdown_done.swap(shutdown_requests_);
    reason = stop_reason_;
  }
  v1::ShutdownResponse resp;
  if (final_ckpt.ok()) *resp.mutable_final_checkpoint() = *final_ckpt;
  resp.set_policy_version(version());
  for (auto& d : shutdown_done) d(resp);
  // 4. Close every stream with OK, then stop the server.
  for (auto& s : sessions_->OpenStreams()) s->Abort(grpc::Status::OK);
  publisher_.Close();
  feed_->Close();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(
                          static_cast<int64_t>(options_.grace_period_seconds * 250)));
    server_->Wait();
  }
  if (options_.progress) {
    PrintProgressLine(Status(false), config_.env_id, config_.total_steps);
    if (::isatty(STDERR_FILENO)) LogRaw("\n");
  }
  LogInfo(absl::StrFormat("stopped (%s) at version %llu", reason,
                          static_cast<unsigned long long>(version())));
}

// ---------------------------------------------------------------------------

LearnerServer::LearnerServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

void LearnerServer::SetTestHooks(LearnerTestHooks hooks) {
  impl_->accounting_.SetFateHook(hooks.on_chunk_done);
  impl_->test_hooks_ = std::move(hooks);
}

LearnerServer::~LearnerServer() {
  if (impl_ && impl_->server_ && !impl_->shut_down_) {
    impl_->RequestStop("destroyed", false);
    (void)impl_->Wait();
  }
}

absl::StatusOr<std::unique_ptr<LearnerServer>> LearnerServer::Create(
    const PpoConfig& config, const LearnerOptions& options) {
  auto impl = std::make_unique<Impl>(config, options);
  PROXIMA_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<LearnerServer>(new LearnerServer(std::move(impl)));
}

absl::Status LearnerServer::Start() { return impl_->Start(); }
std::string LearnerServer::address() const { return impl_->address_; }
std::string LearnerServer::metrics_address() const {
  return impl_->metrics_ ? impl_->metrics_->address() : std::string();
}
std::string LearnerServer::dashboard_address() const {
  return impl_->dashboard_ ? impl_->dashboard_->address() : std::string();
}
const std::string& LearnerServer::run_dir() const { return impl_->run_dir_; }
absl::StatusOr<RunSummary> LearnerServer::Wait() { return impl_->Wait(); }
void LearnerServer::RequestStop(const std::string& reason) { impl_->RequestStop(reason); }
void LearnerServer::SetPaused(bool paused) { impl_->SetPaused(paused); }
v1::LearnerStatus LearnerServer::Status(bool include_actors) const {
  return impl_->Status(include_actors);
}
std::shared_ptr<grpc::Channel> LearnerServer::InProcessChannel() {
  return impl_->InProcessChannel();
}

}  // namespace proxima
