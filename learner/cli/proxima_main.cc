// `proxima`: the user CLI.
//
//   proxima train --env ENV [--actors N] [--seed S] [--total-steps N]
//                 [--run-dir DIR] [--stop-when-solved] [--quiet] [PPO/learner flags...]
//   proxima train --env ENV --in-process [...]
//   proxima train ... --print-config       (the resolved config.json; no training)
//   proxima presets [ENV]
//   proxima COMMAND --help                 (that command's flags)
//   proxima status|actors|watch|health|checkpoint|pause|resume --learner ADDR
//   proxima set KEY=VALUE... --learner ADDR
//   proxima env list|replay
//   proxima plot RUN_DIR... --out FILE.png [--title T]
//   proxima bench [--suite NAME[,NAME...]] [--json OUT] [--quick]
//   proxima export --checkpoint PATH --out FILE
//   proxima eval --checkpoint PATH | --policy FILE [--env ENV] [--episodes N] ...
//
// Exit status: 0 success, 1 runtime failure (learner unreachable, run
// failed, not healthy), 2 bad command line or config (and `set` refused).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/envs/golden_replay.h"
#include "common/envs/mujoco/mujoco_model.h"
#include "common/envs/mujoco/mujoco_registry.h"
#include "common/envs/registry.h"
#include "common/file_util.h"
#include "common/flags.h"
#include "common/logging.h"
#include "learner/cli/bench/bench_command.h"
#include "learner/cli/client_commands.h"
#include "learner/cli/command_help.h"
#include "learner/cli/eval_command.h"
#include "learner/cli/export_command.h"
#include "learner/cli/learner_flags.h"
#include "learner/cli/plot_command.h"
#include "learner/cli/local_cluster.h"
#include "learner/cli/ppo_flags.h"
#include "learner/cli/train_plan.h"
#include "learner/in_process_trainer.h"
#include "learner/resume_config.h"
#include "learner/run_files.h"
#include "learner/trainer_checkpoint.h"

ABSL_FLAG(bool, in_process, false,
          "train: run vector env + PPO in this process (no actors, no network)");
ABSL_FLAG(int, actors, 2, "train: actor processes of the local cluster");
ABSL_FLAG(bool, print_config, false,
          "train: print the resolved config (config.json as the run would write it, \"run\" "
          "included) and exit without training");
ABSL_FLAG(int, actor_threads, 1,
          "train: threads per actor process (proxima-actor --threads): env columns stepped in "
          "parallel");
ABSL_FLAG(std::string, learner, "",
          "status, actors, watch, health, checkpoint, pause, resume, set: the learner's "
          "HOST:PORT [with --run-dir: read from RUN_DIR/learner.addr]");
ABSL_FLAG(bool, json, false,
          "status, actors, watch, ...: print protobuf JSON (proto field names; watch: one "
          "object per line)");
ABSL_FLAG(double, timeout, 5, "learner commands: deadline of each RPC, seconds");
ABSL_FLAG(int64_t, count, 0, "watch: stop after this many updates [0: until the run ends]");
ABSL_FLAG(std::string, tag, "", "checkpoint: label added to the file name (kept from pruning)");
ABSL_FLAG(bool, include_inactive, false, "actors: also list disconnected and finished actors");
ABSL_FLAG(bool, validate_only, false, "set: check the values, change nothing");
ABSL_FLAG(std::string, golden, "", "env replay: directory of <EnvId>.csv reference files");
ABSL_FLAG(std::string, tls_server_name, "",
          "learner commands: name expected in the learner's TLS certificate instead of the "
          "--learner host");
ABSL_FLAG(std::string, token_file, "",
          "learner commands: file holding the bearer token (role monitor or admin) [default: "
          "$PROXIMA_TOKEN]");
// --run-dir, --stop-when-solved, --quiet and --mode live in learner_flags.cc,
// --env in ppo_flags.cc.
ABSL_DECLARE_FLAG(std::string, run_dir);
ABSL_DECLARE_FLAG(std::string, mode);
ABSL_DECLARE_FLAG(std::string, env);
ABSL_DECLARE_FLAG(bool, stop_when_solved);
ABSL_DECLARE_FLAG(bool, quiet);
// The TLS flags live in learner_flags.cc too; learner commands use them as a
// client: --tls-ca verifies the learner, --tls-cert/--tls-key are a client
// certificate (docs/security.md).
ABSL_DECLARE_FLAG(std::string, tls_ca);
ABSL_DECLARE_FLAG(std::string, tls_cert);
ABSL_DECLARE_FLAG(std::string, tls_key);

