#include "learner/run_files.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace proxima {
namespace {

nlohmann::json NumberOrNull(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json ConfigToJson(const PpoConfig& c) {
  nlohmann::json j;
  j["env"] = c.env_id;
  j["seed"] = c.seed;
  j["total_steps"] = c.total_steps;
  j["num_envs"] = c.num_envs;
  j["rollout_length"] = c.rollout_length;
  j["hidden_sizes"] = c.model.hidden_sizes;
  j["activation"] = c.model.activation;
  j["shared_trunk"] = c.model.shared_trunk;
  j["init_log_std"] = c.model.init_log_std;
  j["learning_rate"] = c.learning_rate;
  j["anneal_lr"] = c.anneal_lr;
  j["adam_eps"] = c.adam_eps;
  j["num_minibatches"] = c.num_minibatches;
  j["update_epochs"] = c.update_epochs;
  j["max_grad_norm"] = c.max_grad_norm;
  j["gamma"] = c.gamma;
  j["gae_lambda"] = c.gae_lambda;
  j["normalize_advantages"] = c.normalize_advantages;
  j["clip_coef"] = c.clip_coef;
  j["clip_value_loss"] = c.clip_value_loss;
  j["value_clip_coef"] = c.value_clip_coef;
  j["ent_coef"] = c.ent_coef;
  j["vf_coef"] = c.vf_coef;
  j["target_kl"] = c.target_kl ? nlohmann::json(*c.target_kl) : nlohmann::json(nullptr);
  j["adaptive_kl"] = c.adaptive_kl;
  j["kl_target"] = c.kl_target;
  j["kl_beta"] = c.kl_beta;
  j["advantage"] = AdvantageEstimatorName(c.advantage);
  j["vtrace_rho_bar"] = c.vtrace_rho_bar;
  j["vtrace_c_bar"] = c.vtrace_c_bar;
  j["normalize_obs"] = c.normalize_obs;
  j["obs_clip"] = c.obs_clip;
  j["normalize_reward"] = c.normalize_reward;
  j["reward_clip"] = c.reward_clip;
  j["device"] = c.device;
  j["torch_threads"] = c.torch_threads;
  return j;
}

namespace {

// nlohmann's get<int>() converts any JSON number with a plain cast: a float
// such as 1e38 is undefined behaviour and a large integer wraps. Integer
// fields must be JSON integers that fit (found by tests/fuzz/config_fuzz.cc).
template <typename Int>
absl::StatusOr<Int> IntegerValue(const nlohmann::json& v, absl::string_view what) {
  using Limits = std::numeric_limits<Int>;
  if (v.is_number_unsigned()) {
    const uint64_t x = v.get<uint64_t>();
    if (x <= static_cast<uint64_t>(Limits::max())) return static_cast<Int>(x);
  } else if (v.is_number_integer()) {
    const int64_t x = v.get<int64_t>();
    if (x >= static_cast<int64_t>(Limits::min()) &&
        (x < 0 || static_cast<uint64_t>(x) <= static_cast<uint64_t>(Limits::max()))) {
      return static_cast<Int>(x);
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("bad run config: ", what, " must be an integer, got ", v.dump()));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("bad run config: ", what, " is out of range: ", v.dump()));
}

template <typename Int>
absl::StatusOr<Int> IntegerField(const nlohmann::json& j, const char* key) {
  return IntegerValue<Int>(j.at(key), key);
}

absl::StatusOr<std::vector<int>> IntVectorField(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = j.at(key);
  if (!v.is_array()) {
    return absl::InvalidArgumentError(absl::StrCat("bad run config: ", key, " must be a list"));
  }
  std::vector<int> out;
  for (const nlohmann::json& e : v) {
    PROXIMA_ASSIGN_OR_RETURN(int x, IntegerValue<int>(e, key));
    out.push_back(x);
  }
  return out;
}

}  // namespace

absl::StatusOr<PpoConfig> ConfigFromJson(const nlohmann::json& j) {
  PpoConfig c;
  try {
    c.env_id = j.at("env").get<std::string>();
    PROXIMA_ASSIGN_OR_RETURN(c.seed, IntegerField<uint64_t>(j, "seed"));
    PROXIMA_ASSIGN_OR_RETURN(c.total_steps, IntegerField<int64_t>(j, "total_steps"));
    PROXIMA_ASSIGN_OR_RETURN(c.num_envs, IntegerField<int>(j, "num_envs"));
    PROXIMA_ASSIGN_OR_RETURN(c.rollout_length, IntegerField<int>(j, "rollout_length"));
    PROXIMA_ASSIGN_OR_RETURN(c.model.hidden_sizes, IntVectorField(j, "hidden_sizes"));
    c.model.activation = j.at("activation").get<std::string>();
    c.model.shared_trunk = j.at("shared_trunk").get<bool>();
    c.model.init_log_std = j.at("init_log_std").get<double>();
    c.learning_rate = j.at("learning_rate").get<double>();
    c.anneal_lr = j.at("anneal_lr").get<bool>();
    c.adam_eps = j.at("adam_eps").get<double>();
    PROXIMA_ASSIGN_OR_RETURN(c.num_minibatches, IntegerField<int>(j, "num_minibatches"));
    PROXIMA_ASSIGN_OR_RETURN(c.update_epochs, IntegerField<int>(j, "update_epochs"));
    c.max_grad_norm = j.at("max_grad_norm").get<double>();
    c.gamma = j.at("gamma").get<double>();
    c.gae_lambda = j.at("gae_lambda").get<double>();
    c.normalize_advantages = j.at("normalize_advantages").get<bool>();
    c.clip_coef = j.at("clip_coef").get<double>();
    c.clip_value_loss = j.at("clip_value_loss").get<bool>();
    c.value_clip_coef = j.at("value_clip_coef").get<double>();
    c.ent_coef = j.at("ent_coef").get<double>();
    c.vf_coef = j.at("vf_coef").get<double>();
    if (!j.at("target_kl").is_null()) c.target_kl = j.at("target_kl").get<double>();
    c.adaptive_kl = j.at("adaptive_kl").get<bool>();
    c.kl_target = j.at("kl_target").get<double>();
    c.kl_beta = j.at("kl_beta").get<double>();
    PROXIMA_ASSIGN_OR_RETURN(c.advantage,
                             ParseAdvantageEstimator(j.at("advantage").get<std::string>()));
    c.vtrace_rho_bar = j.at("vtrace_rho_bar").get<double>();
    c.vtrace_c_bar = j.at("vtrace_c_bar").get<double>();
    c.normalize_obs = j.at("normalize_obs").get<bool>();
    c.obs_clip = j.at("obs_clip").get<double>();
    c.normalize_reward = j.at("normalize_reward").get<bool>();
    c.reward_clip = j.at("reward_clip").get<double>();
    c.device = j.at("device").get<std::string>();
    PROXIMA_ASSIGN_OR_RETURN(c.torch_threads, IntegerField<int>(j, "torch_threads"));
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("bad run config: ", e.what()));
  }
  PROXIMA_RETURN_IF_ERROR(c.Validate());
  return c;
}

nlohmann::json SummaryToJson(const RunSummary& s) {
  nlohmann::json j;
  j["env"] = s.env;
  j["seed"] = s.seed;
  j["mode"] = s.mode;
  j["device"] = s.device;
  j["actors"] = s.actors;
  j["total_env_steps"] = s.total_env_steps;
  j["updates"] = s.updates;
  j["wall_seconds"] = s.wall_seconds;
  j["env_steps_per_second"] = s.env_steps_per_second;
  j["episodes"] = s.episodes;
  j["mean_return_last_100"] = NumberOrNull(s.mean_return_last_100);
  j["solved_at_step"] =
      s.solved_at_step ? nlohmann::json(*s.solved_at_step) : nlohmann::json(nullptr);
  j["solved_at_seconds"] =
      s.solved_at_seconds ? nlohmann::json(*s.solved_at_seconds) : nlohmann::json(nullptr);
  return j;
}

std::string MetricsCsvHeader() {
  std::string out;
  for (const MetricField& f : MetricFields()) {
    if (f.csv_column == nullptr) continue;
    if (!out.empty()) out += ',';
    out += f.csv_column;
  }
  return out;
}

std::string MetricsCsvLine(const MetricsRow& row) {
  std::string out;
  for (const MetricField& f : MetricFields()) {
    if (f.csv_column == nullptr) continue;
    if (!out.empty()) out += ',';
    const double v = f.value(row);
    switch (f.csv_format.conversion) {
      case 'd':
        absl::StrAppendFormat(&out, "%d", static_cast<int64_t>(v));
        break;
      case 'f':
        absl::StrAppendFormat(&out, "%.*f", f.csv_format.precision, v);
        break;
      default:
        absl::StrAppendFormat(&out, "%.*g", f.csv_format.precision, v);
        break;
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<MetricsCsv>> MetricsCsv::Open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return absl::InternalError(absl::StrCat("cannot create '", path, "'"));
  std::fputs((MetricsCsvHeader() + "\n").c_str(), f);
  std::fflush(f);
  return std::unique_ptr<MetricsCsv>(new MetricsCsv(f));
}

MetricsCsv::~MetricsCsv() { std::fclose(file_); }

absl::Status MetricsCsv::Append(const MetricsRow& r) {
  const std::string line = MetricsCsvLine(r) + "\n";
  if (std::fputs(line.c_str(), file_) < 0 || std::fflush(file_) != 0) {
    return absl::InternalError("cannot write metrics.csv");
  }
  return absl::OkStatus();
}

std::string DefaultRunDir(const std::string& env_id, uint64_t seed) {
  std::string name = env_id;
  for (char& c : name) {
    const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
    if (!keep) c = '_';
  }
  return absl::StrCat("runs/", name, "-", seed);
}

absl::Status InitRunDir(const std::string& dir, const PpoConfig& config) {
  PROXIMA_RETURN_IF_ERROR(MakeDirs(dir));
  return WriteFileAtomic(dir + "/config.json", ConfigToJson(config).dump(2) + "\n");
}

absl::Status WriteSummary(const std::string& dir, const RunSummary& summary) {
  return WriteFileAtomic(dir + "/summary.json", SummaryToJson(summary).dump(2) + "\n");
}

}  // namespace proxima
