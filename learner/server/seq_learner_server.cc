// SeqLearnerServer: the wiring of a sequence run's learner
// (seq_learner_server.h has the contract). Lock order as in
// learner_server.cc; the evaluator's mutex and Impl's lifecycle mutex are
// leaves.
#include "learner/server/seq_learner_server.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/file_util.h"
#include "common/grpc/channel_security.h"
#include "common/grpc/grpc_util.h"
#include "common/logging.h"
#include "common/policy/weight_codec.h"
#include "common/rng.h"
#include "common/status_macros.h"
#include "common/wire/seq_chunk_validator.h"
#include "learner/lm/seq_checkpoint.h"
#include "learner/server/actor_registration.h"
#include "learner/server/chunk_intake.h"
#include "learner/server/learner_status.h"
#include "learner/server/metrics_feed.h"
#include "learner/server/prometheus_exporter.h"
#include "learner/server/run_progress.h"
#include "learner/server/seq_evaluator.h"
#include "learner/server/seq_rounds.h"
#include "learner/server/seq_run_record.h"
#include "learner/server/seq_run_start.h"
#include "learner/server/services.h"
#include "learner/server/session_registry.h"
#include "learner/server/weight_publisher.h"

namespace proxima {

class SeqLearnerServer::Impl final : public WeightHost, public ServiceHost {
 public:
  Impl(const SeqLearnerConfig& config, const LearnerOptions& options)
      : config_(config), options_(options) {}

  absl::Status Init();
  absl::Status Start();
  void Wait();
  void RequestStop(const std::string& reason);

