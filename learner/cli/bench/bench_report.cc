#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "learner/cli/bench/bench.h"
#include "torch/version.h"

namespace proxima::bench {

double Median(std::vector<double> values) { return Percentile(std::move(values), 50); }

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  if (p >= 100) return values.back();
  if (p == 50 && values.size() % 2 == 0) {  // the usual median of an even count
    const size_t h = values.size() / 2;
    return (values[h - 1] + values[h]) / 2;
  }
  // Nearest rank: the smallest value with at least p% of values ≤ it.
  const double rank = std::ceil(p / 100 * static_cast<double>(values.size()));
  const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return values[std::min(index, values.size() - 1)];
}

nlohmann::json MachineInfo() {
  nlohmann::json m;
  m["cores"] = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (absl::StartsWith(line, "model name")) {
      m["cpu"] = std::string(absl::StripAsciiWhitespace(line.substr(line.find(':') + 1)));
      break;
    }
  }
  // Debian's LibTorch calls whatever libblas.so.3 the alternatives system
  // selects; the figures depend on it (docs/benchmarks.md "BLAS").
  std::error_code ec;
  const auto blas = std::filesystem::canonical("/usr/lib/x86_64-linux-gnu/libblas.so.3", ec);
  m["libblas"] = ec ? "unknown" : blas.string();
  m["libtorch"] = TORCH_VERSION;
#ifdef NDEBUG
  m["build"] = "release";
#else
  m["build"] = "debug";
#endif
  return m;
}

nlohmann::json BenchReport::ToJson() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const BenchRow& r : rows_) {
    nlohmann::json row = {{"suite", r.suite}, {"name", r.name}, {"params", r.params},
                          {"metrics", r.metrics}};
    if (!r.series.is_null()) row["series"] = r.series;
    rows.push_back(std::move(row));
  }
  return {{"machine", MachineInfo()}, {"rows", rows}};
}

namespace {

std::string FormatValue(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  if (v.is_number_integer()) return absl::StrFormat("%d", v.get<int64_t>());
  if (v.is_number()) {
    const double d = v.get<double>();
    if (!std::isfinite(d)) return "-";
    if (std::fabs(d) >= 1000) return absl::StrFormat("%.0f", d);
    return absl::StrFormat("%.4g", d);
  }
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

}  // namespace

std::string BenchReport::ToText() const {
  std::string out;
  std::string suite;
  for (const BenchRow& r : rows_) {
    if (r.suite != suite) {
      suite = r.suite;
      absl::StrAppend(&out, "== ", suite, "\n");
    }
    absl::StrAppendFormat(&out, "  %-28s", r.name);
    for (const auto& [key, value] : r.metrics.items()) {
      if (key == "pass") continue;
      absl::StrAppend(&out, " ", key, "=", FormatValue(value));
    }
    if (r.metrics.contains("pass")) {  // a target's verdict line
      const nlohmann::json& pass = r.metrics["pass"];
      absl::StrAppend(&out, "\n    ", pass.is_boolean() ? (pass.get<bool>() ? "PASS" : "FAIL")
                                                         : "no verdict");
      if (r.params.contains("target")) absl::StrAppend(&out, ": ", FormatValue(r.params["target"]));
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

const std::vector<Suite>& AllSuites() {
  static const std::vector<Suite> suites = {
      {"env", "env steps/s per env, single thread", RunEnvSuite},
      {"inference", "actor inference samples/s vs batch size (64x64, 256x256)",
       RunInferenceSuite},
      {"update", "learner PPO update samples/s, 64x64 and 256x256 MLPs", RunUpdateSuite},
      {"ingest", "learner ingest: transitions/s from N synthetic actors over loopback",
       RunIngestSuite},
      {"broadcast", "weight broadcast latency publish -> applied, 1/8/32 actors",
       RunBroadcastSuite},
      {"train", "end-to-end proxima train throughput, 1/2/4 actors and in-process",
       RunTrainSuite},
      {"solve", "time-to-solve CartPole-v1, median of 5 seeds, cluster and in-process",
       RunSolveSuite},
      {"learn", "learning targets of the default cluster (issue 17), a verdict per target",
       RunLearnSuite},
      {"mujoco", "MuJoCo throughput (HalfCheetah-v4) and learning vs CleanRL, 3 envs x 3 seeds",
       RunMujocoSuite},
      {"memory", "peak RSS of learner and actor processes", RunMemorySuite},
      {"seqwire", "sequence chunks: bytes per sequence, learner ingest sequences/s and tokens/s",
       RunSeqWireSuite},
      {"generation", "sequence-policy generation tokens/s, KV cache on/off, batch 1/8/64",
       RunGenerationSuite},
      {"sequpdate", "sequence learner update tokens/s, GRPO and PPO, 32 prompts x 8 completions",
       RunSeqUpdateSuite},
  };
  return suites;
}

}  // namespace proxima::bench
