#include "learner/run_files.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <type_traits>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "learner/ppo_config_fields.h"

namespace proxima {
namespace {

// TensorBoard event files (learner/tensorboard_writer.h).
constexpr char kEventFilePrefix[] = "events.out.tfevents.";

nlohmann::json NumberOrNull(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json ConfigToJson(const PpoConfig& c) {
  nlohmann::json j;
  for (const PpoConfigField& row : PpoConfigFields()) {
    j[row.key] = VisitPpoField(row, c, [](const auto& v) -> nlohmann::json {
      using T = std::decay_t<decltype(v)>;
      if constexpr (std::is_same_v<T, std::optional<double>>) {
        return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
      } else if constexpr (std::is_same_v<T, AdvantageEstimator>) {
        return AdvantageEstimatorName(v);
      } else {
        return v;
      }
    });
  }
  return j;
}

namespace {

// nlohmann's get<int>() converts any JSON number with a plain cast: a float
// such as 1e38 is undefined behaviour and a large integer wraps. Integer
// fields must be JSON integers that fit (found by tests/fuzz/config_fuzz.cc).
template <typename Int>
absl::StatusOr<Int> IntegerValue(const nlohmann::json& v, absl::string_view what) {
  using Limits = std::numeric_limits<Int>;
  if (v.is_number_unsigned()) {
    const uint64_t x = v.get<uint64_t>();
    if (x <= static_cast<uint64_t>(Limits::max())) return static_cast<Int>(x);
  } else if (v.is_number_integer()) {
    const int64_t x = v.get<int64_t>();
    if (x >= static_cast<int64_t>(Limits::min()) &&
        (x < 0 || static_cast<uint64_t>(x) <= static_cast<uint64_t>(Limits::max()))) {
      return static_cast<Int>(x);
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("bad run config: ", what, " must be an integer, got ", v.dump()));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("bad run config: ", what, " is out of range: ", v.dump()));
}

template <typename Int>
absl::StatusOr<Int> IntegerField(const nlohmann::json& j, const char* key) {
  return IntegerValue<Int>(j.at(key), key);
}

absl::StatusOr<std::vector<int>> IntVectorField(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = j.at(key);
  if (!v.is_array()) {
    return absl::InvalidArgumentError(absl::StrCat("bad run config: ", key, " must be a list"));
  }
  std::vector<int> out;
  for (const nlohmann::json& e : v) {
    PROXIMA_ASSIGN_OR_RETURN(int x, IntegerValue<int>(e, key));
    out.push_back(x);
  }
  return out;
}

}  // namespace

absl::StatusOr<PpoConfig> ConfigFromJson(const nlohmann::json& j) {
  PpoConfig c;
  try {
    for (const PpoConfigField& row : PpoConfigFields()) {
      const char* key = row.key;
      if (row.optional_in_json && !j.contains(key)) continue;  // keeps the default
      PROXIMA_RETURN_IF_ERROR(VisitPpoField(row, c, [&](auto& field) -> absl::Status {
        using T = std::decay_t<decltype(field)>;
        if constexpr (std::is_same_v<T, std::optional<double>>) {
          if (j.at(key).is_null()) {
            field.reset();
          } else {
            field = j.at(key).get<double>();
          }
        } else if constexpr (std::is_same_v<T, AdvantageEstimator>) {
          PROXIMA_ASSIGN_OR_RETURN(field, ParseAdvantageEstimator(j.at(key).get<std::string>()));
        } else if constexpr (std::is_same_v<T, std::vector<int>>) {
          PROXIMA_ASSIGN_OR_RETURN(field, IntVectorField(j, key));
        } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          PROXIMA_ASSIGN_OR_RETURN(field, IntegerField<T>(j, key));
        } else {
          field = j.at(key).get<T>();
        }
        return absl::OkStatus();
      }));
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("bad run config: ", e.what()));
  }
  PROXIMA_RETURN_IF_ERROR(c.Validate());
  return c;
}

nlohmann::json SummaryToJson(const RunSummary& s) {
  nlohmann::json j;
  j["env"] = s.env;
  j["seed"] = s.seed;
  j["mode"] = s.mode;
  j["device"] = s.device;
  j["actors"] = s.actors;
  j["total_env_steps"] = s.total_env_steps;
  j["updates"] = s.updates;
  j["wall_seconds"] = s.wall_seconds;
  j["env_steps_per_second"] = s.env_steps_per_second;
  j["episodes"] = s.episodes;
  j["mean_return_last_100"] = NumberOrNull(s.mean_return_last_100);
  j["solved_at_step"] =
      s.solved_at_step ? nlohmann::json(*s.solved_at_step) : nlohmann::json(nullptr);
  j["solved_at_seconds"] =
      s.solved_at_seconds ? nlohmann::json(*s.solved_at_seconds) : nlohmann::json(nullptr);
  j["transitions_collected"] = s.transitions_collected;
  j["transitions_trained"] = s.transitions_trained;
  j["transitions_dropped"] = s.transitions_dropped;
  j["transitions_dropped_by_reason"] = nlohmann::json::object();
  for (const auto& [reason, n] : s.transitions_dropped_by_reason) {
    j["transitions_dropped_by_reason"][reason] = n;
  }
  j["dropped_fraction"] = s.transitions_collected > 0
                              ? static_cast<double>(s.transitions_dropped) /
                                    static_cast<double>(s.transitions_collected)
                              : 0.0;
  j["mean_lag"] = s.mean_lag;
  j["max_lag"] = s.max_lag;
  j["time_seconds"] = nlohmann::json::object();
  for (const auto& [stage, seconds] : s.time_seconds) j["time_seconds"][stage] = seconds;
  j["bottleneck"] = s.bottleneck.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.bottleneck);
  j["best_eval_return"] =
      s.best_eval_return ? NumberOrNull(*s.best_eval_return) : nlohmann::json(nullptr);
  j["best_eval_update"] =
      s.best_eval_update ? nlohmann::json(*s.best_eval_update) : nlohmann::json(nullptr);
  j["eval_seed"] = s.eval_seed ? nlohmann::json(*s.eval_seed) : nlohmann::json(nullptr);
  return j;
}

std::string MetricsCsvHeader() {
  std::string out;
  for (const MetricField& f : MetricFields()) {
    if (f.csv_column == nullptr) continue;
    if (!out.empty()) out += ',';
    out += f.csv_column;
  }
  return out;
}

std::string MetricsCsvLine(const MetricsRow& row) {
  std::string out;
  for (const MetricField& f : MetricFields()) {
    if (f.csv_column == nullptr) continue;
    if (!out.empty()) out += ',';
    const double v = f.value(row);
    switch (f.csv_format.conversion) {
      case 'd':
        absl::StrAppendFormat(&out, "%d", static_cast<int64_t>(v));
        break;
      case 'f':
        absl::StrAppendFormat(&out, "%.*f", f.csv_format.precision, v);
        break;
      default:
        absl::StrAppendFormat(&out, "%.*g", f.csv_format.precision, v);
        break;
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<MetricsCsv>> MetricsCsv::Continue(const std::string& path,
                                                                  int64_t updates) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok() || text->empty()) return Open(path);
  std::vector<absl::string_view> lines = absl::StrSplit(*text, '\n', absl::SkipEmpty());
  const std::string header = MetricsCsvHeader();
  if (lines.empty()) return Open(path);
  // A file written by an earlier version has fewer columns: its rows are
  // carried over column by column (by name), the new columns read "nan". A
  // column this version does not write (a newer file) is refused.
  const std::vector<std::string> now = absl::StrSplit(header, ',');
  const std::vector<std::string> before = absl::StrSplit(lines[0], ',');
  std::vector<int> from(now.size(), -1);  // column of `before` feeding each of `now`
  for (size_t b = 0; b < before.size(); ++b) {
    if (before[b].empty()) continue;
    auto it = std::find(now.begin(), now.end(), before[b]);
    if (it == now.end()) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, " has a column this version does not write (\"", before[b],
          "\"); move it away to resume"));
    }
    from[it - now.begin()] = static_cast<int>(b);
  }
  const bool same = lines[0] == header;
  std::string kept = absl::StrCat(header, "\n");
  for (size_t i = 1; i < lines.size(); ++i) {
    // The first column is the update.
    int64_t update = 0;
    const absl::string_view first = lines[i].substr(0, lines[i].find(','));
    if (!absl::SimpleAtoi(first, &update) || update > updates) break;
    if (same) {
      absl::StrAppend(&kept, lines[i], "\n");
      continue;
    }
    const std::vector<absl::string_view> cells = absl::StrSplit(lines[i], ',');
    std::vector<std::string> row(now.size());
    for (size_t c = 0; c < now.size(); ++c) {
      if (now[c].empty()) continue;  // the trailing separator
      row[c] = from[c] >= 0 && from[c] < static_cast<int>(cells.size())
                   ? std::string(cells[from[c]])
                   : "nan";
    }
    absl::StrAppend(&kept, absl::StrJoin(row, ","), "\n");
  }
  PROXIMA_RETURN_IF_ERROR(WriteFileAtomic(path, kept));
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) return absl::InternalError(absl::StrCat("cannot append to '", path, "'"));
  return std::unique_ptr<MetricsCsv>(new MetricsCsv(f));
}