  // WeightHost.
  std::shared_ptr<const PublishedWeights> LatestWeights() const override {
    return publisher_.Latest();
  }
  void WeightsDelivered(ServerClock::time_point) override {}
  void WatchDone(WeightStream* w, uint64_t session_id) override {
    sessions_->WatchDone(w, session_id);
    publisher_.RemoveListener(w);
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
  v1::LearnerStatus Status(bool include_actors) const override;
  void AttachMetricsWatch(const std::shared_ptr<MetricsStream>& m) override { feed_->Attach(m); }
  void RequestCheckpoint(const std::string&,
                         std::function<void(absl::StatusOr<v1::CheckpointInfo>)> done) override {
    done(absl::UnimplementedError("a sequence run writes no checkpoints yet (issue 25)"));
  }
  bool paused() const override { return false; }
  void SetPaused(bool) override {}
  uint64_t version() const override { return progress_->version(); }
  v1::SetHyperparametersResponse SetHyperparameters(
      const v1::SetHyperparametersRequest& req) override {
    v1::SetHyperparametersResponse resp;
    for (const auto& kv : req.values()) {
      v1::HyperparameterError* e = resp.add_errors();
      e->set_key(kv.first);
      e->set_message("a sequence run has no trainer hyperparameters yet");
    }
    return resp;
  }
  void RequestShutdown(bool, std::function<void(v1::ShutdownResponse)> done) override {
    RequestStop("Admin.Shutdown");
    v1::ShutdownResponse resp;
    resp.set_policy_version(version());
    done(resp);
  }

  bool serving() const {
    absl::MutexLock l(&life_mu_);
    return serving_ == v1::SERVING_STATE_SERVING;
  }
  std::shared_ptr<grpc::Channel> InProcessChannel() {
    return server_->experimental().InProcessChannelWithInterceptors(
        grpc::ChannelArguments(),
        ChannelSecurity::TokenOnly(security_.internal_token).Interceptors());
  }

 private:
  friend class SeqLearnerServer;
  // The evaluator thread: takes accepted chunks off the queue until it closes.
  void EvaluateLoop();
  // --mode sync: the chunk thread's loop instead, a round per update.
  void SyncLoop();
  // With training: adds `c` to the batch and trains when it is full (sync:
  // when `round_ends`).
  void TrainOn(QueuedChunk c, bool round_ends = false);

  absl::Status CheckAndDecode(const v1::TrajectoryChunk& chunk, QueuedChunk* q) const;

  SeqLearnerConfig config_;
  LearnerOptions options_;
  CallSecurity security_;
  std::string address_, instance_id_;
  absl::Time started_at_;
  lm::SeqPolicy model_{nullptr};

  ChunkAccounting accounting_;
  WeightPublisher publisher_;
  std::unique_ptr<RunProgress> progress_;
  std::unique_ptr<SessionRegistry> sessions_;
  std::unique_ptr<TrajectoryQueue> queue_;
  std::unique_ptr<SequenceEvaluator> evaluator_;
  std::unique_ptr<SeqTraining> training_;  // null: evaluate only
  std::unique_ptr<Batcher> rounds_;        // --mode sync only
  std::unique_ptr<ChunkIntake> intake_;
  std::unique_ptr<MetricsFeed> feed_;
  std::unique_ptr<LearnerServices> services_;
  std::unique_ptr<grpc::Server> server_;
  std::thread evaluator_thread_;

  // With training: the held-out evaluations, the run directory and the end
  // of the run (null without training).
  std::unique_ptr<SeqRunRecord> record_;
  // The held-out prompts' draw (the chunk-count evaluations too): those
  // `proxima lm sft` evaluated the init checkpoint on, so the figures compare.
  uint64_t held_out_seed_ = 1;

  mutable absl::Mutex life_mu_;  // a leaf
  v1::ServingState serving_ ABSL_GUARDED_BY(life_mu_) = v1::SERVING_STATE_STARTING;
  bool stop_requested_ ABSL_GUARDED_BY(life_mu_) = false;
  bool shut_down_ = false;  // Wait() completed (main thread only)

  // --metrics-listen; declared last so that it stops scraping Status()
  // before any other member goes away.
  std::unique_ptr<PrometheusExporter> metrics_;
};

absl::Status SeqLearnerServer::Impl::Init() {
  started_at_ = absl::Now();
  PROXIMA_RETURN_IF_ERROR(options_.Validate());
  PROXIMA_ASSIGN_OR_RETURN(security_, LoadCallSecurity(&options_));
  PROXIMA_ASSIGN_OR_RETURN(SeqRunStart start, PrepareSeqRunStart(&config_));
  model_ = start.model;
  held_out_seed_ = start.held_out_seed;
  const uint64_t start_version = start.version;
  PROXIMA_ASSIGN_OR_RETURN(evaluator_, SequenceEvaluator::Create(config_.run, model_));
  if (config_.training.has_value()) {
    PROXIMA_ASSIGN_OR_RETURN(training_,
                             SeqTraining::Create(model_, start.reference, *config_.training));
    SeqRunRecord::Settings rs;
    rs.max_updates = config_.max_updates;
    rs.eval_every_updates = config_.eval_every_updates;
    rs.held_out_prompts = config_.held_out_prompts;
    rs.held_out_seed = held_out_seed_;
    rs.start_version = start_version;
    rs.resumed = config_.resume;
    rs.reward = config_.training->reward;
    record_ = std::make_unique<SeqRunRecord>(rs, std::move(start.files), start.checkpoint, model_,
                                             evaluator_.get(), started_at_,
                                             [this] { return Status(false); });
  }
  progress_ = std::make_unique<RunProgress>(std::nullopt);
  if (start_version > 0) {
    CheckpointCounters counters;
    counters.policy_version = start_version;
    counters.updates = static_cast<int64_t>(start_version);
    progress_->Restore(counters);
  }
  sessions_ = std::make_unique<SessionRegistry>(options_.max_actors,
                                                options_.max_chunks_per_second);
  if (options_.queue_capacity == 0) {
    // Completion tokens: a few chunks of the largest size.
    options_.queue_capacity = 4 * static_cast<int64_t>(config_.run.group_size) *
                              config_.run.prompts_per_chunk * config_.run.max_new_tokens;
  }
  queue_ = std::make_unique<TrajectoryQueue>(options_.queue_capacity);
  instance_id_ = NewLearnerInstanceId(config_.run.task_id);
  ChunkIntake::Deps in{sessions_.get(), queue_.get(), &accounting_, progress_.get(),
                       [this] { return serving(); }, [] { return false; },
                       [] { return std::numeric_limits<int>::max(); }};
  ChunkIntake::Options o;
  o.max_message_bytes = options_.max_message_bytes;
  o.sequence_payload = [this](const v1::TrajectoryChunk& c, QueuedChunk* q) {
    return CheckAndDecode(c, q);
  };
  o.sequence_rejected = [this](const absl::Status& error) {
    const std::string m(error.message());
    evaluator_->CountRejected(m.substr(0, m.find(':')));
  };
  intake_ = std::make_unique<ChunkIntake>(std::move(in), std::move(o));
  if (config_.sync) {
    if (!training_) return absl::InvalidArgumentError("--mode sync needs training (--algo)");
    rounds_ = MakeSeqRoundBatcher(queue_.get(), sessions_.get(), &accounting_, intake_.get(),
                                  options_);
  }
  feed_ = std::make_unique<MetricsFeed>(progress_.get());
  LogInfo(absl::StrFormat("sequence run %s: %s, %lld parameters", config_.run.task_id,
                          config_.run.model.DebugString(),
                          static_cast<long long>(model_->NumParameters())));
  return absl::OkStatus();
}

absl::Status SeqLearnerServer::Impl::CheckAndDecode(const v1::TrajectoryChunk& chunk,
                                                    QueuedChunk* q) const {
  const SequenceChunkSpec spec{config_.run.model.vocab_size, config_.run.model.max_seq_len,
                               config_.run.group_size};
  if (std::optional<SeqRejection> r = ValidateSequenceChunk(chunk, spec)) {
    return absl::InvalidArgumentError(r->reason());
  }
  auto decoded = std::make_shared<SequenceChunk>(DecodeSequenceBatch(chunk.sequences()));
  q->transitions = decoded->completion_tokens();
  q->sequences = std::move(decoded);
  return absl::OkStatus();
}

absl::Status SeqLearnerServer::Impl::Start() {
  if (!options_.metrics_listen.empty()) {
    PROXIMA_ASSIGN_OR_RETURN(metrics_, PrometheusExporter::Start(options_.metrics_listen, [this] {
                               return Status(false);
                             }));
  }
  services_ = std::make_unique<LearnerServices>(this);
  int port = 0;
  server_ = StartGrpcServer(options_, security_.credentials, services_.get(), &port);
  if (!server_ || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen,
                                               " (address in use or invalid?)"));
  }
  address_ = DialableAddress(options_.listen, port);
  if (record_ && record_->files()) {
    PROXIMA_RETURN_IF_ERROR(
        WriteFileAtomic(record_->files()->dir() + "/learner.addr", address_ + "\n"));
  }
  v1::WeightSnapshot snap;
  EncodeModuleWeights(*model_, progress_->version(), &snap);
  publisher_.Publish(snap, progress_->version(), ServerClock::now());
  {
    absl::MutexLock l(&life_mu_);
    serving_ = v1::SERVING_STATE_SERVING;
  }
  server_->GetHealthCheckService()->SetServingStatus(true);
  evaluator_thread_ = std::thread([this] { EvaluateLoop(); });
  return absl::OkStatus();
}