namespace proxima {
namespace {

constexpr char kUsage[] =
    "usage: proxima <command> [flags]\n"
    "\n"
    "training:\n"
    "  train --env ENV [--actors N]   start a learner and N actor processes on this machine\n"
    "                                 (local cluster; logs in RUN_DIR/logs) and train PPO\n"
    "  train --env ENV --in-process   train PPO in this process (no actors, no network)\n"
    "  train ... --print-config       print the resolved config.json and exit\n"
    "  presets [ENV]                  each env's preset and where its values come from\n"
    "\n"
    "a running learner (--learner HOST:PORT, or --run-dir DIR to read DIR/learner.addr;\n"
    "--json for machine-readable output, --timeout S per RPC; TLS and bearer token:\n"
    "--tls-ca, --tls-cert/--tls-key, --tls-server-name, --token-file or $PROXIMA_TOKEN,\n"
    "see docs/security.md):\n"
    "  status                         counters, queue, chunk accounting, hyperparameters, actors\n"
    "  actors [--include-inactive]    registered actors\n"
    "  watch [--count N]              one line per trainer update until the run ends\n"
    "  health                         exit 0 only if the learner is SERVING (health checks)\n"
    "  checkpoint [--tag T]           write a checkpoint now\n"
    "  pause | resume                 stop / restart training (actors keep connected)\n"
    "  set KEY=VALUE...               change hyperparameters at the next update (all or\n"
    "      [--validate-only]          nothing; exit 2 if the learner refuses any key)\n"
    "\n"
    "policies (--checkpoint: a checkpoint file, or a run dir for its newest one):\n"
    "  export --checkpoint PATH --out FILE\n"
    "                                 write the policy as TorchScript (torch.jit.load)\n"
    "  eval --checkpoint PATH | --policy FILE [--env ENV] [--episodes N] [--deterministic]\n"
    "       [--seed S] [--json]       run N episodes; mean ± std of return and length\n"
    "\n"
    "environments:\n"
    "  env list                       list the registered environments\n"
    "  env replay --golden DIR        replay Gymnasium reference CSVs against our envs\n"
    "\n"
    "benchmarks:\n"
    "  bench [--suite NAME] [--json OUT] [--quick]\n"
    "                                 the benchmark suite (own flags: 'proxima bench --help')\n"
    "\n"
    "runs:\n"
    "  plot RUN_DIR... --out FILE.png learning curves with gnuplot [--title T] (own flags:\n"
    "                                 'proxima plot --help')\n"
    "\n"
    "exit status: 0 ok, 1 runtime failure (e.g. learner unreachable), 2 bad command line\n"
    "\n"
    "'proxima COMMAND --help' lists the flags of one command (train: with the values of\n"
    "--env's preset).\n";

// A new run's directory (NewRunDir, learner/run_files.h); exits 2 for a
// --run-dir that holds a run without --overwrite.
std::string NewTrainRunDir(const PpoConfig& config, const LearnerOptions& learner) {
  const std::string default_dir = DefaultRunDir(config.env_id, config.seed);
  absl::StatusOr<std::string> dir = NewRunDir(learner.run_dir, default_dir, learner.overwrite);
  if (absl::IsInvalidArgument(dir.status())) ExitWithUsageError("proxima train", dir.status());
  if (!dir.ok()) {
    LogError(dir.status().ToString());
    std::exit(1);
  }
  if (learner.run_dir.empty() && *dir != default_dir) {
    LogRaw(absl::StrCat("proxima train: ", default_dir, " holds another run; this one goes to ",
                        *dir, "\n"));
  }
  return *dir;
}

// With --resume: the checkpoint to continue and its config with the flags
// given again applied (learner/resume_config.h); exits 2 for a directory
// without a checkpoint or a flag that cannot change.
std::optional<ResumePoint> TrainResumePoint(const LearnerOptions& learner) {
  if (learner.resume_dir.empty()) return std::nullopt;
  absl::StatusOr<ResumePoint> point =
      FindResumePoint(learner.resume_dir, ResumeChangesFromFlags());
  if (absl::IsInvalidArgument(point.status())) ExitWithUsageError("proxima train", point.status());
  if (!point.ok()) {
    LogError(point.status().ToString());
    std::exit(1);
  }
  return *std::move(point);
}

// The local cluster: learner + actor processes (learner/cli/local_cluster.h).
// Everything is validated here, so bad input exits 2 before any process
// starts.
int TrainCluster(const std::set<std::string>& given) {
  absl::StatusOr<PpoConfig> config = PpoConfigFromFlags();
  if (!config.ok()) ExitWithUsageError("proxima train", config.status());
  absl::StatusOr<LearnerOptions> learner = LearnerOptionsFromFlags();
  if (!learner.ok()) ExitWithUsageError("proxima train", learner.status());
  if (!learner->tls_cert.empty() || !learner->auth_tokens_file.empty() ||
      !learner->auth_tokens.empty()) {
    ExitWithUsageError("proxima train",
                       absl::InvalidArgumentError(
                           "the local cluster runs on loopback without TLS or bearer tokens; "
                           "for a secure cluster start proxima-learner and proxima-actor "
                           "(docs/security.md)"));
  }
  const std::optional<ResumePoint> resume = TrainResumePoint(*learner);
  if (resume) {
    *config = resume->config;
    if (FlagGiven("actor_num_envs")) {
      ExitWithUsageError("proxima train",
                         absl::InvalidArgumentError(absl::StrCat(
                             "--actor-num-envs cannot change when resuming: the run's ",
                             config->num_envs, " env columns come from its checkpoint")));
    }
  }
  const int actors = absl::GetFlag(FLAGS_actors);
  if (actors < 1) {
    ExitWithUsageError("proxima train", absl::InvalidArgumentError(absl::StrCat(
                                            "--actors must be >= 1 (got ", actors, ")")));
  }
  LocalClusterOptions options;
  options.learner_flags = LearnerFlagsToForward();
  // A MuJoCo preset collects its batch as one 2,048-step env column
  // (CleanRL's ppo_continuous_action). A cluster of N actors splits it into N
  // columns of 2,048/N steps, one per actor: a sync round (one chunk per
  // actor) is then exactly one batch, and async chunks are 1/N of a batch,
  // which keeps the policy lag of trained data low. --num-envs or
  // --rollout-length on the command line turn this off.
  if (!resume && IsMujocoEnvId(config->env_id) && actors > 1 && config->num_envs == 1 &&
      config->rollout_length % actors == 0 && !FlagGiven("num_envs") &&
      !FlagGiven("rollout_length")) {
    config->num_envs = actors;
    config->rollout_length /= actors;
    options.learner_flags.push_back(absl::StrCat("--num-envs=", config->num_envs));
    options.learner_flags.push_back(absl::StrCat("--rollout-length=", config->rollout_length));
  }
  options.env_id = config->env_id;
  options.total_steps = config->total_steps;
  options.num_envs = config->num_envs;
  options.actors = actors;
  options.actor_threads = absl::GetFlag(FLAGS_actor_threads);
  if (options.actor_threads < 1 || options.actor_threads > 256) {
    ExitWithUsageError("proxima train",
                       absl::InvalidArgumentError(absl::StrCat(
                           "--actor-threads must be in [1, 256] (got ", options.actor_threads, ")")));
  }
  TrainPlan plan;
  plan.mode = absl::GetFlag(FLAGS_mode);
  plan.actors = actors;
  plan.actor_threads = options.actor_threads;
  plan.stop_when_solved = learner->stop_when_solved;
  if (absl::Status conflict = CheckTrainFlags(given, plan, *config); !conflict.ok()) {
    ExitWithUsageError("proxima train", conflict);
  }
  if (absl::GetFlag(FLAGS_print_config)) {
    std::printf("%s\n", TrainConfigJson(plan, *config).dump(2).c_str());
    return 0;
  }
  options.run = RunToJson(plan, *config);
  // Resuming continues the run in its own directory.
  options.run_dir = resume ? learner->resume_dir : NewTrainRunDir(*config, *learner);
  options.quiet = absl::GetFlag(FLAGS_quiet);
  // The learner's own shutdown budget plus time to flush and exit.
  options.learner_grace = absl::Seconds(learner->grace_period_seconds) + absl::Seconds(10);
  return RunLocalCluster(options);
}

int Train(const std::set<std::string>& given) {
  if (!absl::GetFlag(FLAGS_in_process)) return TrainCluster(given);
  absl::StatusOr<PpoConfig> config = PpoConfigFromFlags();
  if (!config.ok()) ExitWithUsageError("proxima train", config.status());
  // --run-dir, --overwrite, --resume and the checkpoint cadence.
  absl::StatusOr<LearnerOptions> learner = LearnerOptionsFromFlags();
  if (!learner.ok()) ExitWithUsageError("proxima train", learner.status());
  const std::optional<ResumePoint> resume = TrainResumePoint(*learner);
  TrainPlan plan;
  plan.in_process = true;
  plan.stop_when_solved = absl::GetFlag(FLAGS_stop_when_solved);
  const PpoConfig& resolved = resume ? resume->config : *config;
  if (absl::Status conflict = CheckTrainFlags(given, plan, resolved); !conflict.ok()) {
    ExitWithUsageError("proxima train", conflict);
  }
  if (absl::GetFlag(FLAGS_print_config)) {
    std::printf("%s\n", TrainConfigJson(plan, resolved).dump(2).c_str());
    return 0;
  }
  TrainerOptions options;
  options.run_dir = resume ? learner->resume_dir : NewTrainRunDir(*config, *learner);
  options.stop_when_solved = absl::GetFlag(FLAGS_stop_when_solved);
  options.progress = !absl::GetFlag(FLAGS_quiet);
  options.checkpoint_every_seconds = learner->checkpoint_every_seconds;
  options.checkpoint_every_updates = learner->checkpoint_every_updates;
  options.keep_checkpoints = learner->keep_checkpoints;
  options.eval = learner->eval;
  auto trainer =
      resume ? ResumeTrainer(*resume, options) : InProcessTrainer::Create(*config, options);
  if (!trainer.ok()) {
    if (trainer.status().code() == absl::StatusCode::kInvalidArgument ||
        trainer.status().code() == absl::StatusCode::kFailedPrecondition) {
      ExitWithUsageError("proxima train", trainer.status());
    }
    LogError(trainer.status().ToString());
    return 1;
  }
  if (absl::Status added = AddRunToConfigJson(options.run_dir, RunToJson(plan, resolved));
      !added.ok()) {
    LogWarning(absl::StrCat("config.json: cannot add the run's launch: ", added.message()));
  }
  absl::StatusOr<RunSummary> summary = (*trainer)->Run();
  if (!summary.ok()) {
    LogError(summary.status().ToString());
    return 1;
  }
  std::printf("%s\n", SummaryForDisplay(SummaryToJson(*summary)).dump(2).c_str());
  std::printf("run directory: %s\n", options.run_dir.c_str());
  return 0;
}

// A space as `proxima env list` shows it: Gymnasium's short Box form when
// every dimension has the same bounds.
std::string SpaceSummary(const Space& s) {
  if (s.is_discrete() || s.low.empty()) return s.DebugString();
  for (size_t i = 1; i < s.low.size(); ++i) {
    if (s.low[i] != s.low[0] || s.high[i] != s.high[0]) return s.DebugString();
  }
  return absl::StrCat("Box(", s.low[0], ", ", s.high[0], ", (", s.low.size(), ",), float32)");
}

int EnvList() {
  for (const std::string& id : RegisteredEnvIds()) {
    absl::StatusOr<EnvSpec> spec = GetEnvSpec(id);
    if (!spec.ok()) {
      LogError(spec.status().ToString());
      return 2;
    }
    std::printf("%-26s obs %-32s action %-32s max_steps %d\n", id.c_str(),
                SpaceSummary(spec->observation_space).c_str(),
                SpaceSummary(spec->action_space).c_str(), spec->max_episode_steps);
  }
  // Where the MuJoCo envs above loaded their model files from (the first
  // folder of the search order that has them; common/envs/mujoco/mujoco_model.h).
  for (const std::string& dir : MujocoAssetDirs()) {
    if (ReadFile(dir + "/half_cheetah.xml").ok()) {
      std::printf("MuJoCo %s model files: %s\n", MujocoVersion().c_str(), dir.c_str());
      break;
    }
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
    LogError(reports.status().ToString());
    return 1;
  }
  bool ok = true;
  std::printf("%-26s %7s %8s %14s %14s %8s %s\n", "env", "rows", "episodes", "max_dev_row",
              "max_dev_episode", "max_ulp", "mismatches");
  for (const GoldenEnvReport& r : *reports) {
    const int64_t bad = r.row_mismatches + r.episode_mismatches;
    std::printf("%-26s %7lld %8lld %14.3g %14.3g %8s %lld\n", r.env_id.c_str(),
                static_cast<long long>(r.rows), static_cast<long long>(r.episodes),
                r.max_row_deviation, r.max_episode_deviation,
                r.max_ulp < 0 ? "-" : absl::StrCat(r.max_ulp).c_str(), static_cast<long long>(bad));
    for (const GoldenMismatch& m : r.first_mismatches) std::printf("    %s\n", m.ToString().c_str());
    if (bad > 0) ok = false;
  }
  if (reports->empty()) {
    LogError(absl::StrCat("no *.csv in ", dir));
    return 1;
  }
  std::printf("%s\n", ok ? "all environments match" : "MISMATCH");
  return ok ? 0 : 1;
}

// Options shared by the commands that talk to a running learner.
ClientOptions ClientOptionsFromFlags(const std::string& command) {
  const std::string program = absl::StrCat("proxima ", command);
  ClientOptions o;
  o.learner = absl::GetFlag(FLAGS_learner);
  if (o.learner.empty() && !absl::GetFlag(FLAGS_run_dir).empty()) {
    // The learner writes its bound address there (DESIGN.md "Run directory").
    const std::string path = absl::GetFlag(FLAGS_run_dir) + "/learner.addr";
    absl::StatusOr<std::string> addr = ReadFile(path);
    if (!addr.ok()) {
      ExitWithUsageError(program, absl::InvalidArgumentError(absl::StrCat(
                                      "no --learner given and cannot read ", path)));
    }
    o.learner = std::string(absl::StripAsciiWhitespace(*addr));
  }
  if (o.learner.empty()) {
    ExitWithUsageError(program, absl::InvalidArgumentError(
                                    "--learner HOST:PORT (or --run-dir DIR) is required"));
  }
  const double timeout = absl::GetFlag(FLAGS_timeout);
  if (!(timeout > 0)) {
    ExitWithUsageError(program, absl::InvalidArgumentError(absl::StrCat(
                                    "--timeout must be > 0 seconds (got ", timeout, ")")));
  }
  o.timeout = absl::Seconds(timeout);
  o.json = absl::GetFlag(FLAGS_json);
  ClientSecurityOptions security;
  security.tls_ca = absl::GetFlag(FLAGS_tls_ca);
  security.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  security.tls_key = absl::GetFlag(FLAGS_tls_key);
  security.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  security.token_file = absl::GetFlag(FLAGS_token_file);
  const char* env_token = std::getenv(kTokenEnvVar);
  absl::StatusOr<ChannelSecurity> loaded =
      ChannelSecurity::Load(security, env_token == nullptr ? "" : env_token);
  if (!loaded.ok()) ExitWithUsageError(program, loaded.status());
  o.security = *std::move(loaded);
  return o;
}

// Runs a learner command; -1 if `pos` names none.
int RunClientCommand(const std::vector<std::string>& pos) {
  const std::string& cmd = pos[0];
  if (cmd == "set") {
    // Arguments are checked before anything is sent; none at all is a usage
    // error naming the missing KEY=VALUE, not an unknown command.
    absl::StatusOr<std::map<std::string, std::string>> values =
        ParseAssignments(std::vector<std::string>(pos.begin() + 1, pos.end()));
    if (!values.ok()) ExitWithUsageError("proxima set", values.status());
    return SetCommand(ClientOptionsFromFlags(cmd), *values, absl::GetFlag(FLAGS_validate_only),
                      std::cout, std::cerr);
  }
  if (pos.size() != 1) return -1;
  if (cmd == "status") return StatusCommand(ClientOptionsFromFlags(cmd), std::cout, std::cerr);
  if (cmd == "actors") {
    return ActorsCommand(ClientOptionsFromFlags(cmd), absl::GetFlag(FLAGS_include_inactive),
                         std::cout, std::cerr);
  }
  if (cmd == "watch") {
    const int64_t count = absl::GetFlag(FLAGS_count);
    if (count < 0) {
      ExitWithUsageError("proxima watch", absl::InvalidArgumentError("--count must be >= 0"));
    }
    return WatchCommand(ClientOptionsFromFlags(cmd), count, std::cout, std::cerr);
  }
  if (cmd == "health") return HealthCommand(ClientOptionsFromFlags(cmd), std::cout, std::cerr);
  if (cmd == "checkpoint") {
    return CheckpointCommand(ClientOptionsFromFlags(cmd), absl::GetFlag(FLAGS_tag), std::cout,
                             std::cerr);
  }
  if (cmd == "pause") return PauseCommand(ClientOptionsFromFlags(cmd), std::cout, std::cerr);
  if (cmd == "resume") return ResumeCommand(ClientOptionsFromFlags(cmd), std::cout, std::cerr);
  return -1;
}

// `proxima COMMAND --help`: that command's flags (train: with --env's
// preset values; learner/cli/command_help.h), else the overall usage.
int PrintCommandHelp(const std::string& command) {
  absl::StatusOr<std::string> help = CommandHelp(command, absl::GetFlag(FLAGS_env));
  if (absl::IsNotFound(help.status())) {
    std::printf("%s", kUsage);
    return 0;
  }
  if (!help.ok()) ExitWithUsageError(absl::StrCat("proxima ", command), help.status());
  std::printf("%s", help->c_str());
  return 0;
}

// What stderr lines start with: the command, as in "proxima train: ..." or
// "proxima env replay: ...".
std::string ProgramName(const std::vector<std::string>& positional) {
  if (positional.empty()) return "proxima";
  if (positional[0] == "env" && positional.size() == 2) {
    return absl::StrCat("proxima env ", positional[1]);
  }
  return absl::StrCat("proxima ", positional[0]);
}

}  // namespace
}  // namespace proxima

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // `plot` and `bench` parse their own flags (learner/cli/plot_command.h,
  // learner/cli/bench/bench_command.h); the rest are named once parsed.
  const bool own_flags = !args.empty() && (args[0] == "plot" || args[0] == "bench");
  proxima::ParsedArgs parsed;
  absl::Status s = own_flags ? absl::OkStatus() : proxima::ParseFlags(args, &parsed);
  proxima::SetProcessName(proxima::ProgramName(own_flags ? args : parsed.positional));
  if (!args.empty() && args[0] == "plot") return proxima::PlotMain({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "bench") return proxima::BenchMain({args.begin() + 1, args.end()});
  if (parsed.help && !parsed.positional.empty()) {
    return proxima::PrintCommandHelp(parsed.positional[0]);
  }
  if (parsed.help || (s.ok() && parsed.positional.empty())) {
    std::printf("%s", proxima::kUsage);
    return parsed.help ? 0 : 2;
  }
  if (!s.ok()) proxima::ExitWithUsageError("proxima", s);
  const std::vector<std::string>& pos = parsed.positional;
  const std::string& cmd = pos[0];
  if (cmd == "train" && pos.size() == 1) return proxima::Train(parsed.given);
  if (cmd == "presets") {
    return proxima::PresetsCommand({pos.begin() + 1, pos.end()}, std::cout, std::cerr);
  }
  if (cmd == "env" && pos.size() == 2 && pos[1] == "list") return proxima::EnvList();
  if (cmd == "env" && pos.size() == 2 && pos[1] == "replay") return proxima::EnvReplay();
  if (cmd == "export" && pos.size() == 1) return proxima::ExportCommand(std::cout, std::cerr);
  if (cmd == "eval" && pos.size() == 1) return proxima::EvalCommand(args, std::cout, std::cerr);
  if (const int rc = proxima::RunClientCommand(pos); rc >= 0) return rc;
  proxima::ExitWithUsageError(
      "proxima", absl::InvalidArgumentError(absl::StrCat(
                     "unknown command '", absl::StrJoin(pos, " "), "'; see 'proxima --help'")));
}
