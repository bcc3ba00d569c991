#include "learner/cli/plot_command.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/flags.h"
#include "common/logging.h"
#include "learner/cli/gnuplot_render.h"
#include "learner/cli/rlhf_plot.h"

namespace proxima {
namespace {

namespace fs = std::filesystem;

constexpr char kPlotUsage[] =
    "usage: proxima plot RUN_DIR [RUN_DIR...] --out FILE.png [--title T] [--width W] "
    "[--height H]\n"
    "\n"
    "Draws mean episodic return (last-100 mean, from RUN_DIR/metrics.csv) against env\n"
    "steps and against wall-clock seconds, one line per run, with gnuplot\n"
    "(apt-get install gnuplot-nox). Runs of `proxima lm rl --reward-model` are drawn\n"
    "as learned reward and true score against the KL to the reference, one line per\n"
    "run labelled with its beta (the over-optimisation plot).\n"
    "\n"
    "  --out FILE    the PNG to write (required)\n"
    "  --title T     title above both panels\n"
    "  --width W     image width in pixels [1200]\n"
    "  --height H    image height in pixels [450]\n";

constexpr int kMinPixels = 200;
constexpr int kMaxPixels = 10000;

absl::StatusOr<int> ParsePixels(const std::string& flag, const std::string& value) {
  int v = 0;
  if (!absl::SimpleAtoi(value, &v)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid value '", value, "' for flag --", flag));
  }
  if (v < kMinPixels || v > kMaxPixels) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " must be in [", kMinPixels, ", ",
                                                   kMaxPixels, "] pixels (got ", v, ")"));
  }
  return v;
}

// The smallest 1, 2 or 5 × 10^n step that splits [0, max] into at most
// `max_ticks` intervals.
double NiceStep(double max, int max_ticks) {
  const double raw = std::max(max, 1e-9) / max_ticks;
  const double decade = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * decade >= raw * (1 - 1e-9)) return m * decade;
  }
  return 10 * decade;
}

// "0", "500", "20k", "1.5M": env-step counts with SI prefixes.
std::string SiLabel(double v) {
  static const char* const kPrefixes[] = {"", "k", "M", "G", "T"};
  int k = 0;
  while (k < 4 && std::fabs(v) >= 1000) {
    v /= 1000;
    ++k;
  }
  return absl::StrFormat("%.6g%s", v, kPrefixes[k]);
}

// gnuplot commands for an x axis from 0 to past `max` (in data units; labels
// show value / `divisor`) with explicit, readable tick labels.
std::string XAxis(double max, double divisor, bool si, int max_ticks, const std::string& label) {
  const double step = NiceStep(max / divisor, max_ticks);
  const int intervals = std::max(1, static_cast<int>(std::ceil(max / divisor / step - 1e-9)));
  std::string tics;
  for (int i = 0; i <= intervals; ++i) {
    const double v = i * step;
    absl::StrAppend(&tics, i > 0 ? ", " : "",
                    GnuplotString(si ? SiLabel(v) : absl::StrFormat("%.6g", v)), " ",
                    absl::StrFormat("%.17g", v));
  }
  return absl::StrCat("set xrange [0:", absl::StrFormat("%.17g", intervals * step), "]\n",
                      "set xtics (", tics, ")\n", "set xlabel ", GnuplotString(label), "\n");
}

std::string Script(const PlotOptions& o, const std::vector<RunCurve>& curves,
                   const std::vector<std::string>& data_files, const std::string& png) {
  double max_steps = 0, max_seconds = 0;
  for (const RunCurve& c : curves) {
    for (double v : c.env_steps) max_steps = std::max(max_steps, v);
    for (double v : c.wall_seconds) max_seconds = std::max(max_seconds, v);
  }
  // Wall time in the unit that keeps its numbers short.
  double divisor = 1;
  std::string unit = "seconds";
  if (max_seconds > 36000) {
    divisor = 3600;
    unit = "hours";
  } else if (max_seconds > 600) {
    divisor = 60;
    unit = "minutes";
  }
  // About 60 pixels per tick label in each half of the image.
  const int max_ticks = std::max(2, (o.width / 2 - 100) / 60);

  std::string s = GnuplotPngPreamble(o.width, o.height, png);
  absl::StrAppend(&s, "set multiplot layout 1,2",
                  o.title.empty() ? "" : " title " + GnuplotString(o.title), "\n");
  // The key sits at the top left in headroom added above the data (about 16
  // pixels per run), so it never hides a curve.
  const double headroom =
      std::min(1.0, (16.0 * curves.size() + 12) / std::max(100, o.height - 110));
  absl::StrAppendFormat(&s, "set offsets 0, 0, graph %.3f, 0\n", headroom);
  const bool sequence = !curves.empty() && curves.front().sequence;
  absl::StrAppend(&s,
                  "set grid\n"
                  "set key top left Left reverse samplen 2\n",
                  sequence ? "set ylabel \"held-out exact match (%, greedy)\"\n"
                           : "set ylabel \"mean episodic return (last 100 episodes)\"\n");
  const std::string what = sequence ? "held-out accuracy" : "return";
  for (int panel = 0; panel < 2; ++panel) {
    if (panel == 0) {
      absl::StrAppend(
          &s, XAxis(max_steps, 1, true, max_ticks,
                    sequence ? "completion tokens trained" : "env steps"),
          "set title ", GnuplotString(what + (sequence ? " vs tokens" : " vs env steps")), "\n");
    } else {
      absl::StrAppend(&s, XAxis(max_seconds, divisor, false, max_ticks, "wall-clock " + unit),
                      "set title ", GnuplotString(what + " vs wall time"), "\n");
    }
    absl::StrAppend(&s, "plot ");
    for (size_t i = 0; i < curves.size(); ++i) {
      const std::string x =
          panel == 0 ? "1" : absl::StrFormat("($2/%.17g)", divisor);
      absl::StrAppend(&s, i > 0 ? ", \\\n     " : "", GnuplotString(data_files[i]), " using ", x,
                      ":3 with lines linewidth 2 linetype ", i + 1, " title ",
                      GnuplotString(curves[i].label));
    }
    absl::StrAppend(&s, "\n");
  }
  absl::StrAppend(&s, "unset multiplot\n");
  return s;
}

}  // namespace

