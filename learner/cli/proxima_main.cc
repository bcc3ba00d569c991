// `proxima`: the user CLI.
//
//   proxima train --env ENV --in-process [--seed S] [--total-steps N]
//                 [--run-dir DIR] [--stop-when-solved] [PPO flags...]
//   proxima env list
//   proxima env replay --golden DIR
//
// Exit status: 0 success, 1 runtime failure, 2 bad command line or config.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "actor/envs/golden_replay.h"
#include "actor/envs/registry.h"
#include "common/flags.h"
#include "learner/cli/learner_flags.h"
#include "learner/cli/ppo_flags.h"
#include "learner/in_process_trainer.h"
#include "learner/run_files.h"

ABSL_FLAG(bool, in_process, false,
          "train: run vector env + PPO in this process (no actors, no network)");
ABSL_FLAG(std::string, golden, "", "env replay: directory of <EnvId>.csv reference files");
// --run-dir, --stop-when-solved and --quiet live in learner_flags.cc.
ABSL_DECLARE_FLAG(std::string, run_dir);
ABSL_DECLARE_FLAG(bool, stop_when_solved);
ABSL_DECLARE_FLAG(bool, quiet);
ABSL_FLAG(int64_t, bench_steps, 5000000, "env bench: steps per environment");

namespace proxima {
namespace {

constexpr char kUsage[] =
    "usage: proxima <command> [flags]\n"
    "\n"
    "commands:\n"
    "  train --env ENV --in-process   train PPO in this process and write a run directory\n"
    "  env list                       list the registered environments\n"
    "  env replay --golden DIR        replay Gymnasium reference CSVs against our envs\n"
    "  env bench [--bench-steps N]    single-thread env steps/s of every env (random actions)\n"
    "\n"
    "flags:\n";

int Train() {
  if (!absl::GetFlag(FLAGS_in_process)) {
    ExitWithUsageError("proxima train",
                       absl::InvalidArgumentError(
                           "the local cluster (learner + actor processes) is not built yet; "
                           "pass --in-process to train in this process"));
  }
  absl::StatusOr<PpoConfig> config = PpoConfigFromFlags();
  if (!config.ok()) ExitWithUsageError("proxima train", config.status());
  TrainerOptions options;
  options.run_dir = absl::GetFlag(FLAGS_run_dir);
  if (options.run_dir.empty()) {
    options.run_dir = absl::StrCat("runs/", config->env_id, "-", config->seed);
  }
  options.stop_when_solved = absl::GetFlag(FLAGS_stop_when_solved);
  options.progress = !absl::GetFlag(FLAGS_quiet);
  auto trainer = InProcessTrainer::Create(*config, options);
  if (!trainer.ok()) {
    if (trainer.status().code() == absl::StatusCode::kInvalidArgument ||
        trainer.status().code() == absl::StatusCode::kFailedPrecondition) {
      ExitWithUsageError("proxima train", trainer.status());
    }
    std::fprintf(stderr, "proxima train: %s\n", trainer.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<RunSummary> summary = (*trainer)->Run();
  if (!summary.ok()) {
    std::fprintf(stderr, "proxima train: %s\n", summary.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n", SummaryToJson(*summary).dump(2).c_str());
  std::printf("run directory: %s\n", options.run_dir.c_str());
  return 0;
}

int EnvList() {
  for (const std::string& id : RegisteredEnvIds()) {
    absl::StatusOr<EnvSpec> spec = GetEnvSpec(id);
    std::printf("%-26s obs %-28s action %-28s max_steps %d\n", id.c_str(),
                spec->observation_space.DebugString().c_str(),
                spec->action_space.DebugString().c_str(), spec->max_episode_steps);
  }
  return 0;
}

// Single-threaded env steps/s with uniformly random actions, resets included.
int EnvBench() {
  const int64_t steps = absl::GetFlag(FLAGS_bench_steps);
  if (steps <= 0) {
    ExitWithUsageError("proxima env bench",
                       absl::InvalidArgumentError("--bench-steps must be >= 1"));
  }
  for (const std::string& id : RegisteredEnvIds()) {
    auto env = MakeEnv(id);
    if (!env.ok()) return 1;
    const EnvSpec& spec = (*env)->spec();
    std::vector<float> obs(spec.obs_dim());
    Rng rng(1);
    // Pre-draw actions so the loop measures the env, not the sampler.
    std::vector<float> actions(4096 * spec.action_dim());
    for (float& a : actions) {
      a = spec.action_space.is_discrete()
              ? static_cast<float>(rng.UniformInt(spec.action_space.n))
              : static_cast<float>(rng.Uniform(spec.action_space.low[0], spec.action_space.high[0]));
    }
    (*env)->Seed(1);
    (*env)->Reset(obs.data());
    double checksum = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < steps; ++i) {
      StepResult r =
          (*env)->Step(&actions[(i % 4096) * spec.action_dim()], obs.data());
      checksum += r.reward;
      if (r.terminated || r.truncated) (*env)->Reset(obs.data());
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%-26s %12.0f steps/s  (%lld steps, reward sum %.0f)\n", id.c_str(),
                steps / secs, static_cast<long long>(steps), checksum);
  }
  return 0;
}

int EnvReplay() {
  const std::string dir = absl::GetFlag(FLAGS_golden);
  if (dir.empty()) {
    ExitWithUsageError("proxima env replay",
                       absl::InvalidArgumentError("--golden DIR is required"));
  }
  auto reports = ReplayGoldenDir(dir);
  if (!reports.ok()) {
    std::fprintf(stderr, "proxima env replay: %s\n", reports.status().ToString().c_str());
    return 1;
  }
  bool ok = true;
  std::printf("%-26s %7s %8s %14s %14s %s\n", "env", "rows", "episodes", "max_dev_row",
              "max_dev_episode", "mismatches");
  for (const GoldenEnvReport& r : *reports) {
    const int64_t bad = r.row_mismatches + r.episode_mismatches;
    std::printf("%-26s %7lld %8lld %14.3g %14.3g %lld\n", r.env_id.c_str(),
                static_cast<long long>(r.rows), static_cast<long long>(r.episodes),
                r.max_row_deviation, r.max_episode_deviation, static_cast<long long>(bad));
    for (const GoldenMismatch& m : r.first_mismatches) std::printf("    %s\n", m.ToString().c_str());
    if (bad > 0) ok = false;
  }
  if (reports->empty()) {
    std::fprintf(stderr, "proxima env replay: no *.csv in %s\n", dir.c_str());
    return 1;
  }
  std::printf("%s\n", ok ? "all environments match" : "MISMATCH");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace proxima

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  proxima::ParsedArgs parsed;
  absl::Status s = proxima::ParseFlags(args, &parsed);
  if (parsed.help || (s.ok() && parsed.positional.empty())) {
    std::printf("%s%s", proxima::kUsage,
                proxima::FlagsHelp({"learner/cli/"}).c_str());
    return parsed.help ? 0 : 2;
  }
  if (!s.ok()) proxima::ExitWithUsageError("proxima", s);
  const std::vector<std::string>& pos = parsed.positional;
  const std::string& cmd = pos[0];
  if (cmd == "train" && pos.size() == 1) return proxima::Train();
  if (cmd == "env" && pos.size() == 2 && pos[1] == "list") return proxima::EnvList();
  if (cmd == "env" && pos.size() == 2 && pos[1] == "replay") return proxima::EnvReplay();
  if (cmd == "env" && pos.size() == 2 && pos[1] == "bench") return proxima::EnvBench();
  proxima::ExitWithUsageError(
      "proxima", absl::InvalidArgumentError(absl::StrCat(
                     "unknown command '", absl::StrJoin(pos, " "), "'; see 'proxima --help'")));
}
