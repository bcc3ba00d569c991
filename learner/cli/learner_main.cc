// `proxima-learner`: the learner server of a Proxima cluster.
//
//   proxima-learner --env ENV [--run-dir DIR] [--listen HOST:PORT]
//                   [--mode sync|async] [--resume RUN_DIR] [PPO flags...]
//
// Prints "proxima-learner: listening on HOST:PORT" on stdout once serving
// (and writes the same address to RUN_DIR/learner.addr), trains until the step
// budget is spent (or the env is solved, with --stop-when-solved), then writes
// summary.json and a final checkpoint and exits 0. SIGTERM/SIGINT: health
// NOT_SERVING, finish the current update, checkpoint, close streams, exit 0;
// if that takes longer than --grace-period the process exits with status 1.
// Bad flags or config: exit 2. Every flag can also be set by an environment
// variable PROXIMA_LEARNER_<FLAG> (e.g. PROXIMA_LEARNER_TOTAL_STEPS); the
// command line overrides the environment.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/flags.h"
#include "common/stop_signals.h"
#include "learner/cli/learner_flags.h"
#include "learner/cli/ppo_flags.h"
#include "learner/server/learner_server.h"

namespace {

constexpr char kUsage[] =
    "usage: proxima-learner --env ENV [--listen HOST:PORT] [--run-dir DIR] [--mode sync|async]\n"
    "                       [--resume RUN_DIR] [PPO flags...]\n"
    "\n"
    "Serves proxima.v1.Learner, Monitor and Admin (plus grpc.health.v1 and reflection)\n"
    "and trains PPO on the trajectories actors stream to it.\n"
    "\n"
    "Every flag can also be set by an environment variable PROXIMA_LEARNER_<FLAG>, e.g.\n"
    "PROXIMA_LEARNER_TOTAL_STEPS=1000000 or PROXIMA_LEARNER_FLAGFILE=/etc/proxima/learner.flags;\n"
    "the command line overrides the environment.\n"
    "\n"
    "TLS, client certificates and bearer tokens (--tls-cert, --tls-key, --tls-ca,\n"
    "--require-client-cert, --auth-tokens-file or PROXIMA_AUTH_TOKENS): docs/security.md.\n"
    "\n"
    "flags:\n";

}  // namespace

int main(int argc, char** argv) {
  // First, before anything starts a thread: they inherit SIGTERM/SIGINT blocked,
  // and the signal thread below is the one that receives them.
  if (absl::Status signals = proxima::InstallStopSignals(); !signals.ok()) {
    std::fprintf(stderr, "proxima-learner: %s\n", signals.ToString().c_str());
    return 1;
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  proxima::ParsedArgs parsed;
  absl::Status s =
      proxima::ParseFlagsWithEnv("PROXIMA_LEARNER_", proxima::ProcessEnvironment(), args, &parsed);
  if (parsed.help) {
    std::printf("%s%s", kUsage, proxima::FlagsHelp({"learner/cli/"}).c_str());
    return 0;
  }
  if (!s.ok()) proxima::ExitWithUsageError("proxima-learner", s);
  if (!parsed.positional.empty()) {
    proxima::ExitWithUsageError(
        "proxima-learner",
        absl::InvalidArgumentError(absl::StrCat("unexpected argument '", parsed.positional[0], "'")));
  }
  absl::StatusOr<proxima::LearnerOptions> options = proxima::LearnerOptionsFromFlags();
  if (!options.ok()) proxima::ExitWithUsageError("proxima-learner", options.status());
  absl::StatusOr<proxima::PpoConfig> config = proxima::PpoConfigFromFlags();
  if (!config.ok()) proxima::ExitWithUsageError("proxima-learner", config.status());
  // Resuming keeps the checkpoint's settings, except a step budget given now.
  if (!options->resume_dir.empty()) options->resume_total_steps = proxima::TotalStepsFlag();

  signal(SIGPIPE, SIG_IGN);

  auto server = proxima::LearnerServer::Create(*config, *options);
  if (!server.ok()) {
    const absl::StatusCode code = server.status().code();
    if (code == absl::StatusCode::kInvalidArgument ||
        code == absl::StatusCode::kFailedPrecondition) {
      proxima::ExitWithUsageError("proxima-learner", server.status());
    }
    std::fprintf(stderr, "proxima-learner: %s\n", server.status().ToString().c_str());
    return 1;
  }
  absl::Status started = (*server)->Start();
  if (!started.ok()) {
    std::fprintf(stderr, "proxima-learner: %s\n", started.ToString().c_str());
    return 1;
  }
  std::printf("proxima-learner: listening on %s\n", (*server)->address().c_str());
  if (!(*server)->metrics_address().empty()) {
    std::printf("proxima-learner: metrics on http://%s/metrics\n",
                (*server)->metrics_address().c_str());
  }
  std::fflush(stdout);
  std::fprintf(stderr, "proxima-learner: run directory %s\n", (*server)->run_dir().c_str());

  const double grace = options->grace_period_seconds;
  std::thread signals([&server, grace] {
    const int sig = proxima::WaitForStopSignal();
    if (sig == 0) return;  // main is exiting
    std::fprintf(stderr, "proxima-learner: %s received; shutting down\n",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
    (*server)->RequestStop(sig == SIGTERM ? "SIGTERM" : "SIGINT");
    // Watchdog: a clean shutdown must fit in the grace period.
    std::thread([grace] {
      std::this_thread::sleep_for(std::chrono::duration<double>(grace));
      std::fprintf(stderr, "proxima-learner: shutdown exceeded --grace-period=%gs; exiting\n",
                   grace);
      std::fflush(stderr);
      _exit(1);
    }).detach();
  });
  absl::StatusOr<proxima::RunSummary> summary = (*server)->Wait();
  // Wake the signal thread if no signal came.
  proxima::WakeStopSignalWaiter();
  signals.join();
  if (!summary.ok()) {
    std::fprintf(stderr, "proxima-learner: %s\n", summary.status().ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "proxima-learner: done: %lld env steps, %lld updates, %.1f s\n",
               static_cast<long long>(summary->total_env_steps),
               static_cast<long long>(summary->updates), summary->wall_seconds);
  return 0;
}