void SeqLearnerServer::Impl::EvaluateLoop() {
  uint64_t evaluated = 0;
  // A resumed run that already made its updates has nothing left to do.
  if (const uint64_t v = progress_->version(); record_ && record_->Begin(v)) {
    RequestStop(absl::StrCat("done: ", v, " updates (--lm-updates ", config_.max_updates, ")"));
    return;
  }
  if (rounds_) return SyncLoop();
  for (;;) {
    const uint64_t seen = queue_->generation();
    std::vector<TrajectoryQueue::Released> released;
    std::optional<QueuedChunk> c = queue_->TryPop(&released);
    intake_->ResumeHeld(std::move(released));
    if (!c) {
      if (queue_->closed()) return;
      queue_->Wait(seen, /*want_chunks=*/true, absl::InfiniteFuture());
      continue;
    }
    // Training recomputes the chunk's log-probs in the update's pre-pass
    // (and reports the gap from there): no second forward pass here.
    if (c->sequences) evaluator_->Evaluate(*c->sequences, /*recompute=*/!training_);
    if (training_) {
      TrainOn(*std::move(c));
    } else {
      accounting_.Trained(c->actor_name, c->seq, c->transitions);
    }
    ++evaluated;
    if (config_.held_out_every > 0 && evaluated % config_.held_out_every == 0) {
      absl::StatusOr<double> acc =
          evaluator_->HeldOutAccuracy(config_.held_out_prompts, progress_->version(),
                                      held_out_seed_);
      if (!acc.ok()) LogWarning(absl::StrCat("held-out evaluation: ", acc.status().message()));
    }
  }
}

