#include "learner/server/seq_run_record.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "nlohmann/json.hpp"

namespace proxima {

SeqRunRecord::SeqRunRecord(const Settings& settings, std::unique_ptr<SeqRunFiles> files,
                           const lm::SeqCheckpointInfo& checkpoint, lm::SeqPolicy model,
                           SequenceEvaluator* evaluator, absl::Time started_at, StatusFn status)
    : settings_(settings),
      files_(std::move(files)),
      checkpoint_(checkpoint),
      model_(std::move(model)),
      evaluator_(evaluator),
      started_at_(started_at),
      status_(std::move(status)),
      held_out_start_(NAN),
      held_out_last_(NAN) {}

double SeqRunRecord::HeldOut(uint64_t version) {
  absl::StatusOr<double> acc =
      evaluator_->HeldOutAccuracy(settings_.held_out_prompts, version, settings_.held_out_seed);
  if (!acc.ok()) {
    LogWarning(absl::StrCat("held-out evaluation: ", acc.status().message()));
    return NAN;
  }
  held_out_last_ = *acc;
  held_out_last_version_ = version;
  LogInfo(absl::StrFormat("version %llu: held-out exact match %.1f%% (%d prompts)",
                          static_cast<unsigned long long>(version), 100 * *acc,
                          settings_.held_out_prompts));
  return *acc;
}

void SeqRunRecord::HeldOutRlhf(uint64_t version, SeqMetricsRow* row) {
  if (!settings_.reward) return;
  absl::StatusOr<learner_lm::RlhfHeldOut> h = settings_.reward->EvaluateHeldOut(*model_);
  if (!h.ok()) {
    LogWarning(absl::StrCat("held-out reward-model evaluation: ", h.status().message()));
    return;
  }
  rlhf_last_ = *h;
  if (!rlhf_start_.has_value()) rlhf_start_ = *h;
  row->held_out_learned_reward = h->scores.learned;
  row->held_out_true_reward = h->scores.true_score;
  row->held_out_exact = h->scores.exact;
  row->held_out_seq_kl_to_ref = h->seq_kl_to_ref;
  LogInfo(absl::StrFormat(
      "version %llu: held-out samples (T = 1, %d prompts): true %.3f (rule %.3f + style %.3f), "
      "learned %.3f, exact %.3f, KL to reference %.3f nats/sequence",
      static_cast<unsigned long long>(version), h->scores.completions, h->scores.true_score,
      h->scores.true_rule, h->scores.true_style, h->scores.learned, h->scores.exact,
      h->seq_kl_to_ref));
}

void SeqRunRecord::Checkpoint(uint64_t version) {
  if (!files_) return;
  checkpoint_.policy_version = version;
  absl::StatusOr<std::string> path = files_->SaveCheckpoint(*model_, checkpoint_);
  if (!path.ok()) {
    LogWarning(absl::StrCat("checkpoint: ", path.status().message()));
    return;
  }
  last_checkpoint_ = *path;
}

void SeqRunRecord::WriteSummary(uint64_t version) {
  if (!files_) return;
  const v1::LearnerStatus st = status_();
  const v1::SequenceStatus& seq = st.sequences();
  const double wall = absl::ToDoubleSeconds(absl::Now() - started_at_);
  auto number = [](double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); };
  nlohmann::json summary = {
      {"env", checkpoint_.task_id},
      {"algo", seq.algorithm()},
      {"mode", "async"},
      {"updates", version},
      {"policy_version", version},
      {"updates_this_process", version - settings_.start_version},
      {"held_out_prompts", settings_.held_out_prompts},
      {"held_out_accuracy_start", number(held_out_start_)},
      {"held_out_accuracy", number(held_out_last_)},
      {"held_out_version", held_out_last_version_},
      {"last_mean_reward", seq.last_mean_reward()},
      {"last_solved_fraction", seq.last_solved_fraction()},
      {"last_kl_to_ref", seq.last_kl_to_ref()},
      {"last_seq_kl_to_ref", seq.last_seq_kl_to_ref()},
      {"sequences_trained", sequences_trained_},
      {"tokens_trained", tokens_trained_},
      {"wall_seconds", wall},
      {"trained_tokens_per_second", wall > 0 ? tokens_trained_ / wall : 0.0},
      {"update_seconds", update_seconds_},
      {"actors", st.actors_connected()},
      {"checkpoint", last_checkpoint_},
  };
  if (rlhf_start_.has_value() && rlhf_last_.has_value()) {
    summary["held_out_true_reward_start"] = rlhf_start_->scores.true_score;
    summary["held_out_true_reward"] = rlhf_last_->scores.true_score;
    summary["held_out_learned_reward_start"] = rlhf_start_->scores.learned;
    summary["held_out_learned_reward"] = rlhf_last_->scores.learned;
    summary["held_out_seq_kl_to_ref"] = rlhf_last_->seq_kl_to_ref;
  }
  if (settings_.reward) {
    summary["reward_normalization"] = {{"mean", settings_.reward->normalization_mean()},
                                       {"std", settings_.reward->normalization_std()}};
  }
  if (absl::Status s = files_->WriteSummary(summary); !s.ok()) {
    LogWarning(absl::StrCat("summary.json: ", s.message()));
  }
}

