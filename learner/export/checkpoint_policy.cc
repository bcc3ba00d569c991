#include "learner/export/checkpoint_policy.h"

#include <sys/stat.h>

#include <torch/serialize.h>

#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/envs/registry.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "learner/ppo_updater.h"
#include "learner/run_files.h"
#include "learner/checkpoint.h"
#include "learner/periodic_eval.h"
#include "nlohmann/json.hpp"

namespace proxima {
namespace {

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The checkpoint's JSON meta record (config, counters, normalizer).
absl::StatusOr<nlohmann::json> ReadMeta(const std::string& path) {
  PROXIMA_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  try {
    std::istringstream in(bytes);
    torch::serialize::InputArchive archive;
    archive.load_from(in, torch::Device(torch::kCPU));
    c10::IValue meta;
    archive.read("meta", meta);
    if (!meta.isString()) {
      return absl::DataLossError(absl::StrCat(path, ": not a Proxima checkpoint (no meta record)"));
    }
    return nlohmann::json::parse(meta.toStringRef());
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat(path, ": not a readable checkpoint: ", e.what()));
  }
}

}  // namespace

PolicyShape CheckpointPolicy::shape() const {
  PolicyShape s;
  s.obs_dim = env.obs_dim();
  s.action_space = env.action_space;
  s.model = config.model;
  return s;
}

absl::StatusOr<std::string> ResolveCheckpointPath(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("no checkpoint path given");
  if (!IsDirectory(path)) {
    struct stat st;
    const size_t slash = path.rfind('/');
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (::stat(path.c_str(), &st) != 0 && base == kBestCheckpointTag) {
      // RUN_DIR/best: the best evaluation's checkpoint (--eval-every).
      const std::string parent = slash == std::string::npos ? "." : path.substr(0, slash);
      for (const std::string& dir : {parent, parent + "/checkpoints"}) {
        for (const std::string& f : ListCheckpoints(dir)) {
          if (absl::EndsWith(f, absl::StrCat("-", kBestCheckpointTag, ".pt"))) return f;
        }
      }
      return absl::NotFoundError(absl::StrCat(
          "no best checkpoint (ckpt-*-best.pt, written with --eval-every) in ", parent, " or ",
          parent, "/checkpoints"));
    }
    if (::stat(path.c_str(), &st) != 0) {
      return absl::NotFoundError(absl::StrCat("no such checkpoint file or directory: ", path));
    }
    return path;
  }
  for (const std::string& dir : {path, path + "/checkpoints"}) {
    if (!IsDirectory(dir) || ListCheckpoints(dir).empty()) continue;
    PROXIMA_ASSIGN_OR_RETURN(LoadedCheckpoint latest, FindLatestCheckpoint(dir));
    return latest.path;
  }
  return absl::NotFoundError(
      absl::StrCat("no checkpoint (ckpt-*.pt) in ", path, " or ", path, "/checkpoints"));
}

absl::StatusOr<CheckpointPolicy> LoadCheckpointPolicy(const std::string& path) {
  CheckpointPolicy out;
  PROXIMA_ASSIGN_OR_RETURN(out.path, ResolveCheckpointPath(path));
  PROXIMA_ASSIGN_OR_RETURN(nlohmann::json meta, ReadMeta(out.path));
  try {
    absl::StatusOr<PpoConfig> config = ConfigFromJson(meta.at("config"));
    if (!config.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(out.path, ": bad config record: ", config.status().message()));
    }
    out.config = *std::move(config);
    CheckpointCounters counters;
    const absl::Status s = ReadCheckpointCounters(meta, &counters);
    if (!s.ok()) return absl::DataLossError(absl::StrCat(out.path, ": ", s.message()));
    out.policy_version = counters.policy_version;
    out.env_steps = counters.env_steps;
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat(out.path, ": bad meta record: ", e.what()));
  }
  absl::StatusOr<EnvSpec> env = GetEnvSpec(out.config.env_id);
  if (!env.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(out.path, ": ", env.status().message()));
  }
  out.env = *std::move(env);
  // The learner's own restore path, on the CPU whatever device the run used.
  PpoConfig cpu_config = out.config;
  cpu_config.device = "cpu";
  absl::StatusOr<std::unique_ptr<PpoUpdater>> updater =
      PpoUpdater::Create(cpu_config, out.env, torch::Device(torch::kCPU));
  if (!updater.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(out.path, ": cannot build its network: ", updater.status().message()));
  }
  absl::Status restored = RestoreCheckpoint(out.path, **updater);
  if (!restored.ok()) return restored;
  auto snapshot = std::make_shared<PolicySnapshot>();
  snapshot->version = out.policy_version;
  snapshot->model = (*updater)->model();
  snapshot->model->eval();
  snapshot->normalizer.enabled = out.config.normalize_obs;
  snapshot->normalizer.clip = out.config.obs_clip;
  snapshot->normalizer.stats = (*updater)->obs_stats();
  out.snapshot = std::move(snapshot);
  return out;
}

}  // namespace proxima
