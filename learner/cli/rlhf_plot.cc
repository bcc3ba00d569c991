#include "learner/cli/rlhf_plot.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "learner/cli/gnuplot_render.h"
#include "nlohmann/json.hpp"

namespace proxima {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBatchColumns[] = {"seq_kl_to_ref", "learned_reward", "true_reward"};
constexpr const char* kHeldOutColumns[] = {"held_out_seq_kl_to_ref", "held_out_learned_reward",
                                           "held_out_true_reward"};

// Column index by header name.
std::map<std::string, int> HeaderColumns(absl::string_view header_line) {
  std::map<std::string, int> columns;
  const std::vector<absl::string_view> header = absl::StrSplit(header_line, ',');
  for (size_t c = 0; c < header.size(); ++c) {
    columns[std::string(absl::StripAsciiWhitespace(header[c]))] = static_cast<int>(c);
  }
  return columns;
}

// Centred moving means of `v` over `window` points (fewer at the ends, where
// the window is cut), one per window position.
std::vector<double> MovingMean(const std::vector<double>& v, int window) {
  std::vector<double> m;
  const int n = static_cast<int>(v.size());
  for (int i = 0; i < n; ++i) {
    const int lo = std::max(0, i - window / 2), hi = std::min(n, lo + window);
    double sum = 0;
    for (int j = lo; j < hi; ++j) sum += v[j];
    m.push_back(sum / (hi - lo));
  }
  return m;
}

// The held-out figures before the first update, from `proxima lm rl`'s
// summary.json ("before"), as a point at its KL (0: the SFT policy itself).
void AddBeforePoint(const std::string& run_dir, RlhfCurve* c) {
  absl::StatusOr<std::string> text = ReadFile(run_dir + "/summary.json");
  if (!text.ok()) return;
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("before") || !j["before"].is_object()) return;
  const nlohmann::json& b = j["before"];
  for (const char* key : {"seq_kl_to_ref", "learned_reward", "true_reward"}) {
    if (!b.contains(key) || !b[key].is_number()) return;
  }
  c->held_kl.insert(c->held_kl.begin(), b["seq_kl_to_ref"].get<double>());
  c->held_learned.insert(c->held_learned.begin(), b["learned_reward"].get<double>());
  c->held_true.insert(c->held_true.begin(), b["true_reward"].get<double>());
}

std::string WithBeta(const std::string& name, double beta) {
  return std::isnan(beta) ? name : absl::StrFormat("%s (β %g)", name, beta);
}

// A cluster run's β (its metrics.csv has no kl_coef column): config.json's
// "kl_beta", the coefficient the learner resolved at the start (PPO's
// reward β or GRPO's loss β); NaN when not recorded (a run from before
// it was), and the label then names no β.
double ClusterRunBeta(const std::string& run_dir) {
  absl::StatusOr<std::string> text = ReadFile(run_dir + "/config.json");
  const double unknown = std::numeric_limits<double>::quiet_NaN();
  if (!text.ok()) return unknown;
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("kl_beta") || !j["kl_beta"].is_number()) return unknown;
  return j["kl_beta"].get<double>();
}

}  // namespace

bool IsRlhfRun(const std::string& run_dir) {
  absl::StatusOr<std::string> text = ReadFile(run_dir + "/metrics.csv");
  if (!text.ok()) return false;
  const std::map<std::string, int> columns =
      HeaderColumns(text->substr(0, text->find('\n')));
  for (const char* name : kBatchColumns) {
    if (columns.count(name) == 0) return false;
  }
  return true;
}

int RlhfSmoothWindow(int64_t rows) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(30, rows / 10)));
}

