#include "common/envs/golden_replay.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/envs/env.h"
#include "common/envs/mujoco/mujoco_replay.h"
#include "common/envs/registry.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace proxima {
namespace {

// Column layout of one golden CSV, from its header.
struct Layout {
  int num_state = 0, num_action = 0;
  int state_col = 2, action_col = 0;
  StepColumns step;
  int num_cols = 0;
};

struct Table {
  Layout layout;
  std::vector<std::vector<double>> rows;  // every column as a double
};

absl::StatusOr<Layout> ParseHeader(const std::string& file, absl::string_view line) {
  std::vector<std::string> h = absl::StrSplit(line, ',');
  for (std::string& c : h) absl::StripAsciiWhitespace(&c);
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": bad header (", why, "): \"", line, "\""));
  };
  if (h.size() < 2 || h[0] != "episode" || h[1] != "t") return bad("must start episode,t");
  Layout l;
  int col = 2;
  l.state_col = col;
  l.num_state = CountColumnRun(h, &col, "s");
  l.action_col = col;
  l.num_action = CountColumnRun(h, &col, "a");
  if (l.num_state == 0 || l.num_action == 0) return bad("needs s0.. and a0.. columns");
  absl::StatusOr<StepColumns> step = ParseStepColumns(h, &col);
  if (!step.ok()) return bad(step.status().message());
  l.step = *step;
  if (l.step.num_obs == 0) return bad("needs o0.. columns");
  if (col != static_cast<int>(h.size()))
    return bad(absl::StrCat("unexpected column \"", h[col], "\""));
  l.num_cols = col;
  return l;
}

absl::StatusOr<double> ParseCell(const std::string& file, int line, absl::string_view cell) {
  cell = absl::StripAsciiWhitespace(cell);
  if (cell == "True") return 1.0;
  if (cell == "False") return 0.0;
  double v;
  if (!absl::SimpleAtod(cell, &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ":", line, ": cannot parse \"", cell, "\" as a number"));
  }
  return v;
}

