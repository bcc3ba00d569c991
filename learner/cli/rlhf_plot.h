// The over-optimisation plot of `proxima plot` (plot_command.h): the runs of
// `proxima lm rl --reward-model` (learner/lm/rl_command.h) and of `proxima
// train --reward-model` (learner/server/seq_run_files.h), whose
// metrics.csv has the columns seq_kl_to_ref, learned_reward and true_reward,
// are drawn as the learned reward (the reward model's raw r) and the hidden
// true score against the KL to the frozen reference, so a user sees where
// optimising the proxy stops helping: the learned reward keeps rising while
// the true score flattens or falls.
//
// Two panels, learned reward left, true score right, x the KL to the
// reference in nats per sequence; one colour per run, labelled with the run
// directory's name and its β (the kl_coef of its first row: the
// --reward-kl-beta PPO started at, or GRPO's --kl-beta; a cluster run,
// `proxima train --reward-model`, has no such column: the "kl_beta" its
// learner recorded in config.json, or no β in the label when there is
// none). A cluster run's row 0, the evaluated
// start, has held-out cells only. Per run:
//   - a thin line through the training batches' means, smoothed over
//     RlhfSmoothWindow(rows) consecutive iterations (KL and reward averaged
//     over the same iterations), so the batch-to-batch noise does not hide
//     the trend;
//   - points joined by a thick line at the held-out evaluations (the
//     held_out_* columns: one sample per held-out prompt; iteration 0, the
//     SFT policy, sits at KL 0), where those columns are filled.
// A plot holds RLHF runs only; PlotCommand routes here when the first run
// is one and refuses to mix kinds.
//
// Errors: NotFound for a missing run directory or metrics.csv;
// InvalidArgument for a metrics.csv without those columns or with a
// malformed row (naming file and line). The command's exit status as
// plot_command.h's.
#ifndef PROXIMA_LEARNER_CLI_RLHF_PLOT_H_
#define PROXIMA_LEARNER_CLI_RLHF_PLOT_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "learner/cli/plot_command.h"

namespace proxima {

struct RlhfCurve {
  std::string run_dir;  // as given
  std::string label;    // "<directory name> (β <kl_coef of the first row>)"
  double beta = 0;  // NaN: not recorded (a cluster run from before kl_beta)
  // Training batches, smoothed; one point per window position.
  std::vector<double> batch_kl, batch_learned, batch_true;
  // Held-out evaluations (rows whose held_out_* cells are filled).
  std::vector<double> held_kl, held_learned, held_true;
  int64_t rows = 0;  // data rows in metrics.csv
};

// True when RUN_DIR/metrics.csv exists and its header names seq_kl_to_ref,
// learned_reward and true_reward (a `proxima lm rl --reward-model` run).
bool IsRlhfRun(const std::string& run_dir);

// The smoothing window for a run of `rows` iterations: a tenth of them,
// between 1 and 30 (a batch's KL and reward vary from batch to batch with
// its prompts; a long run needs the wider window to show a trend).
int RlhfSmoothWindow(int64_t rows);

absl::StatusOr<RlhfCurve> ReadRlhfCurve(const std::string& run_dir);

// The data file of one run: a first block "kl learned true" of the smoothed
// batch points, two blank lines, a second block of the held-out points
// (gnuplot's index 0 and 1).
std::string RlhfPlotData(const RlhfCurve& curve);

// The gnuplot script drawing `curves` (their data files in the same order)
// into `png` at options' size and title.
std::string RlhfPlotScript(const PlotOptions& options, const std::vector<RlhfCurve>& curves,
                           const std::vector<std::string>& data_files, const std::string& png);

// `proxima plot` over RLHF runs: reads every run, draws, reports the file.
int PlotRlhfRuns(const PlotOptions& options, std::ostream& out, std::ostream& err);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_RLHF_PLOT_H_