absl::StatusOr<std::unique_ptr<MetricsCsv>> MetricsCsv::Open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return absl::InternalError(absl::StrCat("cannot create '", path, "'"));
  std::fputs((MetricsCsvHeader() + "\n").c_str(), f);
  std::fflush(f);
  return std::unique_ptr<MetricsCsv>(new MetricsCsv(f));
}

MetricsCsv::~MetricsCsv() { std::fclose(file_); }

absl::Status MetricsCsv::Append(const MetricsRow& r) {
  const std::string line = MetricsCsvLine(r) + "\n";
  if (std::fputs(line.c_str(), file_) < 0 || std::fflush(file_) != 0) {
    return absl::InternalError("cannot write metrics.csv");
  }
  return absl::OkStatus();
}

std::string DefaultRunDir(const std::string& env_id, uint64_t seed) {
  std::string name = env_id;
  for (char& c : name) {
    const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
    if (!keep) c = '_';
  }
  return absl::StrCat("runs/", name, "-", seed);
}

bool HoldsRun(const std::string& dir) {
  std::error_code ec;
  for (const char* name : {"config.json", "metrics.csv", "summary.json", "checkpoints"}) {
    if (std::filesystem::exists(std::filesystem::path(dir) / name, ec)) return true;
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (absl::StartsWith(entry.path().filename().string(), kEventFilePrefix)) return true;
  }
  return false;
}

