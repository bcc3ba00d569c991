#include "common/envs/mujoco/mujoco_replay.h"

#include <algorithm>
#include <cmath>
#include <cstring>
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
#include "common/envs/mujoco/mujoco_registry.h"
#include "common/status_macros.h"

namespace proxima {
namespace {

// Column positions of one MuJoCo golden CSV.
struct Columns {
  std::vector<std::string> names;
  int qpos = 0, nq = 0, qvel = 0, nv = 0, warm = 0, action = 0, na = 0;
  StepColumns step;
  std::vector<int> info_cols;   // header columns info_*
  std::vector<int> info_index;  // the env's info() index of each
};

// A cell, or missing (an empty cell).
struct Cell {
  double v = 0.0;
  bool present = false;
};
using Row = std::vector<Cell>;

absl::StatusOr<Columns> ParseHeader(const std::string& file, absl::string_view line,
                                    const MujocoEnv& env) {
  Columns c;
  c.names = absl::StrSplit(line, ',');
  for (std::string& n : c.names) absl::StripAsciiWhitespace(&n);
  const std::vector<std::string>& h = c.names;
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": bad MuJoCo golden header (", why, ")"));
  };
  if (h.size() < 3 || h[0] != "episode" || h[1] != "t") return bad("must start episode,t");
  int col = 2;
  c.qpos = col;
  c.nq = CountColumnRun(h, &col, "qpos");
  c.qvel = col;
  c.nv = CountColumnRun(h, &col, "qvel");
  if (CountColumnRun(h, &col, "act") != 0) {
    return bad("act columns: no Gymnasium model has actuator state");
  }
  c.warm = col;
  if (CountColumnRun(h, &col, "qacc_warmstart") != c.nv) {
    return bad("needs one qacc_warmstart per qvel");
  }
  c.action = col;
  c.na = CountColumnRun(h, &col, "a");
  absl::StatusOr<StepColumns> step = ParseStepColumns(h, &col);
  if (!step.ok()) return bad(step.status().message());
  c.step = *step;
  const mjModel* m = env.model();
  const EnvSpec& spec = env.spec();
  if (c.nq != m->nq || c.nv != m->nv || c.na != spec.action_dim() ||
      c.step.num_obs != spec.obs_dim()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: header has %d qpos, %d qvel, %d action and %d obs columns; %s needs %d, %d, %d and %d",
        file, c.nq, c.nv, c.na, c.step.num_obs, spec.id, m->nq, m->nv, spec.action_dim(),
        spec.obs_dim()));
  }
  for (; col < static_cast<int>(h.size()); ++col) {
    if (!absl::StartsWith(h[col], "info_")) return bad(absl::StrCat("unexpected column ", h[col]));
    const std::string key = h[col].substr(5);
    auto it = std::find(spec.info_keys.begin(), spec.info_keys.end(), key);
    if (it == spec.info_keys.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": column ", h[col], " is not an info entry ", spec.id, " reports"));
    }
    c.info_cols.push_back(col);
    c.info_index.push_back(static_cast<int>(it - spec.info_keys.begin()));
  }
  return c;
}