void SeqLearnerServer::Impl::SyncLoop() {
  for (;;) {
    std::vector<QueuedChunk> round;
    const bool open = rounds_->AssembleSync(progress_->version(), &round);
    for (size_t i = 0; i < round.size(); ++i) {
      if (round[i].sequences) evaluator_->Evaluate(*round[i].sequences, /*recompute=*/false);
      TrainOn(std::move(round[i]), /*round_ends=*/open && i + 1 == round.size());
    }
    if (!open) return;  // a partial round is dropped at shutdown (Wait)
  }
}

void SeqLearnerServer::Impl::TrainOn(QueuedChunk c, bool round_ends) {
  const uint64_t version = progress_->version();
  const std::string actor_name = c.actor_name;
  const uint64_t session_id = c.session_id, seq = c.seq;
  const int64_t transitions = c.transitions;
  if (!training_->Add(std::move(c), version)) {
    accounting_.Dropped(actor_name, seq, transitions, v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG);
    sessions_->CountDropped(session_id);
    return;
  }
  if (!(rounds_ ? round_ends : training_->ready())) return;
  RunProgress::Update u = training_->Update(version);
  u.dropped_total = accounting_.transitions_dropped() + (u.ok ? 0 : u.transitions);
  // As in the MLP trainer loop: the version moves, then it is published,
  // then the chunks count as trained.
  progress_->RecordUpdate(u);
  const uint64_t now = progress_->version();
  if (u.ok) {
    LogInfo(training_->UpdateLine(u));
    v1::WeightSnapshot snap;
    EncodeModuleWeights(*model_, now, &snap);
    publisher_.Publish(snap, now, ServerClock::now());
  }
  uint64_t sequences = 0;  // trained by this update
  for (const QueuedChunk& q : training_->Taken()) {
    if (u.ok) {
      accounting_.Trained(q.actor_name, q.seq, q.transitions);
    } else {
      accounting_.Dropped(q.actor_name, q.seq, q.transitions,
                          v1::CHUNK_OUTCOME_DROPPED_UPDATE_FAILED);
      sessions_->CountDropped(q.session_id);
    }
    sessions_->SetLag(q.session_id, now - std::min(now, q.policy_version));
    if (u.ok && q.sequences) sequences += q.sequences->sequences.size();
  }
  if (u.ok) {
    v1::SequenceStatus seq;
    training_->FillStatus(&seq);
    if (record_->AfterUpdate(u, now, sequences, seq)) {
      RequestStop(absl::StrCat("done: ", now, " updates"));
    }
  }
}

grpc::Status SeqLearnerServer::Impl::Register(const v1::RegisterRequest& req,
                                              v1::RegisterResponse* resp) {
  const grpc::Status s = RegisterSeqActor(
      req,
      {config_.run, config_.seed, rounds_ != nullptr, options_, progress_->version(),
       instance_id_, serving()},
      sessions_.get(), resp);
  if (s.ok()) queue_->Wake();  // a sync round may stop waiting for a superseded session
  return s;
}

grpc::Status SeqLearnerServer::Impl::AttachWatch(const v1::WatchWeightsRequest& req,
                                                 const std::shared_ptr<WeightStream>& w) {
  absl::StatusOr<std::shared_ptr<WeightStream>> old =
      sessions_->AttachWatch(req.session_id(), w, serving());
  if (!old.ok()) return ToGrpcStatus(old.status());
  if (*old) {
    (*old)->Abort(grpc::Status(grpc::StatusCode::ABORTED, "a newer WatchWeights replaced this one"));
  }
  if (!publisher_.AddListener(w)) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the learner is stopping");
  }
  return grpc::Status::OK;
}

