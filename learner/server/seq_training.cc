#include "learner/server/seq_training.h"

#include "absl/strings/str_format.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace proxima {

absl::Status SeqTrainingOptions::Validate() const {
  PROXIMA_RETURN_IF_ERROR(trainer.Validate());
  if (chunks_per_update < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunks per update = ", chunks_per_update, ", want >= 1"));
  }
  if (max_policy_lag < -1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max policy lag = ", max_policy_lag, ", want >= 0 or -1 (no limit)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SeqTraining>> SeqTraining::Create(
    lm::SeqPolicy policy, lm::SeqPolicy reference, const SeqTrainingOptions& options) {
  PROXIMA_RETURN_IF_ERROR(options.Validate());
  for (auto& p : policy->parameters()) p.set_requires_grad(true);
  PROXIMA_ASSIGN_OR_RETURN(
      std::unique_ptr<learner_lm::SeqTrainer> trainer,
      learner_lm::SeqTrainer::Create(std::move(policy), std::move(reference), options.trainer));
  return std::unique_ptr<SeqTraining>(new SeqTraining(std::move(trainer), options));
}

bool SeqTraining::Add(QueuedChunk chunk, uint64_t version) {
  if (options_.max_policy_lag >= 0 && chunk.policy_version + options_.max_policy_lag < version) {
    return false;
  }
  batch_.push_back(std::move(chunk));
  return true;
}

RunProgress::Update SeqTraining::Update(uint64_t version) {
  RunProgress::Update u;
  u.chunks = batch_.size();
  std::vector<SequenceChunk> chunks;
  chunks.reserve(batch_.size());
  for (const QueuedChunk& c : batch_) {
    u.transitions += c.transitions;
    const uint64_t lag = version - std::min(version, c.policy_version);
    u.lag_sum += static_cast<double>(lag) * static_cast<double>(c.transitions);
    u.lag_max = std::max(u.lag_max, lag);
    if (c.sequences) chunks.push_back(*c.sequences);
  }
  const absl::Time start = absl::Now();
  if (options_.reward) {
    if (absl::Status s = options_.reward->Rescore(&chunks); !s.ok()) {
      LogError(absl::StrCat("reward model at version ", version, ": ", s.ToString()));
      return u;
    }
  }
  absl::StatusOr<learner_lm::SeqUpdateMetrics> m = trainer_->Update(chunks);
  if (m.ok() && options_.reward) m->solved_fraction = options_.reward->last().exact;
  if (!m.ok()) {
    LogError(absl::StrCat("sequence update at version ", version, " failed: ",
                          m.status().ToString()));
    return u;
  }
  u.ok = true;
  UpdateMetrics& um = u.metrics;
  um.policy_loss = m->policy_loss;
  um.value_loss = m->value_loss;
  um.entropy = m->entropy;
  um.approx_kl = m->approx_kl;
  um.clip_fraction = m->clip_fraction;
  um.grad_norm = m->grad_norm;
  um.learning_rate = trainer_->options().learning_rate;
  um.kl_beta = m->kl_coef;
  um.minibatches = m->minibatch_steps;
  um.epochs_run = trainer_->options().epochs;
  um.samples = m->tokens;
  um.first_minibatch_ratio_max_deviation = m->first_ratio_deviation;
  um.update_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  absl::MutexLock l(&mu_);
  last_ = *m;
  ++updates_;
  return u;
}

std::vector<QueuedChunk> SeqTraining::Taken() {
  std::vector<QueuedChunk> out;
  out.swap(batch_);
  return out;
}

void SeqTraining::FillStatus(v1::SequenceStatus* out) const {
  absl::MutexLock l(&mu_);
  out->set_algorithm(learner_lm::SeqAlgoName(trainer_->options().algo));
  out->set_updates(updates_);
  out->set_last_kl_to_ref(last_.kl_to_ref);
  out->set_last_seq_kl_to_ref(last_.seq_kl_to_ref);
  out->set_last_mean_reward(last_.mean_reward);
  out->set_last_solved_fraction(last_.solved_fraction);
  out->set_last_groups(static_cast<uint64_t>(last_.groups));
  out->set_last_degenerate_groups(static_cast<uint64_t>(last_.degenerate_groups));
  if (updates_ > 0) {  // the evaluator does not recompute while training
    out->set_mean_abs_log_prob_gap(last_.behaviour_gap);
    out->set_max_abs_log_prob_gap(last_.behaviour_gap_max);
  }
}

std::string SeqTraining::UpdateLine(const RunProgress::Update& u) const {
  v1::SequenceStatus last;
  FillStatus(&last);
  return absl::StrFormat(
      "update %llu (%s): %zu chunks, %lld tokens, reward %.3f, solved %.3f, KL to reference "
      "%.4f/token %.3f/sequence, clip %.3f, max lag %llu",
      static_cast<unsigned long long>(last.updates()), last.algorithm(), u.chunks,
      static_cast<long long>(u.transitions), last.last_mean_reward(), last.last_solved_fraction(),
      last.last_kl_to_ref(), last.last_seq_kl_to_ref(), u.metrics.clip_fraction,
      static_cast<unsigned long long>(u.lag_max));
}

}  // namespace proxima