absl::StatusOr<Table> ParseCsv(const std::string& file, const std::string& text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  while (!lines.empty() && absl::StripAsciiWhitespace(lines.back()).empty()) lines.pop_back();
  if (lines.empty()) return absl::InvalidArgumentError(absl::StrCat(file, ": empty file"));
  Table t;
  PROXIMA_ASSIGN_OR_RETURN(t.layout, ParseHeader(file, absl::StripAsciiWhitespace(lines[0])));
  t.rows.reserve(lines.size() - 1);
  for (size_t i = 1; i < lines.size(); ++i) {
    const int line_no = static_cast<int>(i) + 1;
    std::vector<absl::string_view> cells = absl::StrSplit(lines[i], ',');
    if (static_cast<int>(cells.size()) != t.layout.num_cols) {
      return absl::InvalidArgumentError(absl::StrCat(file, ":", line_no, ": ", cells.size(),
                                                     " columns, header has ", t.layout.num_cols));
    }
    std::vector<double> row(cells.size());
    for (size_t c = 0; c < cells.size(); ++c) {
      PROXIMA_ASSIGN_OR_RETURN(row[c], ParseCell(file, line_no, cells[c]));
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::string ColumnName(const Layout& l, int col) {
  if (col == l.step.reward) return "reward";
  if (col == l.step.terminated) return "terminated";
  if (col == l.step.truncated) return "truncated";
  return absl::StrCat("o", col - l.step.obs);
}

// Applies row `r`'s action to `env` and compares the outcome with the row.
// Updates the deviation/mismatch counters of the chosen check.
void StepAndCompare(Env& env, const Table& t, int r, bool episode_check, double tolerance,
                    int max_described, std::vector<float>& action, std::vector<float>& obs,
                    GoldenEnvReport& report) {
  const Layout& l = t.layout;
  const std::vector<double>& row = t.rows[r];
  for (int j = 0; j < l.num_action; ++j) action[j] = static_cast<float>(row[l.action_col + j]);
  const StepResult res = env.Step(action.data(), obs.data());
  double& max_dev = episode_check ? report.max_episode_deviation : report.max_row_deviation;
  int& mismatches = episode_check ? report.episode_mismatches : report.row_mismatches;
  const auto record = [&](int col, double expected, double got) {
    ++mismatches;
    if (mismatches <= max_described) {
      report.first_mismatches.push_back(
          GoldenMismatch{report.file, r + 2, ColumnName(l, col), expected, got, episode_check});
    }
  };
  const auto check_value = [&](int col, double got) {
    const double dev = GoldenDeviation(row[col], got);
    max_dev = std::max(max_dev, dev);
    if (!(dev <= tolerance)) record(col, row[col], got);
  };
  check_value(l.step.reward, res.reward);
  for (int j = 0; j < l.step.num_obs; ++j) check_value(l.step.obs + j, obs[j]);
  const double term = res.terminated ? 1.0 : 0.0;
  const double trunc = res.truncated ? 1.0 : 0.0;
  if ((row[l.step.terminated] != 0.0) != res.terminated)
    record(l.step.terminated, row[l.step.terminated], term);
  if ((row[l.step.truncated] != 0.0) != res.truncated)
    record(l.step.truncated, row[l.step.truncated], trunc);
}

absl::Status SetRowState(Env& env, const Table& t, int r, std::vector<double>& state) {
  const Layout& l = t.layout;
  for (int j = 0; j < l.num_state; ++j) state[j] = t.rows[r][l.state_col + j];
  PROXIMA_RETURN_IF_ERROR(env.SetState(state));
  env.set_elapsed_steps(static_cast<int>(t.rows[r][1]));
  return absl::OkStatus();
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

int CountColumnRun(const std::vector<std::string>& header, int* col, const std::string& prefix) {
  int n = 0;
  while (*col < static_cast<int>(header.size()) && header[*col] == absl::StrCat(prefix, n)) {
    ++n;
    ++*col;
  }
  return n;
}

absl::StatusOr<StepColumns> ParseStepColumns(const std::vector<std::string>& header, int* col) {
  for (const char* name : {"reward", "terminated", "truncated"}) {
    if (*col >= static_cast<int>(header.size()) || header[*col] != name) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected column \"", name, "\" at position ", *col));
    }
    ++*col;
  }
  StepColumns s;
  s.reward = *col - 3;
  s.terminated = *col - 2;
  s.truncated = *col - 1;
  s.obs = *col;
  s.num_obs = CountColumnRun(header, col, "o");
  return s;
}

std::string GoldenMismatch::ToString() const {
  return absl::StrFormat("%s line %d column %s (%s check): expected %.17g, got %.17g", file, line,
                         column, in_episode_replay ? "episode" : "row", expected, got);
}

std::string GoldenEnvReport::Summary() const {
  return absl::StrFormat(
      "%s: %d rows, %d episodes; per-row max deviation %.3g (%d mismatches), per-episode max "
      "deviation %.3g (%d mismatches)%s",
      env_id, rows, episodes, max_row_deviation, row_mismatches, max_episode_deviation,
      episode_mismatches, max_ulp >= 0 ? absl::StrCat("; max ", max_ulp, " ulp") : "");
}

double GoldenDeviation(double expected, double got) {
  if (std::isnan(expected) || std::isnan(got)) {
    return std::isnan(expected) && std::isnan(got) ? 0.0 : std::numeric_limits<double>::infinity();
  }
  if (expected == got) return 0.0;  // also equal infinities
  return std::abs(got - expected) / std::max(1.0, std::abs(expected));
}

absl::StatusOr<GoldenEnvReport> ReplayGoldenFile(const std::string& path,
                                                 const GoldenReplayOptions& options) {
  const std::string file = BaseName(path);
  if (!absl::EndsWith(file, ".csv")) {
    return absl::InvalidArgumentError(absl::StrCat("golden file ", path, " is not a .csv"));
  }
  PROXIMA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  if (IsMujocoGoldenHeader(text.substr(0, text.find('\n')))) {
    return ReplayMujocoGolden(path, text, options);
  }
  GoldenEnvReport report;
  report.file = file;
  report.env_id = file.substr(0, file.size() - 4);
  absl::StatusOr<std::unique_ptr<Env>> made = MakeEnv(report.env_id);
  if (!made.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("golden file ", path, ": ", made.status().message()));
  }
  Env& env = **made;
  const EnvSpec& spec = env.spec();
  PROXIMA_ASSIGN_OR_RETURN(Table t, ParseCsv(file, text));
  const Layout& l = t.layout;
  if (l.num_state != spec.state_dim || l.num_action != spec.action_dim() ||
      l.step.num_obs != spec.obs_dim()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: header has %d state, %d action and %d obs columns; %s needs %d, %d and %d", path,
        l.num_state, l.num_action, l.step.num_obs, spec.id, spec.state_dim, spec.action_dim(),
        spec.obs_dim()));
  }
  std::vector<double> state(l.num_state);
  std::vector<float> action(l.num_action), obs(l.step.num_obs);
  const int n = static_cast<int>(t.rows.size());
  report.rows = n;

  // (a) every row from its own recorded state.
  for (int r = 0; r < n; ++r) {
    PROXIMA_RETURN_IF_ERROR(SetRowState(env, t, r, state));
    StepAndCompare(env, t, r, /*episode_check=*/false, options.row_tolerance,
                   options.max_described_mismatches, action, obs, report);
  }
  // (b) every episode (a run of rows with one episode number) from its first row.
  for (int begin = 0; begin < n;) {
    int end = begin + 1;
    while (end < n && t.rows[end][0] == t.rows[begin][0]) ++end;
    ++report.episodes;
    PROXIMA_RETURN_IF_ERROR(SetRowState(env, t, begin, state));
    for (int r = begin; r < std::min(end, begin + options.episode_horizon); ++r) {
      StepAndCompare(env, t, r, /*episode_check=*/true, options.episode_tolerance,
                     options.max_described_mismatches, action, obs, report);
    }
    begin = end;
  }
  return report;
}

absl::StatusOr<std::vector<GoldenEnvReport>> ReplayGoldenDir(const std::string& dir,
                                                             const GoldenReplayOptions& options) {
  PROXIMA_ASSIGN_OR_RETURN(std::vector<std::string> files, ListFilesRecursively(dir, ".csv"));
  if (files.empty()) {
    return absl::NotFoundError(absl::StrCat("no *.csv golden files in directory '", dir, "'"));
  }
  std::vector<GoldenEnvReport> reports;
  for (const std::string& path : files) {
    PROXIMA_ASSIGN_OR_RETURN(GoldenEnvReport report, ReplayGoldenFile(path, options));
    reports.push_back(std::move(report));
  }
  return reports;
}

}  // namespace proxima
