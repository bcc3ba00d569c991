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
//   proxima lm tasks|sft [...]
//
// This executable does not load LibTorch (loading it takes ~0.45 s on the
// 2-core reference machine): it runs the commands that need none itself —
// a new local-cluster run of `train` included, whose learner and actors load
// their own (learner/cli/train_command.h) — and hands `eval`, `export`,
// `bench`, `lm` and `train --resume | --in-process` to `proxima-torch` beside it
// (proxima_torch_main.cc), which replaces this process with the same argv,
// so exit status, signals and output are that command's. tests/cli/front_test.cc checks that `proxima`
// needs no LibTorch library.
//
// Exit status: 0 success, 1 runtime failure (learner unreachable, run
// failed, not healthy), 2 bad command line or config (and `set` refused).
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
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/envs/golden_replay.h"
#include "common/envs/mujoco/mujoco_model.h"
#include "common/envs/registry.h"
#include "common/file_util.h"
#include "common/flags.h"
#include "common/logging.h"
#include "common/subprocess.h"
#include "learner/cli/client_commands.h"
#include "learner/cli/command_help.h"
#include "learner/cli/plot_command.h"
#include "learner/cli/train_command.h"

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
// --run-dir and the TLS flags live in learner_flags.cc (the learner's own);
// learner commands use them as a client: --run-dir to find learner.addr,
// --tls-ca to verify the learner, --tls-cert/--tls-key as a client
// certificate (docs/security.md).
ABSL_DECLARE_FLAG(std::string, run_dir);
ABSL_DECLARE_FLAG(std::string, tls_ca);
ABSL_DECLARE_FLAG(std::string, tls_cert);
ABSL_DECLARE_FLAG(std::string, tls_key);

namespace proxima {
namespace {

// The commands that run a policy or benchmark LibTorch: run by
// proxima-torch. `train` is decided once its flags are parsed
// (TrainNeedsTorch: --resume and --in-process).
const std::set<std::string>& TorchCommands() {
  static const auto* commands = new std::set<std::string>{"eval", "export", "bench", "lm"};
  return *commands;
}

// `train ... --env lm/...` ("--env V" or "--env=V"; the lm/ prefix is
// lm::IsTaskId's, spelled here so that `proxima` links no LibTorch code), or
// `train ... --resume ...`, which may continue a sequence run (and goes to
// proxima-torch in any case): decided before flags are parsed, since the
// sequence flags exist only in proxima-torch.
bool IsSequenceTrain(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "train") return false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if ((a == "--env" || a == "-env") && i + 1 < args.size() &&
        absl::StartsWith(args[i + 1], "lm/")) {
      return true;
    }
    if (absl::StartsWith(a, "--env=lm/") || absl::StartsWith(a, "-env=lm/")) return true;
    if (a == "--resume" || a == "-resume" || absl::StartsWith(a, "--resume=") ||
        absl::StartsWith(a, "-resume=")) {
      return true;
    }
  }
  return false;
}

// Replaces this process with proxima-torch, argv unchanged; returns 1 if
// that fails.
int RunInProximaTorch(int argc, char** argv, const std::string& command) {
  const absl::Status exec = ExecBeside("proxima-torch", {argv, argv + argc});
  SetProcessName(absl::StrCat("proxima ", command));
  LogError(exec.ToString());
  return 1;
}

constexpr char kUsage[] =
    "usage: proxima <command> [flags]\n"
    "\n"
    "training:\n"
    "  train --env ENV [--actors N]   start a learner and N actor processes on this machine\n"
    "                                 (local cluster; logs in RUN_DIR/logs) and train PPO\n"
    "  train --env ENV --in-process   train PPO in this process (no actors, no network)\n"
    "  train ... --print-config       print the resolved config.json and exit\n"
    "  train --env lm/TASK --init-checkpoint SFT_DIR [--algo grpo|ppo] [--lm-updates N]\n"
    "                                 fine-tune a sequence policy on the local cluster\n"
    "                                 (docs/sequence-policies.md)\n"
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
    "sequence policies (docs/sequence-policies.md):\n"
    "  lm tasks                       the language-model tasks (lm/Addition-v0, ...)\n"
    "  lm sft --task ID [...]         supervised warm start of a small transformer (own\n"
    "                                 flags: 'proxima lm --help')\n"
    "\n"
    "runs:\n"
    "  plot RUN_DIR... --out FILE.png learning curves with gnuplot [--title T] (own flags:\n"
    "                                 'proxima plot --help')\n"
    "\n"
    "exit status: 0 ok, 1 runtime failure (e.g. learner unreachable), 2 bad command line\n"
    "\n"
    "'proxima COMMAND --help' lists the flags of one command (train: with the values of\n"
    "--env's preset).\n";

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

}  // namespace
}  // namespace proxima

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && proxima::TorchCommands().count(args[0]) > 0) {
    return proxima::RunInProximaTorch(argc, argv, args[0]);
  }
  // A sequence run's `train` (--env lm/...): its flags exist only in
  // proxima-torch (learner/cli/seq_train_command.h).
  if (proxima::IsSequenceTrain(args)) return proxima::RunInProximaTorch(argc, argv, args[0]);
  // `plot` parses its own flags (learner/cli/plot_command.h); the rest are
  // named once parsed.
  if (!args.empty() && args[0] == "plot") {
    proxima::SetProcessName("proxima plot");
    return proxima::PlotMain({args.begin() + 1, args.end()});
  }
  proxima::ParsedArgs parsed;
  if (const std::optional<int> done = proxima::ParseCommandLine(args, proxima::kUsage, &parsed)) {
    return *done;
  }
  const std::vector<std::string>& pos = parsed.positional;
  const std::string& cmd = pos[0];
  if (cmd == "train" && pos.size() == 1) {
    if (proxima::TrainNeedsTorch()) return proxima::RunInProximaTorch(argc, argv, cmd);
    return proxima::TrainCluster(parsed.given, nullptr);
  }
  if (cmd == "presets") {
    return proxima::PresetsCommand({pos.begin() + 1, pos.end()}, std::cout, std::cerr);
  }
  if (cmd == "env" && pos.size() == 2 && pos[1] == "list") return proxima::EnvList();
  if (cmd == "env" && pos.size() == 2 && pos[1] == "replay") return proxima::EnvReplay();
  if (const int rc = proxima::RunClientCommand(pos); rc >= 0) return rc;
  proxima::ExitWithUsageError(
      "proxima", absl::InvalidArgumentError(absl::StrCat(
                     "unknown command '", absl::StrJoin(pos, " "), "'; see 'proxima --help'")));
}
