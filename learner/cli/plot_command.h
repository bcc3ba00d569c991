// `proxima plot RUN_DIR [RUN_DIR...] --out curves.png [--title T]
//              [--width W] [--height H]`
//
// Draws the learning curves of one or more runs into a PNG with two panels,
// mean episodic return (the last-100 mean of metrics.csv) against env steps
// and against wall-clock seconds, one line per run, labelled with the run
// directory's name. Sequence runs (`proxima train --env lm/...`) are drawn
// the same way with their held-out greedy exact match against completion
// tokens trained and wall time. Runs of `proxima lm rl --reward-model` get
// the over-optimisation plot instead: learned and true reward against the KL
// to the reference, one line per run labelled with its β (rlhf_plot.h). One
// plot holds runs of one kind. The drawing is Debian's gnuplot (package
// gnuplot-nox, through gnuplot_render.h): this command writes each run's
// points and a gnuplot script into a temporary directory, runs `gnuplot`
// from PATH on it (its pngcairo terminal, else png) and renames the finished
// image onto --out.
//
// The command parses its own arguments (it is dispatched before the global
// flag parser), so its flag names cannot collide with other commands'.
//
// Exit status: 0 ok; 1 gnuplot failed; 2 bad arguments, a missing run
// directory, a missing, empty or malformed metrics.csv, no finished episode
// in any run, or gnuplot not installed.
#ifndef PROXIMA_LEARNER_CLI_PLOT_COMMAND_H_
#define PROXIMA_LEARNER_CLI_PLOT_COMMAND_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace proxima {

struct PlotOptions {
  std::vector<std::string> run_dirs;
  std::string out;    // the PNG to write
  std::string title;  // above both panels; empty: none
  int width = 1200;   // pixels
  int height = 450;
};

// Parses the arguments that follow `plot`. InvalidArgument names the problem;
// `help` is set (and nothing else checked) for --help / -h.
absl::StatusOr<PlotOptions> ParsePlotArgs(const std::vector<std::string>& args, bool* help);

// The points of one run: metrics.csv rows whose mean_return is finite (rows
// before the first finished episode are left out).
struct RunCurve {
  std::string run_dir;  // as given
  std::string label;    // the run directory's name
  // A sequence run's metrics.csv (learner/server/seq_run_files.h): then
  // env_steps holds the completion tokens trained and mean_return the
  // held-out greedy exact match in percent, at the updates that measured it.
  bool sequence = false;
  std::vector<double> env_steps;
  std::vector<double> wall_seconds;
  std::vector<double> mean_return;
  int64_t rows = 0;   // data rows in metrics.csv, finite return or not
};

// The run directory's own name ("runs/CartPole-v1-1/" → "CartPole-v1-1").
std::string RunLabel(const std::string& run_dir);

// RUN_DIR/metrics.csv: its path and non-blank lines, the header first.
// NotFound for a missing run directory or file, InvalidArgument for an empty
// file.
struct MetricsCsv {
  std::string path;
  std::vector<std::string> lines;
};
absl::StatusOr<MetricsCsv> ReadMetricsCsv(const std::string& run_dir);

// NotFound for a missing run directory or metrics.csv; InvalidArgument for an
// empty or malformed metrics.csv (columns are found by their header names).
absl::StatusOr<RunCurve> ReadRunCurve(const std::string& run_dir);

// Runs the command; messages go to `out` / `err`. Returns the exit status.
int PlotCommand(const PlotOptions& options, std::ostream& out, std::ostream& err);

// `proxima plot ARGS...`: parse + run, with the usage on --help.
int PlotMain(const std::vector<std::string>& args);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_PLOT_COMMAND_H_