absl::StatusOr<std::vector<Row>> ParseRows(const std::string& file,
                                           const std::vector<absl::string_view>& lines,
                                           const Columns& c) {
  std::vector<Row> rows;
  rows.reserve(lines.size());
  for (size_t i = 1; i < lines.size(); ++i) {
    const int line_no = static_cast<int>(i) + 1;
    std::vector<absl::string_view> cells = absl::StrSplit(lines[i], ',');
    if (cells.size() != c.names.size()) {
      return absl::InvalidArgumentError(absl::StrCat(file, ":", line_no, ": ", cells.size(),
                                                     " columns, header has ", c.names.size()));
    }
    Row row(cells.size());
    for (size_t k = 0; k < cells.size(); ++k) {
      const absl::string_view cell = absl::StripAsciiWhitespace(cells[k]);
      if (cell.empty()) continue;
      if (!absl::SimpleAtod(cell, &row[k].v)) {
        return absl::InvalidArgumentError(absl::StrCat(file, ":", line_no, ": cannot parse \"",
                                                       cell, "\" in column ", c.names[k]));
      }
      row[k].present = true;
    }
    for (int k : {0, 1}) {
      if (!row[k].present) {
        return absl::InvalidArgumentError(
            absl::StrCat(file, ":", line_no, ": empty ", c.names[k], " cell"));
      }
    }
    const bool reset = row[1].v < 0;
    const auto need = [&](int from, int n) -> absl::Status {
      for (int k = from; k < from + n; ++k) {
        if (!row[k].present) {
          return absl::InvalidArgumentError(
              absl::StrCat(file, ":", line_no, ": empty ", c.names[k], " cell"));
        }
      }
      return absl::OkStatus();
    };
    PROXIMA_RETURN_IF_ERROR(need(c.qpos, c.nq + c.nv));
    PROXIMA_RETURN_IF_ERROR(need(c.step.obs, c.step.num_obs));
    if (!reset) {
      PROXIMA_RETURN_IF_ERROR(need(c.warm, c.nv));
      PROXIMA_RETURN_IF_ERROR(need(c.action, c.na));
      PROXIMA_RETURN_IF_ERROR(need(c.step.reward, 3));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// Compares outcomes with rows and keeps the report's counters.
class Comparer {
 public:
  Comparer(const Columns& c, double tolerance, int max_described, GoldenEnvReport& report)
      : c_(c), tolerance_(tolerance), max_described_(max_described), report_(report) {}

  void Value(const Row& row, int r, int col, double got, bool episode) {
    if (!row[col].present) return;
    const double expected = row[col].v;
    const double dev = GoldenDeviation(expected, got);
    double& max_dev = episode ? report_.max_episode_deviation : report_.max_row_deviation;
    max_dev = std::max(max_dev, dev);
    report_.max_ulp = std::max(report_.max_ulp, UlpDistance(expected, got));
    if (!(dev <= tolerance_)) Mismatch(r, col, expected, got, episode);
  }

  void Flag(const Row& row, int r, int col, bool got, bool episode) {
    if ((row[col].v != 0.0) != got) Mismatch(r, col, row[col].v, got ? 1.0 : 0.0, episode);
  }

  // The pre-step state in `env` against row r.
  void State(const Row& row, int r, const MujocoEnv& env, bool episode) {
    const mjData* d = env.data();
    for (int i = 0; i < c_.nq; ++i) Value(row, r, c_.qpos + i, d->qpos[i], episode);
    for (int i = 0; i < c_.nv; ++i) Value(row, r, c_.qvel + i, d->qvel[i], episode);
    for (int i = 0; i < c_.nv; ++i) Value(row, r, c_.warm + i, d->qacc_warmstart[i], episode);
  }

  // Observation and info after a reset or step.
  void Outcome(const Row& row, int r, const MujocoEnv& env, bool episode) {
    const absl::Span<const double> obs = env.observation();
    for (int i = 0; i < c_.step.num_obs; ++i) Value(row, r, c_.step.obs + i, obs[i], episode);
    const absl::Span<const double> info = env.info();
    for (size_t k = 0; k < c_.info_cols.size(); ++k) {
      Value(row, r, c_.info_cols[k], info[c_.info_index[k]], episode);
    }
  }

  void Step(const Row& row, int r, const MujocoEnv& env, const StepResult& res, bool episode) {
    Value(row, r, c_.step.reward, res.reward, episode);
    Flag(row, r, c_.step.terminated, res.terminated, episode);
    Flag(row, r, c_.step.truncated, res.truncated, episode);
    Outcome(row, r, env, episode);
  }

 private:
  void Mismatch(int r, int col, double expected, double got, bool episode) {
    int& n = episode ? report_.episode_mismatches : report_.row_mismatches;
    ++n;
    if (n <= max_described_) {
      report_.first_mismatches.push_back(
          GoldenMismatch{report_.file, r + 2, c_.names[col], expected, got, episode});
    }
  }

  const Columns& c_;
  const double tolerance_;
  const int max_described_;
  GoldenEnvReport& report_;
};

std::vector<double> Values(const Row& row, int from, int n) {
  std::vector<double> v(n);
  for (int i = 0; i < n; ++i) v[i] = row[from + i].v;
  return v;
}

}  // namespace

bool IsMujocoGoldenHeader(absl::string_view header) {
  return absl::StartsWith(absl::StripAsciiWhitespace(header), "episode,t,qpos0");
}

int64_t UlpDistance(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) {
    return std::isnan(a) && std::isnan(b) ? 0 : std::numeric_limits<int64_t>::max();
  }
  if (a == b) return 0;  // also +0 and -0
  const auto ordered = [](double x) {
    int64_t i;
    std::memcpy(&i, &x, sizeof(i));
    return i < 0 ? std::numeric_limits<int64_t>::min() - i : i;
  };
  const int64_t ia = ordered(a), ib = ordered(b);
  const uint64_t d = ia > ib ? static_cast<uint64_t>(ia) - static_cast<uint64_t>(ib)
                             : static_cast<uint64_t>(ib) - static_cast<uint64_t>(ia);
  return d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
             ? std::numeric_limits<int64_t>::max()
             : static_cast<int64_t>(d);
}

absl::StatusOr<GoldenEnvReport> ReplayMujocoGolden(const std::string& path,
                                                   const std::string& text,
                                                   const GoldenReplayOptions& options) {
  GoldenEnvReport report;
  const size_t slash = path.find_last_of('/');
  report.file = slash == std::string::npos ? path : path.substr(slash + 1);
  report.env_id = report.file.substr(0, report.file.size() - 4);
  report.max_ulp = 0;
  absl::StatusOr<std::unique_ptr<MujocoEnv>> made = MakeMujocoEnv(report.env_id);
  if (!made.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("golden file ", path, ": ", made.status().message()));
  }
  MujocoEnv& env = **made;
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  while (!lines.empty() && absl::StripAsciiWhitespace(lines.back()).empty()) lines.pop_back();
  if (lines.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": empty file"));
  PROXIMA_ASSIGN_OR_RETURN(Columns c, ParseHeader(report.file, lines[0], env));
  PROXIMA_ASSIGN_OR_RETURN(std::vector<Row> rows, ParseRows(report.file, lines, c));
  const int n = static_cast<int>(rows.size());
  report.rows = n;
  Comparer compare(c, options.mujoco_tolerance, options.max_described_mismatches, report);
  std::vector<float> action(c.na), obs(c.step.num_obs);
  std::vector<double> state(c.nq + 2 * c.nv);
  const auto step = [&](const Row& row) {
    for (int j = 0; j < c.na; ++j) action[j] = static_cast<float>(row[c.action + j].v);
    env.set_elapsed_steps(static_cast<int>(row[1].v));
    return env.Step(action.data(), obs.data());
  };
  const auto reset_to = [&](const Row& row) {
    return env.ResetTo(Values(row, c.qpos, c.nq), Values(row, c.qvel, c.nv), obs.data());
  };

  // Episodes: a reset row (t = -1) and the step rows after it.
  std::vector<std::pair<int, int>> episodes;
  for (int r = 0; r < n; ++r) {
    if (rows[r][1].v < 0) {
      episodes.push_back({r, r + 1});
    } else if (episodes.empty() || rows[r][0].v != rows[episodes.back().first][0].v) {
      return absl::InvalidArgumentError(absl::StrCat(
          report.file, ":", r + 2, ": a step row must follow its episode's reset row (t = -1)"));
    } else {
      episodes.back().second = r + 1;
    }
  }
  report.episodes = static_cast<int>(episodes.size());

  for (const auto& [begin, end] : episodes) {
    // (a) each row on its own.
    PROXIMA_RETURN_IF_ERROR(reset_to(rows[begin]));
    compare.Outcome(rows[begin], begin, env, /*episode=*/false);
    for (int r = begin + 1; r < end; ++r) {
      if (r == begin + 1) {
        PROXIMA_RETURN_IF_ERROR(reset_to(rows[begin]));
      } else {
        // Replay the previous row from its recorded state, then write this
        // row's state raw (no mj_forward), as Gymnasium's state would be.
        for (int k = 0; k < c.nq + 2 * c.nv; ++k) state[k] = rows[r - 1][c.qpos + k].v;
        PROXIMA_RETURN_IF_ERROR(env.SetState(state));
        step(rows[r - 1]);
      }
      for (int k = 0; k < c.nq + 2 * c.nv; ++k) state[k] = rows[r][c.qpos + k].v;
      compare.State(rows[r], r, env, /*episode=*/false);
      PROXIMA_RETURN_IF_ERROR(env.SetRawState(state));
      const StepResult res = step(rows[r]);
      compare.Step(rows[r], r, env, res, /*episode=*/false);
    }
    // (b) the episode from its reset, within the horizon.
    PROXIMA_RETURN_IF_ERROR(reset_to(rows[begin]));
    compare.Outcome(rows[begin], begin, env, /*episode=*/true);
    for (int r = begin + 1; r < std::min(end, begin + 1 + options.episode_horizon); ++r) {
      compare.State(rows[r], r, env, /*episode=*/true);
      const StepResult res = step(rows[r]);
      compare.Step(rows[r], r, env, res, /*episode=*/true);
    }
  }
  return report;
}

}  // namespace proxima
