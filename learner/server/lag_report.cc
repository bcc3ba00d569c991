#include "learner/server/lag_report.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "learner/run_files.h"

namespace proxima {

std::string ChunkOutcomeLabel(v1::ChunkOutcome outcome) {
  const std::string name = v1::ChunkOutcome_Name(outcome);
  if (name.empty()) return absl::StrCat("outcome_", static_cast<int>(outcome));
  absl::string_view v = name;
  absl::ConsumePrefix(&v, "CHUNK_OUTCOME_");
  return absl::AsciiStrToLower(v);
}

int64_t TransitionsDropped(const v1::LearnerStatus& st) {
  int64_t total = 0;
  for (const v1::DropCount& d : st.chunks_dropped()) total += static_cast<int64_t>(d.transitions());
  return total;
}

double RunDroppedFraction(const v1::LearnerStatus& st) {
  if (st.transitions_received() == 0) return 0;
  return static_cast<double>(TransitionsDropped(st)) /
         static_cast<double>(st.transitions_received());
}

std::string LagAndDropsText(const v1::LearnerStatus& st) {
  return absl::StrFormat("lag %.2f (max %d) dropped %.1f%%", st.last_update().mean_lag(),
                         st.last_update().max_lag(), 100 * RunDroppedFraction(st));
}

std::string ProgressLine(const v1::LearnerStatus& st, const std::string& env_id,
                         int64_t total_steps) {
  const double rate = st.env_steps_per_second();
  const double left = static_cast<double>(total_steps) - static_cast<double>(st.env_steps());
  const std::string eta =
      !(rate > 0) ? "-" : absl::StrFormat("%.0fs", left > 0 ? left / rate : 0.0);
  const double ret = st.mean_episode_return();
  return absl::StrFormat(
      "[%s] steps %d/%d  %.0f steps/s  return %s  version %d  %s  actors %d  ETA %s%s", env_id,
      st.env_steps(), total_steps, rate, std::isfinite(ret) ? absl::StrFormat("%.1f", ret) : "-",
      st.policy_version(), LagAndDropsText(st), st.actors_connected(), eta,
      st.paused() ? "  PAUSED" : "");
}

std::string SeqProgressLine(const v1::LearnerStatus& st, const std::string& env_id,
                            int64_t max_updates) {
  const v1::SequenceStatus& seq = st.sequences();
  const double held_out = seq.held_out_accuracy();
  return absl::StrFormat(
      "[%s] update %d/%d  reward %.3f  solved %.3f  held-out %s  KL %.3f/seq  %.0f tokens/s  "
      "%s  actors %d",
      env_id, st.policy_version(), max_updates, seq.last_mean_reward(),
      seq.last_solved_fraction(),
      std::isfinite(held_out)
          ? absl::StrFormat("%.1f%% (v%d)", 100 * held_out, seq.held_out_version())
          : std::string("-"),
      seq.last_seq_kl_to_ref(), st.env_steps_per_second(), LagAndDropsText(st),
      st.actors_connected());
}

void FillSummaryAccounting(const v1::LearnerStatus& st, RunSummary* summary) {
  summary->transitions_collected = static_cast<int64_t>(st.transitions_received());
  summary->transitions_trained = static_cast<int64_t>(st.transitions_trained());
  summary->transitions_dropped = TransitionsDropped(st);
  summary->transitions_dropped_by_reason.clear();
  for (const v1::DropCount& d : st.chunks_dropped()) {
    if (d.transitions() == 0) continue;
    summary->transitions_dropped_by_reason[ChunkOutcomeLabel(d.reason())] +=
        static_cast<int64_t>(d.transitions());
  }
}

}  // namespace proxima