v1::LearnerStatus SeqLearnerServer::Impl::Status(bool include_actors) const {
  v1::ServingState state;
  {
    absl::MutexLock l(&life_mu_);
    state = serving_;
  }
  v1::LearnerStatus st =
      BuildStatus({progress_.get(), sessions_.get(), queue_.get(), &accounting_, nullptr, state,
                   started_at_, config_.run.task_id, "", instance_id_, nullptr},
                  include_actors);
  st.set_mode(rounds_ ? v1::TRAINING_MODE_SYNC : v1::TRAINING_MODE_ASYNC);
  if (rounds_) {
    st.set_sync_rounds(rounds_->rounds());
    st.set_sync_round_exclusions(rounds_->exclusions());
  }
  st.set_device("cpu");
  evaluator_->FillStatus(st.mutable_sequences());
  if (training_) training_->FillStatus(st.mutable_sequences());
  return st;
}

void SeqLearnerServer::Impl::RequestStop(const std::string& reason) {
  {
    absl::MutexLock l(&life_mu_);
    if (stop_requested_) return;
    stop_requested_ = true;
    if (serving_ == v1::SERVING_STATE_SERVING) serving_ = v1::SERVING_STATE_DRAINING;
  }
  LogInfo(absl::StrCat("stopping (", reason, ")"));
  if (server_) server_->GetHealthCheckService()->SetServingStatus(false);
  queue_->Close();
}

void SeqLearnerServer::Impl::Wait() {
  {
    absl::MutexLock l(&life_mu_);
    life_mu_.Await(absl::Condition(&stop_requested_));
  }
  if (shut_down_) return;
  shut_down_ = true;
  if (evaluator_thread_.joinable()) evaluator_thread_.join();
  if (record_) record_->End(progress_->version());
  if (training_) {  // a batch not yet full when the run stopped
    for (const QueuedChunk& q : training_->Taken()) {
      accounting_.Dropped(q.actor_name, q.seq, q.transitions,
                          v1::CHUNK_OUTCOME_DROPPED_AT_SHUTDOWN);
      sessions_->CountDropped(q.session_id);
    }
  }
  intake_->DropAllAtShutdown();
  {
    absl::MutexLock l(&life_mu_);
    serving_ = v1::SERVING_STATE_STOPPED;
  }
  for (auto& s : sessions_->OpenStreams()) s->Abort(grpc::Status::OK);
  publisher_.Close();
  feed_->Close();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(
                          static_cast<int64_t>(options_.grace_period_seconds * 250)));
    server_->Wait();
  }
}

// ---------------------------------------------------------------------------

SeqLearnerServer::SeqLearnerServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SeqLearnerServer::~SeqLearnerServer() {
  if (impl_ && impl_->server_ && !impl_->shut_down_) {
    impl_->RequestStop("destroyed");
    impl_->Wait();
  }
}

absl::StatusOr<std::unique_ptr<SeqLearnerServer>> SeqLearnerServer::Create(
    const SeqLearnerConfig& config, const LearnerOptions& options) {
  auto impl = std::make_unique<Impl>(config, options);
  PROXIMA_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<SeqLearnerServer>(new SeqLearnerServer(std::move(impl)));
}

absl::Status SeqLearnerServer::Start() { return impl_->Start(); }
std::string SeqLearnerServer::address() const { return impl_->address_; }
void SeqLearnerServer::Wait() { impl_->Wait(); }
void SeqLearnerServer::RequestStop(const std::string& reason) { impl_->RequestStop(reason); }
v1::LearnerStatus SeqLearnerServer::Status(bool include_actors) const {
  return impl_->Status(include_actors);
}
std::shared_ptr<grpc::Channel> SeqLearnerServer::InProcessChannel() {
  return impl_->InProcessChannel();
}

}  // namespace proxima