absl::StatusOr<std::string> NewRunDir(const std::string& explicit_dir,
                                      const std::string& default_dir, bool overwrite) {
  if (!explicit_dir.empty()) {
    if (!HoldsRun(explicit_dir)) return explicit_dir;
    if (overwrite) {
      PROXIMA_RETURN_IF_ERROR(ClearRun(explicit_dir));
      return explicit_dir;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "--run-dir ", explicit_dir,
        " already holds a run; choose another directory, continue it with --resume ",
        explicit_dir, ", or replace it with --overwrite"));
  }
  if (!HoldsRun(default_dir)) return default_dir;
  for (int n = 2;; ++n) {
    std::string dir = absl::StrCat(default_dir, "-", n);
    if (!HoldsRun(dir)) return dir;
  }
}

absl::Status ClearRun(const std::string& dir) {
  std::vector<std::filesystem::path> doomed;
  std::error_code ec;
  for (const char* name : {"config.json", "metrics.csv", "summary.json", "learner.addr",
                           "metrics.addr", "dashboard.addr", "checkpoints", "logs"}) {
    doomed.push_back(std::filesystem::path(dir) / name);
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (absl::StartsWith(entry.path().filename().string(), kEventFilePrefix)) {
      doomed.push_back(entry.path());
    }
  }
  for (const std::filesystem::path& p : doomed) {
    std::filesystem::remove_all(p, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("--overwrite: cannot remove ", p.string(), ": ", ec.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status InitRunDir(const std::string& dir, const PpoConfig& config) {
  PROXIMA_RETURN_IF_ERROR(MakeDirs(dir));
  return WriteFileAtomic(dir + "/config.json", ConfigToJson(config).dump(2) + "\n");
}

absl::Status WriteSummary(const std::string& dir, const RunSummary& summary) {
  return WriteFileAtomic(dir + "/summary.json", SummaryToJson(summary).dump(2) + "\n");
}

}  // namespace proxima