absl::StatusOr<RlhfCurve> ReadRlhfCurve(const std::string& run_dir) {
  absl::StatusOr<MetricsCsv> csv = ReadMetricsCsv(run_dir);
  if (!csv.ok()) return csv.status();
  const std::string& path = csv->path;
  const std::vector<std::string>& lines = csv->lines;
  const std::map<std::string, int> columns = HeaderColumns(lines[0]);
  const size_t width = std::vector<absl::string_view>(absl::StrSplit(lines[0], ',')).size();
  std::vector<int> batch_cols, held_cols;
  for (const char* name : kBatchColumns) {
    auto it = columns.find(name);
    if (it == columns.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", path, "' has no ", name,
          " column: not a `proxima lm rl --reward-model` run (seq_kl_to_ref, learned_reward, "
          "true_reward)"));
    }
    batch_cols.push_back(it->second);
  }
  for (const char* name : kHeldOutColumns) {
    auto it = columns.find(name);
    held_cols.push_back(it == columns.end() ? -1 : it->second);
  }
  const auto coef = columns.find("kl_coef");
  RlhfCurve curve;
  curve.run_dir = run_dir;
  curve.label = RunLabel(run_dir);
  std::vector<double> kl, learned, truth;
  for (size_t l = 1; l < lines.size(); ++l) {
    const std::vector<absl::string_view> cells = absl::StrSplit(lines[l], ',');
    auto malformed = [&] {
      return absl::InvalidArgumentError(
          absl::StrCat("'", path, "' line ", l + 1, " is malformed: ", lines[l]));
    };
    double v[3];
    if (cells.size() != width) return malformed();
    // A cluster run's row 0 (`proxima train --reward-model`: the start,
    // evaluated, before any batch) has no batch rewards, only held-out cells.
    bool batch = l > 1;
    for (int k = 1; k < 3 && !batch; ++k) {
      batch = !absl::StripAsciiWhitespace(cells[batch_cols[k]]).empty();
    }
    for (int k = 0; batch && k < 3; ++k) {
      if (!absl::SimpleAtod(cells[batch_cols[k]], &v[k]) || !std::isfinite(v[k])) {
        return malformed();
      }
    }
    if (batch) {
      if (curve.rows++ == 0 && coef != columns.end() &&
          !absl::SimpleAtod(cells[coef->second], &curve.beta)) {
        return malformed();
      }
      kl.push_back(v[0]);
      learned.push_back(v[1]);
      truth.push_back(v[2]);
    }
    bool held = held_cols[0] >= 0 && held_cols[1] >= 0 && held_cols[2] >= 0;
    for (int k = 0; held && k < 3; ++k) {
      held = !absl::StripAsciiWhitespace(cells[held_cols[k]]).empty();
    }
    if (!held) continue;
    for (int k = 0; k < 3; ++k) {
      if (!absl::SimpleAtod(cells[held_cols[k]], &v[k]) || !std::isfinite(v[k])) {
        return malformed();
      }
    }
    curve.held_kl.push_back(v[0]);
    curve.held_learned.push_back(v[1]);
    curve.held_true.push_back(v[2]);
  }
  if (coef == columns.end()) curve.beta = ClusterRunBeta(run_dir);
  AddBeforePoint(run_dir, &curve);
  const int window = RlhfSmoothWindow(curve.rows);
  curve.batch_kl = MovingMean(kl, window);
  curve.batch_learned = MovingMean(learned, window);
  curve.batch_true = MovingMean(truth, window);
  curve.label = WithBeta(curve.label, curve.beta);
  return curve;
}

std::string RlhfPlotData(const RlhfCurve& c) {
  std::string d = "# training batches, smoothed: kl learned true\n";
  for (size_t i = 0; i < c.batch_kl.size(); ++i) {
    absl::StrAppendFormat(&d, "%.17g %.17g %.17g\n", c.batch_kl[i], c.batch_learned[i],
                          c.batch_true[i]);
  }
  absl::StrAppend(&d, "\n\n# held-out samples: kl learned true\n");
  for (size_t i = 0; i < c.held_kl.size(); ++i) {
    absl::StrAppendFormat(&d, "%.17g %.17g %.17g\n", c.held_kl[i], c.held_learned[i],
                          c.held_true[i]);
  }
  return d;
}

