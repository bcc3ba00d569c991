#include "learner/in_process_trainer.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "common/policy/cpu_threads.h"
#include "common/envs/registry.h"
#include "common/policy/policy_snapshot.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "learner/tensorboard_writer.h"
#include "learner/trainer_checkpoint.h"
#include "nlohmann/json.hpp"

namespace proxima {
namespace {

constexpr int kStateFormat = 1;  // SaveState()'s document

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

absl::StatusOr<std::unique_ptr<InProcessTrainer>> InProcessTrainer::Create(
    const PpoConfig& config, TrainerOptions options) {
  PROXIMA_RETURN_IF_ERROR(config.Validate());
  PROXIMA_ASSIGN_OR_RETURN(EnvSpec spec, GetEnvSpec(config.env_id));
  PROXIMA_ASSIGN_OR_RETURN(torch::Device device, ResolveDevice(config.device));
  std::unique_ptr<InProcessTrainer> t(new InProcessTrainer(config, std::move(options)));
  ConfigureCpuThreads(config.torch_threads);
  PROXIMA_ASSIGN_OR_RETURN(t->envs_, VectorEnv::Create(config.env_id, config.num_envs,
                                                       config.seed));
  t->envs_->set_clip_actions(config.clip_action);
  PROXIMA_ASSIGN_OR_RETURN(t->updater_, PpoUpdater::Create(config, spec, device));
  LogInfo(absl::StrCat("PPO update engine: ", t->updater_->engine_description()));
  t->tracker_ = std::make_unique<EpisodeTracker>(
      spec.has_reward_threshold ? std::optional<double>(spec.reward_threshold) : std::nullopt);
  if (config.normalize_reward) {
    t->reward_scaler_ =
        std::make_unique<RewardScaler>(config.num_envs, config.gamma, config.reward_clip);
  }
  t->rng_.Seed(MixSeed(config.seed) ^ 0x5eedULL);
  t->policy_ = std::make_unique<PolicyInference>(
      PolicyShape{spec.obs_dim(), spec.action_space, config.model}, config.num_envs,
      config.engine == "torch" ? InferenceEngine::kTorch : InferenceEngine::kFused);
  t->collector_ = std::make_unique<RolloutCollector>(t->envs_.get(), t->policy_.get(), &t->rng_,
                                                     config.rollout_length);
  if (!device.is_cpu()) {
    t->cpu_model_ = ActorCritic(spec.obs_dim(), spec.action_space, config.model,
                                /*initialize=*/false);
  }
  if (!t->options_.run_dir.empty()) {
    PROXIMA_RETURN_IF_ERROR(InitRunDir(t->options_.run_dir, config));
  }
  PROXIMA_ASSIGN_OR_RETURN(
      t->evaluator_,
      PeriodicEvaluator::Create(config, t->options_.eval,
                                t->options_.run_dir.empty() ? ""
                                                            : t->options_.run_dir + "/checkpoints"));
  return t;
}

absl::StatusOr<RolloutBatch> InProcessTrainer::CollectRollout() {
  // The current version as an actor would hold it after applying the
  // learner's publication: weights plus normalizer statistics.
  std::shared_ptr<const PolicySnapshot> snapshot =
      CurrentPolicySnapshot(*updater_, static_cast<uint64_t>(updates_), &cpu_model_);
  PROXIMA_RETURN_IF_ERROR(policy_->SetPolicy(std::move(snapshot)));

  const int E = config_.num_envs;
  const int64_t steps_before = env_steps_;
  const int T = collector_->Collect(nullptr);
  env_steps_ += static_cast<int64_t>(T) * E;
  RolloutBatch batch = collector_->View();
  if (reward_scaler_) {
    batch.rewards = batch.rewards.clone();  // the collector's rollout stays as collected
    float* rewards = batch.rewards.data_ptr<float>();
    const uint8_t* term = batch.terminated.data_ptr<uint8_t>();
    for (int t = 0; t < T; ++t) {
      reward_scaler_->ScaleStep(rewards + static_cast<int64_t>(t) * E,
                                term + static_cast<int64_t>(t) * E);
    }
  }
  const double now = NowSeconds() - start_seconds_;
  for (const EpisodeRecord& ep : collector_->episodes()) {
    tracker_->Add(ep.episode_return, static_cast<int>(ep.length),
                  steps_before + static_cast<int64_t>(ep.t + 1) * E, now);
  }
  return batch;
}

absl::StatusOr<RunSummary> InProcessTrainer::Run() {
  std::unique_ptr<MetricsCsv> csv;
  std::unique_ptr<TensorBoardWriter> tensorboard;
  if (!options_.run_dir.empty()) {
    // A trainer that continues a run (resumed, or Run() again) keeps its rows.
    const std::string path = options_.run_dir + "/metrics.csv";
    PROXIMA_ASSIGN_OR_RETURN(
        csv, updates_ > 0 ? MetricsCsv::Continue(path, updates_) : MetricsCsv::Open(path));
    PROXIMA_ASSIGN_OR_RETURN(tensorboard, TensorBoardWriter::Open(options_.run_dir));
  }
  double last_checkpoint = NowSeconds();
  const bool tty = ::isatty(STDERR_FILENO);
  double last_progress = 0;
  start_seconds_ = NowSeconds() - wall_seconds_;
  const int64_t steps_at_start = env_steps_;  // a resumed run's summary counts from here
  if (updates_ == 0) envs_->Reset();
  const int64_t num_updates = config_.num_updates();
  const int64_t last_update = options_.stop_after_update > 0
                                  ? std::min(num_updates, options_.stop_after_update)
                                  : num_updates;
  while (updates_ < last_update) {
    const int64_t update = updates_ + 1;
    PROXIMA_ASSIGN_OR_RETURN(const RolloutBatch batch, CollectRollout());
    PROXIMA_RETURN_IF_ERROR(envs_->status());  // a remote env's server failed
    const double progress = static_cast<double>(update - 1) / static_cast<double>(num_updates);
    PROXIMA_ASSIGN_OR_RETURN(UpdateMetrics um, updater_->Update(batch, progress));
    updates_ = update;
    const double elapsed = NowSeconds() - start_seconds_;
    MetricsRow row;
    row.update = update;
    row.policy_version = update;
    row.env_steps = env_steps_;
    row.wall_seconds = elapsed;
    row.env_steps_per_second = env_steps_ / std::max(elapsed, 1e-9);
    row.episodes = tracker_->episodes();
    row.mean_return = tracker_->mean_return();
    row.mean_length = tracker_->mean_length();
    row.update_metrics = um;
    if (evaluator_ && evaluator_->Due(update)) {
      PROXIMA_ASSIGN_OR_RETURN(const PeriodicEvaluator::Outcome eval,
                               evaluator_->Evaluate(*updater_, update, env_steps_));
      row.eval = eval.row;
      if (eval.best && !options_.run_dir.empty()) {
        PROXIMA_RETURN_IF_ERROR(Checkpoint(kBestCheckpointTag));
      }
    }
    if (csv) PROXIMA_RETURN_IF_ERROR(csv->Append(row));
    if (tensorboard) PROXIMA_RETURN_IF_ERROR(tensorboard->Write(row));
    if (options_.on_update) options_.on_update(row);
    if (options_.progress && (elapsed - last_progress >= 0.5 || update == num_updates)) {
      last_progress = elapsed;
      const double eta = (num_updates - update) * elapsed / update;
      LogRaw(absl::StrFormat(
          "%s[%s] steps %lld/%lld  %.0f steps/s  return %s  version %lld  lag 0  ETA %.0fs%s",
          tty ? "\r" : "", config_.env_id, static_cast<long long>(env_steps_),
          static_cast<long long>(config_.total_steps), row.env_steps_per_second,
          // "-" until an episode has ended, as the cluster's progress line.
          std::isfinite(row.mean_return) ? absl::StrFormat("%.1f", row.mean_return) : "-",
          static_cast<long long>(update), eta, tty ? "   " : "\n"));
    }
    const bool by_updates = options_.checkpoint_every_updates > 0 &&
                            update % options_.checkpoint_every_updates == 0;
    const bool by_time = options_.checkpoint_every_seconds > 0 &&
                         NowSeconds() - last_checkpoint >= options_.checkpoint_every_seconds;
    if (!options_.run_dir.empty() && (by_updates || by_time) && update < last_update) {
      PROXIMA_RETURN_IF_ERROR(Checkpoint());
      last_checkpoint = NowSeconds();
    }
    if (options_.stop_when_solved && tracker_->solved()) break;
  }
  wall_seconds_ = NowSeconds() - start_seconds_;
  // The final checkpoint, as the learner writes one when it stops.
  if (!options_.run_dir.empty()) PROXIMA_RETURN_IF_ERROR(Checkpoint());
  if (options_.progress && tty) LogRaw("\n");
  RunSummary s;
  s.env = config_.env_id;
  s.seed = config_.seed;
  s.mode = "in-process";
  s.device = updater_->device().str();
  s.actors = 0;
  s.total_env_steps = env_steps_;
  s.updates = updates_;
  s.wall_seconds = wall_seconds_;
  s.env_steps_per_second = env_steps_ / std::max(s.wall_seconds, 1e-9);
  s.episodes = tracker_->episodes();
  s.mean_return_last_100 = tracker_->mean_return();
  s.solved_at_step = tracker_->solved_at_step();
  s.solved_at_seconds = tracker_->solved_at_seconds();
  // Every collected transition is trained on, with the policy that acted.
  s.transitions_collected = s.transitions_trained = env_steps_ - steps_at_start;
  if (evaluator_) evaluator_->FillSummary(&s);
  if (!options_.run_dir.empty()) PROXIMA_RETURN_IF_ERROR(WriteSummary(options_.run_dir, s));
  return s;
}

absl::Status InProcessTrainer::Checkpoint(const std::string& tag) {
  if (checkpoints_off_) return absl::OkStatus();
  wall_seconds_ = NowSeconds() - start_seconds_;
  absl::StatusOr<SavedCheckpoint> saved = SaveTrainerCheckpoint(
      options_.run_dir + "/checkpoints", *this, options_.keep_checkpoints, tag);
  if (absl::IsFailedPrecondition(saved.status())) {
    LogInfo(absl::StrCat("no checkpoints: ", saved.status().message()));
    checkpoints_off_ = true;
    return absl::OkStatus();
  }
  if (saved.ok() && tag == kBestCheckpointTag) return evaluator_->BestSaved(saved->path);
  return saved.status();
}

absl::StatusOr<std::string> InProcessTrainer::SaveState() const {
  PROXIMA_ASSIGN_OR_RETURN(std::vector<VectorEnv::EnvState> envs, envs_->SaveState());
  nlohmann::json j;
  j["format"] = kStateFormat;
  j["env_id"] = config_.env_id;
  j["updates"] = updates_;
  j["env_steps"] = env_steps_;
  j["wall_seconds"] = wall_seconds_;
  j["sampler_rng"] = rng_.State();
  nlohmann::json& je = j["envs"] = nlohmann::json::array();
  for (const VectorEnv::EnvState& e : envs) {
    je.push_back({{"state", e.state},
                  {"elapsed_steps", e.elapsed_steps},
                  {"rng", e.rng},
                  {"obs", e.obs},
                  {"episode_return", e.episode_return},
                  {"episode_length", e.episode_length}});
  }
  if (reward_scaler_) {
    const RunningMeanStd& rms = reward_scaler_->return_stats();
    j["reward_scaler"] = {{"discounted", reward_scaler_->discounted_returns()},
                          {"mean", rms.mean()},
                          {"var", rms.var()},
                          {"count", rms.count()}};
  }
  const EpisodeTracker::State t = tracker_->state();
  j["episodes"] = {{"returns", t.returns},       {"lengths", t.lengths},
                   {"return_sum", t.return_sum}, {"length_sum", t.length_sum},
                   {"count", t.episodes},        {"solved_at_step", nullptr},
                   {"solved_at_seconds", nullptr}};
  if (t.solved_at_step) j["episodes"]["solved_at_step"] = *t.solved_at_step;
  if (t.solved_at_seconds) j["episodes"]["solved_at_seconds"] = *t.solved_at_seconds;
  return j.dump();
}

absl::Status InProcessTrainer::RestoreState(const std::string& state) {
  try {
    const nlohmann::json j = nlohmann::json::parse(state);
    if (j.at("format").get<int>() != kStateFormat || j.at("env_id") != config_.env_id) {
      return absl::InvalidArgumentError(absl::StrCat(
          "trainer state: format ", j.at("format").dump(), " for ", j.at("env_id").dump(),
          "; this trainer reads format ", kStateFormat, " for \"", config_.env_id, "\""));
    }
    std::vector<VectorEnv::EnvState> envs;
    for (const nlohmann::json& je : j.at("envs")) {
      VectorEnv::EnvState e;
      e.state = je.at("state").get<std::vector<double>>();
      e.elapsed_steps = je.at("elapsed_steps").get<int>();
      e.rng = je.at("rng").get<std::string>();
      e.obs = je.at("obs").get<std::vector<float>>();
      e.episode_return = je.at("episode_return").get<double>();
      e.episode_length = je.at("episode_length").get<int>();
      envs.push_back(std::move(e));
    }
    if (j.contains("reward_scaler") != (reward_scaler_ != nullptr)) {
      return absl::InvalidArgumentError("trainer state: reward scaling differs from the config");
    }
    const nlohmann::json& jt = j.at("episodes");
    EpisodeTracker::State t;
    t.returns = jt.at("returns").get<std::vector<double>>();
    t.lengths = jt.at("lengths").get<std::vector<int>>();
    t.return_sum = jt.at("return_sum").get<double>();
    t.length_sum = jt.at("length_sum").get<int64_t>();
    t.episodes = jt.at("count").get<int64_t>();
    if (!jt.at("solved_at_step").is_null()) t.solved_at_step = jt["solved_at_step"].get<int64_t>();
    if (!jt.at("solved_at_seconds").is_null()) {
      t.solved_at_seconds = jt["solved_at_seconds"].get<double>();
    }
    const int64_t updates = j.at("updates").get<int64_t>();
    const int64_t env_steps = j.at("env_steps").get<int64_t>();
    const double wall_seconds = j.at("wall_seconds").get<double>();
    if (updates < 0 || env_steps < 0 || !(wall_seconds >= 0)) {
      return absl::InvalidArgumentError("trainer state: negative counters");
    }
    // Everything parsed; now the parts that can still refuse, then the rest.
    PROXIMA_RETURN_IF_ERROR(envs_->RestoreState(envs));
    PROXIMA_RETURN_IF_ERROR(tracker_->Restore(t));
    PROXIMA_RETURN_IF_ERROR(rng_.SetState(j.at("sampler_rng").get<std::string>()));
    if (reward_scaler_) {
      const nlohmann::json& jr = j.at("reward_scaler");
      PROXIMA_RETURN_IF_ERROR(reward_scaler_->RestoreDiscountedReturns(
          jr.at("discounted").get<std::vector<double>>()));
      PROXIMA_RETURN_IF_ERROR(reward_scaler_->mutable_return_stats().Restore(
          jr.at("mean").get<std::vector<double>>(), jr.at("var").get<std::vector<double>>(),
          jr.at("count").get<double>()));
    }
    updates_ = updates;
    env_steps_ = env_steps;
    wall_seconds_ = wall_seconds;
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("trainer state: ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace proxima
