#include "learner/periodic_eval.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/envs/registry.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/rng.h"
#include "common/status_macros.h"
#include "learner/checkpoint.h"
#include "learner/eval_episodes.h"
#include "nlohmann/json.hpp"

namespace proxima {
namespace {

// Keeps the evaluation env's stream apart from the training envs' (seed + i).
constexpr uint64_t kEvalSeedSalt = 0x6576616c5f656e76ULL;  // "eval_env"

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string BestJsonPath(const std::string& dir) { return dir + "/best.json"; }

}  // namespace

uint64_t EvalSeed(uint64_t run_seed) { return MixSeed(run_seed ^ kEvalSeedSalt); }

std::shared_ptr<const PolicySnapshot> CurrentPolicySnapshot(PpoUpdater& updater,
                                                            uint64_t version,
                                                            ActorCritic* cpu_copy) {
  auto snapshot = std::make_shared<PolicySnapshot>();
  snapshot->version = version;
  if (updater.device().is_cpu()) {
    snapshot->model = updater.model();
  } else {
    torch::NoGradGuard no_grad;
    const std::vector<at::Tensor> from = updater.model()->parameters();
    const std::vector<at::Tensor> to = (*cpu_copy)->parameters();
    for (size_t i = 0; i < to.size(); ++i) to[i].copy_(from[i]);
    snapshot->model = *cpu_copy;
  }
  snapshot->normalizer.enabled = updater.config().normalize_obs;
  snapshot->normalizer.clip = updater.config().obs_clip;
  snapshot->normalizer.stats = updater.obs_stats();
  return snapshot;
}

PeriodicEvaluator::PeriodicEvaluator(const PpoConfig& config, const PeriodicEvalOptions& options,
                                     std::string checkpoints_dir)
    : config_(config), options_(options), checkpoints_dir_(std::move(checkpoints_dir)) {}

absl::StatusOr<std::unique_ptr<PeriodicEvaluator>> PeriodicEvaluator::Create(
    const PpoConfig& config, const PeriodicEvalOptions& options, std::string checkpoints_dir) {
  PROXIMA_RETURN_IF_ERROR(options.Validate());
  if (options.every == 0) return std::unique_ptr<PeriodicEvaluator>();
  std::unique_ptr<PeriodicEvaluator> e(
      new PeriodicEvaluator(config, options, std::move(checkpoints_dir)));
  PROXIMA_ASSIGN_OR_RETURN(e->spec_, GetEnvSpec(config.env_id));
  e->seed_ = EvalSeed(config.seed);
  PROXIMA_ASSIGN_OR_RETURN(torch::Device device, ResolveDevice(config.device));
  if (!device.is_cpu()) {
    e->cpu_copy_ = ActorCritic(e->spec_.obs_dim(), e->spec_.action_space, config.model,
                               /*initialize=*/false);
  }
  if (!e->checkpoints_dir_.empty()) PROXIMA_RETURN_IF_ERROR(e->ReadBest());
  LogInfo(absl::StrCat("evaluation: ", options.episodes, " deterministic episodes every ",
                       options.every, " updates on ", config.env_id, ", seed ", e->seed_));
  return e;
}

absl::Status PeriodicEvaluator::ReadBest() {
  absl::StatusOr<std::string> text = ReadFile(BestJsonPath(checkpoints_dir_));
  if (!text.ok()) return absl::OkStatus();  // a new run: no best yet
  try {
    const nlohmann::json j = nlohmann::json::parse(*text);
    EvalRow row;
    row.mean_return = j.at("eval_return").get<double>();
    row.std_return = j.at("eval_return_std").get<double>();
    best_update_ = j.at("update").get<int64_t>();
    best_env_steps_ = j.at("env_steps").get<int64_t>();
    best_ = row;
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(
        absl::StrCat(BestJsonPath(checkpoints_dir_), ": not a best-evaluation record: ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<PeriodicEvaluator::Outcome> PeriodicEvaluator::Evaluate(PpoUpdater& updater,
                                                                       int64_t update,
                                                                       int64_t env_steps) {
  const double start = NowSeconds();
  PROXIMA_ASSIGN_OR_RETURN(
      std::unique_ptr<EvalPolicy> policy,
      MakeSnapshotEvalPolicy(spec_, config_.model, config_.clip_action,
                             CurrentPolicySnapshot(updater, static_cast<uint64_t>(update),
                                                   &cpu_copy_)));
  EvalOptions options;
  options.env_id = config_.env_id;
  options.episodes = options_.episodes;
  options.deterministic = true;
  options.seed = seed_;
  PROXIMA_ASSIGN_OR_RETURN(EvalResult r, proxima::Evaluate(*policy, options));
  Outcome out;
  out.row.mean_return = r.mean_return;
  out.row.std_return = r.std_return;
  out.row.mean_length = r.mean_length;
  out.row.seconds = NowSeconds() - start;
  out.best = !best_.has_value() || r.mean_return > best_->mean_return;
  if (out.best) {
    best_ = out.row;
    best_update_ = update;
    best_env_steps_ = env_steps;
  }
  return out;
}

absl::Status PeriodicEvaluator::BestSaved(const std::string& path) {
  // The new file is in place: older best files go (ckpt-<version>-best.pt).
  const std::string suffix = absl::StrCat("-", kBestCheckpointTag, ".pt");
  for (const std::string& f : ListCheckpoints(checkpoints_dir_)) {
    const bool same = std::filesystem::path(f).filename() == std::filesystem::path(path).filename();
    if (!same && absl::EndsWith(f, suffix)) std::remove(f.c_str());
  }
  nlohmann::ordered_json j;
  j["eval_return"] = best_->mean_return;
  j["eval_return_std"] = best_->std_return;
  j["update"] = best_update_;
  j["env_steps"] = best_env_steps_;
  j["checkpoint"] = path;
  j["eval_seed"] = seed_;
  j["eval_episodes"] = options_.episodes;
  return WriteFileAtomic(BestJsonPath(checkpoints_dir_), j.dump(2) + "\n");
}

void PeriodicEvaluator::FillSummary(RunSummary* s) const {
  s->eval_seed = seed_;
  if (best_.has_value()) {
    s->best_eval_return = best_->mean_return;
    s->best_eval_update = best_update_;
  }
}

}  // namespace proxima