std::string RlhfPlotScript(const PlotOptions& o, const std::vector<RlhfCurve>& curves,
                           const std::vector<std::string>& data_files, const std::string& png) {
  int window = 1;
  for (const RlhfCurve& c : curves) window = std::max(window, RlhfSmoothWindow(c.rows));
  std::string s = GnuplotPngPreamble(o.width, o.height, png);
  const std::string title =
      o.title.empty() ? absl::StrFormat("thin: training batches (mean of %d iterations); "
                                        "points: held-out samples",
                                        window)
                      : o.title;
  absl::StrAppend(&s, "set multiplot layout 1,2 title ", GnuplotString(title), "\n");
  const double headroom =
      std::min(1.0, (16.0 * curves.size() + 12) / std::max(100, o.height - 110));
  absl::StrAppendFormat(&s, "set offsets 0, 0, graph %.3f, 0\n", headroom);
  absl::StrAppend(&s,
                  "set grid\n"
                  "set key top left Left reverse samplen 2\n"
                  "set xrange [0:*]\n"
                  "set xlabel \"KL to the reference (nats per sequence)\"\n");
  for (int panel = 0; panel < 2; ++panel) {
    const int column = panel == 0 ? 2 : 3;
    absl::StrAppend(&s, "set ylabel ",
                    GnuplotString(panel == 0 ? "learned reward (reward model r)"
                                             : "true score (rule + style)"),
                    "\nset title ",
                    GnuplotString(panel == 0 ? "learned reward vs KL" : "true score vs KL"),
                    "\nplot ");
    bool first = true;
    for (size_t i = 0; i < curves.size(); ++i) {
      const std::string file = GnuplotString(data_files[i]);
      if (!curves[i].batch_kl.empty()) {
        absl::StrAppend(&s, first ? "" : ", \\\n     ", file, " index 0 using 1:", column,
                        " with lines linewidth 1 linetype ", i + 1, " title ",
                        curves[i].held_kl.empty() ? GnuplotString(curves[i].label) : "\"\"");
        first = false;
      }
      if (!curves[i].held_kl.empty()) {
        absl::StrAppend(&s, first ? "" : ", \\\n     ", file, " index 1 using 1:", column,
                        " with linespoints linewidth 2 pointtype 7 pointsize 0.8 linetype ", i + 1,
                        " title ", GnuplotString(curves[i].label));
        first = false;
      }
    }
    absl::StrAppend(&s, "\n");
  }
  absl::StrAppend(&s, "unset multiplot\n");
  return s;
}

int PlotRlhfRuns(const PlotOptions& o, std::ostream& out, std::ostream& err) {
  auto usage_error = [&err](const std::string& message) {
    err << "proxima plot: " << message << "\n";
    return 2;
  };
  std::vector<RlhfCurve> curves;
  for (const std::string& dir : o.run_dirs) {
    if (!IsRlhfRun(dir) && fs::exists(dir + "/metrics.csv")) {
      return usage_error(absl::StrCat(
          "'", dir, "' is not a `proxima lm rl --reward-model` run; one plot holds runs of one kind"));
    }
    absl::StatusOr<RlhfCurve> curve = ReadRlhfCurve(dir);
    if (!curve.ok()) return usage_error(std::string(curve.status().message()));
    if (curve->rows == 0) {
      err << "proxima plot: warning: no iteration in '" << dir << "'; left out\n";
      continue;
    }
    curves.push_back(*std::move(curve));
  }
  if (curves.empty()) return usage_error("nothing to plot: no iteration in any run");
  std::set<std::string> labels;
  bool duplicate = false;
  for (const RlhfCurve& c : curves) duplicate |= !labels.insert(c.label).second;
  if (duplicate) {
    for (RlhfCurve& c : curves) c.label = WithBeta(c.run_dir, c.beta);
  }
  std::vector<std::string> data;
  size_t points = 0;
  for (const RlhfCurve& c : curves) {
    data.push_back(RlhfPlotData(c));
    points += c.batch_kl.size() + c.held_kl.size();
  }
  const int rendered = RenderPng(
      data,
      [&](const std::vector<std::string>& files, const std::string& png) {
        return RlhfPlotScript(o, curves, files, png);
      },
      o.out, err);
  if (rendered != 0) return rendered;
  out << "proxima plot: wrote " << o.out << " (over-optimisation: " << curves.size() << " RLHF run"
      << (curves.size() == 1 ? "" : "s") << ", " << points << " points)\n";
  return 0;
}

}  // namespace proxima
