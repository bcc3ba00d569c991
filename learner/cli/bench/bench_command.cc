#include "learner/cli/bench/bench_command.h"

#include <chrono>
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/flags.h"
#include "common/logging.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "learner/cli/bench/bench.h"
#include "learner/cli/local_cluster.h"

namespace proxima {
namespace {

constexpr char kBenchUsage[] =
    "usage: proxima bench [--suite NAME[,NAME...]] [--json OUT] [--quick] [--work-dir DIR]\n"
    "\n"
    "Runs the benchmark suites (all by default, in this order) and prints one line per\n"
    "case; --json writes every row with the machine's description for\n"
    "learner/cli/bench/plot_benchmarks.sh. --quick: short runs (CI smoke; the figures in\n"
    "docs/benchmarks.md come from full runs). --work-dir: scratch run directories\n"
    "(default: a fresh directory under $TMPDIR or /tmp, removed afterwards).\n"
    "\n"
    "suites:\n";

struct BenchArgs {
  std::vector<std::string> suites;  // empty: all
  std::string json_out;
  std::string work_dir;
  bool quick = false;
};

absl::StatusOr<BenchArgs> ParseBenchArgs(const std::vector<std::string>& args, bool* help) {
  BenchArgs a;
  *help = false;
  std::set<std::string> known;
  for (const bench::Suite& s : bench::AllSuites()) known.insert(s.name);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      *help = true;
      return a;
    }
    std::string name, value;
    bool has_value = false;
    if (!SplitLongFlag(arg, &name, &value, &has_value)) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
    }
    if (name == "quick") {
      if (has_value) return absl::InvalidArgumentError("--quick takes no value");
      a.quick = true;
      continue;
    }
    if (name != "suite" && name != "json" && name != "work-dir" && name != "work_dir") {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      }
      value = args[++i];
    }
    if (value.empty()) return absl::InvalidArgumentError(absl::StrCat("--", name, " is empty"));
    if (name == "suite") {
      for (absl::string_view s : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        if (known.count(std::string(s)) == 0) {
          return absl::InvalidArgumentError(
              absl::StrCat("unknown suite '", s, "'; suites: ",
                           absl::StrJoin(known.begin(), known.end(), ", ")));
        }
        a.suites.emplace_back(s);
      }
    } else if (name == "json") {
      a.json_out = value;
    } else {
      a.work_dir = value;
    }
  }
  return a;
}

}  // namespace

int BenchMain(const std::vector<std::string>& args) {
  bool help = false;
  absl::StatusOr<BenchArgs> a = ParseBenchArgs(args, &help);
  std::string usage = kBenchUsage;
  for (const bench::Suite& s : bench::AllSuites()) {
    absl::StrAppend(&usage, "  ", s.name, std::string(12 - std::string(s.name).size(), ' '),
                    s.description, "\n");
  }
  if (help) {
    std::fputs(usage.c_str(), stdout);
    return 0;
  }
  if (!a.ok()) {
    LogError(a.status().message());
    LogRaw(usage);
    return 2;
  }
  bench::BenchOptions options;
  options.quick = a->quick;
  absl::StatusOr<std::string> bin_dir = ExecutableDir();
  if (!bin_dir.ok()) {
    LogError(bin_dir.status().ToString());
    return 1;
  }
  options.bin_dir = *bin_dir;
  // Without --work-dir: a fresh directory, removed when the command ends.
  std::optional<ScopedTempDir> scratch;
  std::error_code ec;
  if (a->work_dir.empty()) {
    absl::StatusOr<ScopedTempDir> tmp = ScopedTempDir::Create("proxima-bench-");
    if (!tmp.ok()) {
      LogError(tmp.status().message());
      return 1;
    }
    scratch.emplace(std::move(*tmp));
    options.work_dir = scratch->path();
  } else {
    options.work_dir = a->work_dir;
    std::filesystem::create_directories(options.work_dir, ec);
    if (ec) {
      LogError(absl::StrCat("cannot create --work-dir ", options.work_dir, ": ", ec.message()));
      return 2;
    }
  }
  options.log = [](absl::string_view line) { LogInfo(line); };

  bench::BenchReport report;
  int rc = 0;
  for (const bench::Suite& s : bench::AllSuites()) {
    if (!a->suites.empty() &&
        std::find(a->suites.begin(), a->suites.end(), s.name) == a->suites.end()) {
      continue;
    }
    options.log(absl::StrCat("suite ", s.name, ": ", s.description));
    const auto start = std::chrono::steady_clock::now();
    const size_t rows_before = report.rows().size();
    absl::Status status = s.run(options, &report);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!status.ok()) {
      LogError(absl::StrCat("suite ", s.name, " failed: ", status.ToString()));
      rc = 1;
    }
    bench::BenchReport part;
    for (size_t i = rows_before; i < report.rows().size(); ++i) part.Add(report.rows()[i]);
    std::printf("%s", part.ToText().c_str());
    std::printf("  (suite %s: %.1f s)\n", s.name, secs);
    std::fflush(stdout);
  }
  if (!a->json_out.empty()) {
    absl::Status s = WriteFileAtomic(a->json_out, report.ToJson().dump(2) + "\n");
    if (!s.ok()) {
      LogError(s.ToString());
      rc = 1;
    } else {
      std::printf("wrote %s\n", a->json_out.c_str());
    }
  }
  return rc;
}

}  // namespace proxima
