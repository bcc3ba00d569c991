#include "learner/server/seq_run_files.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "learner/checkpoint_names.h"

namespace proxima {
namespace {

constexpr char kKind[] = "sequence";

std::string MetricsPath(const std::string& dir) { return dir + "/metrics.csv"; }
std::string ConfigPath(const std::string& dir) { return dir + "/config.json"; }

}  // namespace

std::string SeqMetricsHeader(bool rlhf) {
  return absl::StrCat(
      "update,wall_seconds,sequences,tokens,batch_tokens,update_seconds,mean_reward,"
      "solved_fraction,kl_to_ref,seq_kl_to_ref,policy_loss,value_loss,clip_fraction,"
      "grad_norm,max_lag,held_out_accuracy",
      rlhf ? ",learned_reward,true_reward,true_rule,true_style,held_out_learned_reward,"
             "held_out_true_reward,held_out_exact,held_out_seq_kl_to_ref"
           : "");
}

bool SeqRunIsRlhf(const nlohmann::json& config) {
  const nlohmann::json flags = config.value("learner_flags", nlohmann::json::object());
  return flags.is_object() && flags.contains("reward_model") && flags["reward_model"].is_string() &&
         !flags["reward_model"].get<std::string>().empty();
}

std::string SeqMetricsLine(const SeqMetricsRow& r, bool rlhf) {
  std::string rlhf_cells;
  if (rlhf) {
    for (const double v : {r.learned_reward, r.true_reward, r.true_rule, r.true_style,
                           r.held_out_learned_reward, r.held_out_true_reward, r.held_out_exact,
                           r.held_out_seq_kl_to_ref}) {
      absl::StrAppend(&rlhf_cells, ",", std::isnan(v) ? std::string() : absl::StrFormat("%.6g", v));
    }
  }
  return absl::StrFormat(
      "%d,%.3f,%d,%d,%d,%.4f,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%d,%s",
      r.update, r.wall_seconds, r.sequences, r.tokens, r.batch_tokens, r.update_seconds,
      r.mean_reward, r.solved_fraction, r.kl_to_ref, r.seq_kl_to_ref, r.policy_loss,
      r.value_loss, r.clip_fraction, r.grad_norm, r.max_lag,
      std::isnan(r.held_out_accuracy) ? std::string()
                                      : absl::StrFormat("%.6g", r.held_out_accuracy)) +
         rlhf_cells;
}

absl::StatusOr<nlohmann::json> SeqRunFiles::ReadConfig(const std::string& dir) {
  const std::string path = ConfigPath(dir);
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError(absl::StrCat(path, ": no such file (not a run directory?)"));
    }
    return text.status();
  }
  nlohmann::json config = nlohmann::json::parse(*text, nullptr, false);
  if (config.is_discarded() || !config.is_object()) {
    return absl::DataLossError(absl::StrCat(path, ": not a JSON object"));
  }
  if (config.value("kind", std::string()) != kKind) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": not a sequence run's (an MLP run's config.json has no \"kind\": \"",
                     kKind, "\")"));
  }
  if (!config.contains("learner_flags") || !config["learner_flags"].is_object()) {
    return absl::DataLossError(absl::StrCat(path, ": \"learner_flags\" must be an object"));
  }
  return config;
}

absl::StatusOr<std::unique_ptr<SeqRunFiles>> SeqRunFiles::Create(const std::string& dir,
                                                                  nlohmann::json config) {
  PROXIMA_RETURN_IF_ERROR(MakeDirs(dir));
  config["kind"] = kKind;
  PROXIMA_RETURN_IF_ERROR(WriteFileAtomic(ConfigPath(dir), config.dump(2) + "\n"));
  const bool rlhf = SeqRunIsRlhf(config);
  PROXIMA_RETURN_IF_ERROR(WriteFileAtomic(MetricsPath(dir), SeqMetricsHeader(rlhf) + "\n"));
  PROXIMA_ASSIGN_OR_RETURN(std::unique_ptr<TensorBoardWriter> events, TensorBoardWriter::Open(dir));
  return std::unique_ptr<SeqRunFiles>(new SeqRunFiles(dir, std::move(events), rlhf));
}

