#include "learner/server/trainer_loop.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/failpoint.h"
#include "common/logging.h"
#include "learner/ppo_updater.h"
#include "learner/run_files.h"
#include "learner/checkpoint.h"
#include "learner/periodic_eval.h"
#include "learner/server/hyperparameters.h"
#include "learner/tensorboard_writer.h"
#include "common/policy/weight_codec.h"

namespace proxima {

TrainerLoop::TrainerLoop(Deps deps, const PpoConfig& config, const LearnerOptions& options,
                         std::string run_dir)
    : deps_(std::move(deps)),
      config_(config),
      options_(options),
      run_dir_(std::move(run_dir)),
      batcher_(deps_.queue,
               Batcher::Callbacks{
                   [this] { return paused(); },
                   [this] { return HasRequests(); },
                   [this] { ServeRequests(); },
                   [this] { return max_policy_lag(); },
                   [this](const QueuedChunk& c, v1::ChunkOutcome why) { Drop(c, why); },
                   deps_.resume_held,
                   [this] { return deps_.sessions->LiveSessions(); },
                   [this](const std::vector<uint64_t>& ids) { deps_.sessions->MissedRound(ids); },
               },
               Batcher::Options{options.min_actors,
                                absl::Seconds(options.sync_round_timeout_seconds)}),
      max_policy_lag_(options.max_policy_lag) {
  absl::MutexLock l(&mu_);
  ConfigToStrings(config_, &hyper_);
  hyper_["mode"] = options_.mode == TrainingModeKind::kSync ? "sync" : "async";
  hyper_["max_policy_lag"] = absl::StrCat(options_.max_policy_lag);
}

TrainerLoop::~TrainerLoop() { Join(); }

void TrainerLoop::Start() {
  thread_ = std::thread([this] { Run(); });
}

void TrainerLoop::Join() {
  if (thread_.joinable()) thread_.join();
}

void TrainerLoop::Publish() {
  const ServerClock::time_point started = ServerClock::now();
  PpoUpdater& u = *deps_.updater;
  NormalizerState norm;
  norm.enabled = u.config().normalize_obs;
  norm.clip = u.config().obs_clip;
  norm.stats = u.obs_stats();
  const uint64_t version = deps_.progress->version();
  const int64_t steps = deps_.progress->env_steps();
  v1::WeightSnapshot snap;
  EncodeWeights(u.model(), norm, version, &snap);
  SetTimestamp(absl::Now(), snap.mutable_published_at());
  snap.set_env_steps(static_cast<uint64_t>(steps));
  deps_.publisher->Publish(snap, version, started);
}

void TrainerLoop::SetPaused(bool paused) {
  {
    absl::MutexLock l(&mu_);
    paused_ = paused;
  }
  deps_.queue->Wake();
}

bool TrainerLoop::paused() const {
  absl::MutexLock l(&mu_);
  return paused_;
}

int TrainerLoop::max_policy_lag() const {
  absl::MutexLock l(&mu_);
  return max_policy_lag_;
}

std::string TrainerLoop::device() const { return deps_.updater->device().str(); }

bool TrainerLoop::RequestCheckpoint(CheckpointDone done, std::string tag) {
  {
    absl::MutexLock l(&mu_);
    if (done_) return false;
    checkpoint_requests_.emplace_back(std::move(tag), std::move(done));
  }
  deps_.queue->Wake();
  return true;
}

std::vector<TrainerLoop::CheckpointDone> TrainerLoop::TakeCheckpointRequests() {
  std::vector<CheckpointDone> out;
  absl::MutexLock l(&mu_);
  done_ = true;
  for (auto& [tag, done] : checkpoint_requests_) out.push_back(std::move(done));
  checkpoint_requests_.clear();
  return out;
}

v1::SetHyperparametersResponse TrainerLoop::SetHyperparameters(
    const v1::SetHyperparametersRequest& req) {
  v1::SetHyperparametersResponse resp;
  const int64_t next_update = deps_.progress->Counters().updates + 1;
  {
    absl::MutexLock l(&mu_);
    // Validate against the config as it will be at the next update: the
    // current values (hyper_ mirrors the trainer's config) plus pending
    // changes.
    PpoConfig c = config_;
    LearnerOptions o = options_;
    for (const auto& [k, v] : hyper_) (void)ApplyHyperparameter(k, v, &c, &o);
    for (const auto& [k, v] : pending_hyper_) (void)ApplyHyperparameter(k, v, &c, &o);
    std::map<std::string, std::string> sorted(req.values().begin(), req.values().end());
    for (const auto& [k, v] : sorted) {
      absl::Status s = ApplyHyperparameter(k, v, &c, &o);
      if (s.ok()) s = c.Validate();
      if (s.ok()) s = o.Validate();
      if (!s.ok()) {
        v1::HyperparameterError* e = resp.add_errors();
        e->set_key(k);
        e->set_message(std::string(s.message()));
      }
    }
    if (resp.errors_size() > 0 || req.validate_only()) return resp;
    for (const auto& [k, v] : sorted) {
      pending_hyper_[k] = v;
      (*resp.mutable_applied())[k] = v;
      LogInfo(absl::StrFormat("set %s=%s (from update %lld)", k, v,
                              static_cast<long long>(next_update)));
    }
    resp.set_effective_from_update(static_cast<uint64_t>(next_update));
  }
  deps_.queue->Wake();
  return resp;
}

bool TrainerLoop::HasRequests() const {
  absl::MutexLock l(&mu_);
  return !checkpoint_requests_.empty() || !pending_hyper_.empty();
}

void TrainerLoop::ServeRequests() {
  std::vector<std::pair<std::string, CheckpointDone>> ckpt;
  std::map<std::string, std::string> hyper;
  {
    absl::MutexLock l(&mu_);
    ckpt.swap(checkpoint_requests_);
    hyper.swap(pending_hyper_);
  }
  if (!hyper.empty()) {
    PpoConfig& c = deps_.updater->mutable_config();
    LearnerOptions o = options_;
    o.max_policy_lag = max_policy_lag();
    for (const auto& [k, v] : hyper) (void)ApplyHyperparameter(k, v, &c, &o);
    absl::MutexLock l(&mu_);
    max_policy_lag_ = o.max_policy_lag;
    ConfigToStrings(c, &hyper_);
    hyper_["max_policy_lag"] = absl::StrCat(max_policy_lag_);
  }
  // One file per tag; the untagged requests share one.
  std::map<std::string, absl::StatusOr<v1::CheckpointInfo>> written;
  for (auto& [tag, done] : ckpt) {
    auto it = written.find(tag);
    if (it == written.end()) it = written.emplace(tag, Checkpoint(tag)).first;
    done(it->second);
  }
}

absl::StatusOr<v1::CheckpointInfo> TrainerLoop::Checkpoint(const std::string& tag) {
  CheckpointCounters c = deps_.progress->Counters();
  c.transitions_trained += deps_.accounting->transitions_trained();
  c.actor_ids = deps_.sessions->actor_ids();
  absl::StatusOr<SavedCheckpoint> saved =
      SaveCheckpoint(run_dir_ + "/checkpoints", *deps_.updater, c, options_.keep_checkpoints,
                     /*trainer_state=*/"", tag);
  if (!saved.ok()) {
    LogError(absl::StrCat("checkpoint failed: ", saved.status().ToString()));
    return saved.status();
  }
  v1::CheckpointInfo info;
  info.set_path(saved->path);
  info.set_policy_version(c.policy_version);
  SetTimestamp(absl::Now(), info.mutable_saved_at());
  info.set_env_steps(static_cast<uint64_t>(c.env_steps));
  info.set_updates(static_cast<uint64_t>(c.updates));
  info.set_size_bytes(static_cast<uint64_t>(saved->size_bytes));
  absl::MutexLock l(&mu_);
  last_checkpoint_ = info;
  return info;
}

void TrainerLoop::Drop(const QueuedChunk& c, v1::ChunkOutcome reason) {
  deps_.accounting->Dropped(c.actor_name, c.seq, c.transitions, reason);
  deps_.sessions->CountDropped(c.session_id);
}

void TrainerLoop::Enter(TimeBreakdownTracker::Stage stage) {
  if (times_ != nullptr) times_->Enter(stage);
}

void TrainerLoop::Run() {
  ServerClock::time_point last_checkpoint = ServerClock::now();
  int64_t updates_since_checkpoint = 0;
  const bool sync = options_.mode == TrainingModeKind::kSync;
  while (true) {
    std::vector<QueuedChunk> parts;
    const uint64_t version = deps_.progress->version();
    Enter(TimeBreakdownTracker::Stage::kWaitBatch);
    const bool got =
        sync ? batcher_.AssembleSync(version, &parts)
             : batcher_.AssembleAsync(deps_.updater->config().batch_size(), version, &parts);
    if (!got) {
      for (const QueuedChunk& c : parts) Drop(c, v1::CHUNK_OUTCOME_DROPPED_AT_SHUTDOWN);
      Enter(TimeBreakdownTracker::Stage::kNone);
      break;
    }
    const bool finished = Train(parts, version);
    Enter(TimeBreakdownTracker::Stage::kNone);  // checkpoints, admin requests
    ++updates_since_checkpoint;
    const bool due =
        (options_.checkpoint_every_updates > 0 &&
         updates_since_checkpoint >= options_.checkpoint_every_updates) ||
        (options_.checkpoint_every_seconds > 0 &&
         Seconds(ServerClock::now() - last_checkpoint) >= options_.checkpoint_every_seconds);
    if (due) {
      (void)Checkpoint();
      last_checkpoint = ServerClock::now();
      updates_since_checkpoint = 0;
    }
    ServeRequests();
    if (finished) {
      const bool solved = options_.stop_when_solved && deps_.progress->solved();
      deps_.finished(solved ? "solved" : "step budget reached");
    }
  }
  ServeRequests();
}

bool TrainerLoop::Train(std::vector<QueuedChunk>& parts, uint64_t version) {
  std::vector<RolloutBatch> batches;
  batches.reserve(parts.size());
  RunProgress::Update u;
  u.chunks = parts.size();
  for (QueuedChunk& c : parts) {
    u.transitions += c.transitions;
    const uint64_t lag = version - c.policy_version;
    u.lag_sum += static_cast<double>(lag) * c.transitions;
    u.lag_max = std::max(u.lag_max, lag);
    batches.push_back(std::move(c.batch));
  }
  const int64_t steps_done =
      deps_.progress->transitions_trained_before() + deps_.accounting->transitions_trained();
  const PpoConfig& cfg = deps_.updater->config();
  const double progress =
      std::min(1.0, static_cast<double>(steps_done) /
                        static_cast<double>(std::max<int64_t>(1, cfg.total_steps)));
  Enter(TimeBreakdownTracker::Stage::kUpdate);
  MaybeDelay("learner.update");  // test-only: a slow learner (common/failpoint.h)
  absl::StatusOr<UpdateMetrics> um =
      deps_.fail_update && deps_.fail_update()
          ? absl::StatusOr<UpdateMetrics>(absl::InternalError("failed by a test hook"))
          : deps_.updater->Update(batches, progress);
  MaybeFail("learner.update_applied");  // test-only (common/failpoint.h)
  if (!um.ok()) {
    LogError(absl::StrCat("update failed: ", um.status().ToString()));
  } else if (deps_.update_timed) {
    deps_.update_timed(um->update_seconds);
  }
  // Evaluation (--eval-every) of the version this update made, before it is
  // recorded so that the row, metrics.csv and the WatchMetrics proto carry it.
  const int64_t update_number = deps_.progress->Counters().updates + 1;
  std::optional<PeriodicEvaluator::Outcome> eval;
  if (um.ok() && deps_.evaluator != nullptr && deps_.evaluator->Due(update_number)) {
    Enter(TimeBreakdownTracker::Stage::kNone);
    absl::StatusOr<PeriodicEvaluator::Outcome> e =
        deps_.evaluator->Evaluate(*deps_.updater, update_number, deps_.progress->env_steps());
    if (e.ok()) {
      eval = *e;
      u.eval = e->row;
    } else {
      LogError(absl::StrCat("evaluation failed: ", e.status().ToString()));
    }
  }
  Enter(TimeBreakdownTracker::Stage::kPublish);
  u.ok = um.ok();
  if (um.ok()) u.metrics = *um;
  // A failed attempt's batch is dropped below; its row counts it already.
  u.dropped_total = deps_.accounting->transitions_dropped() + (um.ok() ? 0 : u.transitions);
  if (times_ != nullptr) u.time_shares = times_->RecentShares();
  // The version moves first (chunk intake accepts chunks up to it), then it
  // is published, then the chunks count as trained — so that a reader who
  // sees nothing queued sees the new version.
  const MetricsRow row = deps_.progress->RecordUpdate(u);
  // The budget counts every env step actors delivered (accepted chunks),
  // trained or dropped for lag: they were taken. Read before publishing, so
  // that steps acted with the new version (which a fast actor may deliver
  // before this thread gets here) never end the run early: the step a run
  // stops at must not depend on thread timing (sync mode is reproducible).
  const bool finished = deps_.progress->env_steps() >= cfg.total_steps ||
                        (options_.stop_when_solved && deps_.progress->solved());
  if (um.ok()) Publish();
  for (const QueuedChunk& c : parts) {
    if (um.ok()) {
      deps_.accounting->Trained(c.actor_name, c.seq, c.transitions);
    } else {
      // Not trained: the model did not change.
      Drop(c, v1::CHUNK_OUTCOME_DROPPED_UPDATE_FAILED);
    }
    deps_.sessions->SetLag(c.session_id, version - c.policy_version);
  }
  if (eval.has_value() && eval->best) {
    absl::StatusOr<v1::CheckpointInfo> best = Checkpoint(kBestCheckpointTag);
    absl::Status kept = best.ok() ? deps_.evaluator->BestSaved(best->path()) : best.status();
    if (!kept.ok()) LogError(absl::StrCat("best checkpoint: ", kept.ToString()));
  }
  if (deps_.csv) (void)deps_.csv->Append(row);
  if (deps_.tensorboard) (void)deps_.tensorboard->Write(row);
  if (deps_.after_update) deps_.after_update();
  return finished;
}

void TrainerLoop::FillStatus(v1::LearnerStatus* st) const {
  {
    absl::MutexLock l(&mu_);
    if (last_checkpoint_) *st->mutable_last_checkpoint() = *last_checkpoint_;
    for (const auto& [k, v] : hyper_) (*st->mutable_hyperparameters())[k] = v;
    st->set_paused(paused_);
  }
  st->set_mode(options_.mode == TrainingModeKind::kSync ? v1::TRAINING_MODE_SYNC
                                                        : v1::TRAINING_MODE_ASYNC);
  st->set_device(device());
  st->set_sync_rounds(batcher_.rounds());
  st->set_sync_round_exclusions(batcher_.exclusions());
}

}  // namespace proxima