std::string RunLabel(const std::string& run_dir) {
  fs::path p = fs::path(run_dir).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // trailing slash
  std::string name = p.filename().string();
  if (name.empty() || name == "." || name == "..") {
    std::error_code ec;
    name = fs::weakly_canonical(fs::absolute(run_dir), ec).filename().string();
  }
  return name.empty() ? run_dir : name;
}

absl::StatusOr<PlotOptions> ParsePlotArgs(const std::vector<std::string>& args, bool* help) {
  PlotOptions o;
  *help = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      *help = true;
      return o;
    }
    std::string name, value;
    bool has_value = false;
    if (!SplitLongFlag(arg, &name, &value, &has_value)) {
      if (!arg.empty() && arg[0] == '-') {
        return absl::InvalidArgumentError(absl::StrCat("unknown flag ", arg));
      }
      o.run_dirs.push_back(arg);
      continue;
    }
    if (name != "out" && name != "title" && name != "width" && name != "height") {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      }
      value = args[++i];
    }
    if (name == "out") {
      o.out = value;
    } else if (name == "title") {
      o.title = value;
    } else if (name == "width") {
      absl::StatusOr<int> v = ParsePixels(name, value);
      if (!v.ok()) return v.status();
      o.width = *v;
    } else {
      absl::StatusOr<int> v = ParsePixels(name, value);
      if (!v.ok()) return v.status();
      o.height = *v;
    }
  }
  if (o.run_dirs.empty()) return absl::InvalidArgumentError("give at least one RUN_DIR");
  if (o.out.empty()) return absl::InvalidArgumentError("--out FILE.png is required");
  return o;
}

absl::StatusOr<MetricsCsv> ReadMetricsCsv(const std::string& run_dir) {
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) {
    return absl::NotFoundError(absl::StrCat("run directory '", run_dir, "' does not exist"));
  }
  MetricsCsv csv;
  csv.path = run_dir + "/metrics.csv";
  if (!fs::exists(csv.path, ec)) {
    return absl::NotFoundError(absl::StrCat("no metrics.csv in '", run_dir, "'"));
  }
  absl::StatusOr<std::string> contents = ReadFile(csv.path);
  if (!contents.ok()) return contents.status();
  csv.lines = absl::StrSplit(*contents, '\n', absl::SkipWhitespace());
  if (csv.lines.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("'", csv.path, "' is empty"));
  }
  return csv;
}