absl::StatusOr<std::unique_ptr<SeqRunFiles>> SeqRunFiles::Reopen(const std::string& dir) {
  PROXIMA_ASSIGN_OR_RETURN(const nlohmann::json config, ReadConfig(dir));
  const bool rlhf = SeqRunIsRlhf(config);
  if (!std::filesystem::exists(MetricsPath(dir))) {
    PROXIMA_RETURN_IF_ERROR(WriteFileAtomic(MetricsPath(dir), SeqMetricsHeader(rlhf) + "\n"));
  }
  PROXIMA_ASSIGN_OR_RETURN(std::unique_ptr<TensorBoardWriter> events, TensorBoardWriter::Open(dir));
  return std::unique_ptr<SeqRunFiles>(new SeqRunFiles(dir, std::move(events), rlhf));
}

absl::Status SeqRunFiles::Append(const SeqMetricsRow& row) {
  const std::string path = MetricsPath(dir_);
  std::ofstream out(path, std::ios::app);
  out << SeqMetricsLine(row, rlhf_) << "\n";
  out.flush();
  if (!out) return absl::InternalError(absl::StrCat(path, ": cannot append a row"));
  // Row 0 (the start) has only the held-out accuracy; the writer leaves NaN out.
  const bool start = row.update == 0;
  auto measured = [start](double v) { return start ? NAN : v; };
  std::vector<TensorBoardScalar> scalars = {
      {"charts/held_out_accuracy", row.held_out_accuracy},
      {"charts/mean_reward", measured(row.mean_reward)},
      {"charts/solved_fraction", measured(row.solved_fraction)},
      {"losses/kl_to_ref", measured(row.kl_to_ref)},
      {"losses/seq_kl_to_ref", measured(row.seq_kl_to_ref)},
      {"losses/policy_loss", measured(row.policy_loss)},
      {"losses/value_loss", measured(row.value_loss)},
      {"losses/clip_fraction", measured(row.clip_fraction)},
      {"losses/grad_norm", measured(row.grad_norm)},
      {"perf/update_seconds", measured(row.update_seconds)},
      {"perf/max_lag", measured(static_cast<double>(row.max_lag))},
  };
  if (rlhf_) {  // the learned and the true reward side by side, and the KL
    scalars.insert(scalars.end(),
                   {{"rlhf/learned_reward", row.learned_reward},
                    {"rlhf/true_reward", row.true_reward},
                    {"rlhf/true_rule", row.true_rule},
                    {"rlhf/true_style", row.true_style},
                    {"rlhf/held_out_learned_reward", row.held_out_learned_reward},
                    {"rlhf/held_out_true_reward", row.held_out_true_reward},
                    {"rlhf/held_out_exact", row.held_out_exact},
                    {"rlhf/held_out_seq_kl_to_ref", row.held_out_seq_kl_to_ref}});
  }
  return events_->WriteScalars(static_cast<int64_t>(row.tokens), scalars);
}

absl::StatusOr<std::string> SeqRunFiles::SaveCheckpoint(lm::SeqPolicyImpl& model,
                                                        const lm::SeqCheckpointInfo& info) {
  const std::string ckpt_dir = dir_ + "/checkpoints";
  PROXIMA_ASSIGN_OR_RETURN(std::string path, lm::SaveSeqCheckpoint(ckpt_dir, model, info));
  std::vector<std::string> untagged;
  for (const std::string& p : ListCheckpoints(ckpt_dir)) {
    std::string tag;
    if (CheckpointVersion(p, &tag) >= 0 && tag.empty()) untagged.push_back(p);
  }
  // ListCheckpoints lists the newest first.
  for (size_t i = kKeepSeqCheckpoints; i < untagged.size(); ++i) {
    std::error_code ec;
    std::filesystem::remove(untagged[i], ec);
  }
  return path;
}

absl::Status SeqRunFiles::WriteSummary(const nlohmann::json& summary) {
  return WriteFileAtomic(dir_ + "/summary.json", summary.dump(2) + "\n");
}

}  // namespace proxima