bool SeqRunRecord::Begin(uint64_t version) {
  if (!files_ && settings_.max_updates == 0) return false;
  held_out_start_ = HeldOut(version);
  SeqMetricsRow start;
  HeldOutRlhf(version, &start);
  if (files_ && !settings_.resumed) {  // row 0: the start, so curves begin there
    start.wall_seconds = absl::ToDoubleSeconds(absl::Now() - started_at_);
    start.held_out_accuracy = held_out_start_;
    if (absl::Status s = files_->Append(start); !s.ok()) LogWarning(s.ToString());
  }
  // A resumed run that already made its updates has nothing left to do.
  if (settings_.max_updates > 0 && version >= static_cast<uint64_t>(settings_.max_updates)) {
    finished_ = true;
    WriteSummary(version);
    return true;
  }
  return false;
}

bool SeqRunRecord::AfterUpdate(const RunProgress::Update& u, uint64_t version,
                               uint64_t sequences, const v1::SequenceStatus& seq) {
  sequences_trained_ += sequences;
  tokens_trained_ += static_cast<uint64_t>(u.transitions);
  update_seconds_ += u.metrics.update_seconds;
  const bool last =
      settings_.max_updates > 0 && version >= static_cast<uint64_t>(settings_.max_updates);
  const bool eval = last || (settings_.eval_every_updates > 0 &&
                             version % static_cast<uint64_t>(settings_.eval_every_updates) == 0);
  const double held_out = eval ? HeldOut(version) : NAN;
  SeqMetricsRow row;
  if (settings_.reward) {
    const learner_lm::RlhfScores& r = settings_.reward->last();
    row.learned_reward = r.learned;
    row.true_reward = r.true_score;
    row.true_rule = r.true_rule;
    row.true_style = r.true_style;
    LogInfo(absl::StrFormat(
        "update %llu: learned reward %.3f, true %.3f (rule %.3f + style %.3f), exact %.3f, KL "
        "to reference %.3f/sequence; reward model %.3f s",
        static_cast<unsigned long long>(version), r.learned, r.true_score, r.true_rule,
        r.true_style, r.exact, seq.last_seq_kl_to_ref(), settings_.reward->last_seconds()));
    if (eval) HeldOutRlhf(version, &row);
  }
  if (files_) {
    row.update = version;
    row.wall_seconds = absl::ToDoubleSeconds(absl::Now() - started_at_);
    row.sequences = sequences_trained_;
    row.tokens = tokens_trained_;
    row.batch_tokens = u.transitions;
    row.update_seconds = u.metrics.update_seconds;
    row.mean_reward = seq.last_mean_reward();
    row.solved_fraction = seq.last_solved_fraction();
    row.kl_to_ref = seq.last_kl_to_ref();
    row.seq_kl_to_ref = seq.last_seq_kl_to_ref();
    row.policy_loss = u.metrics.policy_loss;
    row.value_loss = u.metrics.value_loss;
    row.clip_fraction = u.metrics.clip_fraction;
    row.grad_norm = u.metrics.grad_norm;
    row.max_lag = u.lag_max;
    row.held_out_accuracy = held_out;
    if (absl::Status s = files_->Append(row); !s.ok()) LogWarning(s.ToString());
    if (eval) Checkpoint(version);
  }
  if (!last || finished_) return false;
  finished_ = true;
  WriteSummary(version);
  return true;
}

void SeqRunRecord::End(uint64_t version) {
  if (!files_ || finished_) return;
  // Stopped before max_updates: a checkpoint to resume from, and the summary.
  if (version > settings_.start_version) Checkpoint(version);
  WriteSummary(version);
}

}  // namespace proxima