absl::StatusOr<RunCurve> ReadRunCurve(const std::string& run_dir) {
  absl::StatusOr<MetricsCsv> csv = ReadMetricsCsv(run_dir);
  if (!csv.ok()) return csv.status();
  const std::string& path = csv->path;
  const std::vector<std::string>& lines = csv->lines;
  const std::vector<absl::string_view> header = absl::StrSplit(lines[0], ',');
  int steps_col = -1, wall_col = -1, return_col = -1, tokens_col = -1, held_out_col = -1;
  for (size_t c = 0; c < header.size(); ++c) {
    const absl::string_view h = absl::StripAsciiWhitespace(header[c]);
    if (h == "env_steps") steps_col = static_cast<int>(c);
    if (h == "wall_seconds") wall_col = static_cast<int>(c);
    if (h == "mean_return") return_col = static_cast<int>(c);
    if (h == "tokens") tokens_col = static_cast<int>(c);
    if (h == "held_out_accuracy") held_out_col = static_cast<int>(c);
  }
  // A sequence run: held-out accuracy (filled at evaluations only) against
  // completion tokens trained.
  const bool sequence = steps_col < 0 && return_col < 0 && tokens_col >= 0 && held_out_col >= 0;
  if (sequence) {
    steps_col = tokens_col;
    return_col = held_out_col;
  }
  if (steps_col < 0 || wall_col < 0 || return_col < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", path,
        "' has no env_steps, wall_seconds and mean_return columns (nor a sequence run's tokens, "
        "wall_seconds and held_out_accuracy) in its header"));
  }
  if (lines.size() == 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is empty (no update has finished yet)"));
  }
  RunCurve curve;
  curve.run_dir = run_dir;
  curve.label = RunLabel(run_dir);
  curve.sequence = sequence;
  for (size_t l = 1; l < lines.size(); ++l) {
    const std::vector<absl::string_view> cells = absl::StrSplit(lines[l], ',');
    double steps = 0, wall = 0, ret = 0;
    if (sequence && cells.size() == header.size() &&
        absl::StripAsciiWhitespace(cells[return_col]).empty()) {
      ++curve.rows;  // an update without a held-out evaluation
      continue;
    }
    if (cells.size() != header.size() || !absl::SimpleAtod(cells[steps_col], &steps) ||
        !absl::SimpleAtod(cells[wall_col], &wall) || !absl::SimpleAtod(cells[return_col], &ret)) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", path, "' line ", l + 1, " is malformed: ", lines[l]));
    }
    ++curve.rows;
    if (!std::isfinite(ret)) continue;  // before the first finished episode
    if (sequence) ret *= 100;
    curve.env_steps.push_back(steps);
    curve.wall_seconds.push_back(wall);
    curve.mean_return.push_back(ret);
  }
  return curve;
}

int PlotCommand(const PlotOptions& o, std::ostream& out, std::ostream& err) {
  auto usage_error = [&err](const std::string& message) {
    err << "proxima plot: " << message << "\n";
    return 2;
  };
  // `proxima lm rl --reward-model` runs: the over-optimisation plot.
  if (!o.run_dirs.empty() && IsRlhfRun(o.run_dirs.front())) return PlotRlhfRuns(o, out, err);
  std::vector<RunCurve> curves;
  for (const std::string& dir : o.run_dirs) {
    if (IsRlhfRun(dir)) {
      return usage_error(absl::StrCat("'", dir, "' is an RLHF run; one plot holds runs of one kind"));
    }
    absl::StatusOr<RunCurve> curve = ReadRunCurve(dir);
    if (!curve.ok()) return usage_error(std::string(curve.status().message()));
    if (!curves.empty() && curves.front().sequence != curve->sequence) {
      return usage_error(absl::StrCat("'", dir, "' is ",
                                      curve->sequence ? "a sequence run" : "an MLP run",
                                      "; one plot holds runs of one kind"));
    }
    if (curve->mean_return.empty()) {
      err << "proxima plot: warning: no "
          << (curve->sequence ? "held-out evaluation" : "episode has finished") << " in '" << dir
          << "' (" << curve->rows << " updates); left out\n";
      continue;
    }
    curves.push_back(*std::move(curve));
  }
  if (curves.empty()) return usage_error("nothing to plot: no episode has finished in any run");
  // Two runs with the same directory name are told apart by their paths.
  std::set<std::string> labels;
  bool duplicate = false;
  for (const RunCurve& c : curves) duplicate |= !labels.insert(c.label).second;
  if (duplicate) {
    for (RunCurve& c : curves) c.label = c.run_dir;
  }
  std::vector<std::string> data;
  for (const RunCurve& c : curves) {
    std::string d = "# env_steps wall_seconds mean_return\n";
    for (size_t p = 0; p < c.env_steps.size(); ++p) {
      absl::StrAppendFormat(&d, "%.17g %.17g %.17g\n", c.env_steps[p], c.wall_seconds[p],
                            c.mean_return[p]);
    }
    data.push_back(std::move(d));
  }
  const int rendered = RenderPng(
      data,
      [&](const std::vector<std::string>& files, const std::string& png) {
        return Script(o, curves, files, png);
      },
      o.out, err);
  if (rendered != 0) return rendered;
  size_t points = 0;
  for (const RunCurve& c : curves) points += c.env_steps.size();
  out << "proxima plot: wrote " << o.out << " (" << curves.size() << " run"
      << (curves.size() == 1 ? "" : "s") << ", " << points << " points)\n";
  return 0;
}

int PlotMain(const std::vector<std::string>& args) {
  bool help = false;
  absl::StatusOr<PlotOptions> options = ParsePlotArgs(args, &help);
  if (help) {
    std::fputs(kPlotUsage, stdout);
    return 0;
  }
  if (!options.ok()) {
    LogError(options.status().message());
    LogRaw(kPlotUsage);
    return 2;
  }
  return PlotCommand(*options, std::cout, std::cerr);
}

}  // namespace proxima
