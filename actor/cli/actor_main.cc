// proxima-actor: steps environments with the learner's newest policy and
// streams the trajectories to it.
//
//   proxima-actor --learner HOST:PORT [--name NAME] [--num-envs N] [--threads N]
//
// Everything else (env, model, rollout length, seeds, mode, channel settings)
// comes from the learner at registration. SIGTERM/SIGINT: the current partial
// rollout is sent as the final chunk, the actor waits a few seconds at most
// for its acknowledgement, then exits 0 (also when the learner is gone). A
// second signal exits at once. The end of the learner's run also ends the
// actor with 0: once the learner said it is shutting down and has not come
// back for --exit-after-learner-done seconds (a learner that crashed without
// saying so is waited for forever; actor/actor_client.h). Every flag can
// also be set by an environment variable PROXIMA_ACTOR_<FLAG> (e.g.
// PROXIMA_ACTOR_LEARNER=learner:50051); the command line overrides the
// environment.
//
// Security (docs/security.md): --tls-ca verifies the learner's certificate
// (TLS), --tls-cert/--tls-key present a client certificate (mutual TLS),
// --tls-server-name overrides the name checked in the learner's certificate,
// and the bearer token comes from --token-file or $PROXIMA_TOKEN.
#include <signal.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/actor_client.h"
#include "common/flags.h"
#include "common/logging.h"
#include "common/stop_signals.h"

ABSL_FLAG(std::string, learner, "", "Learner address HOST:PORT (required).");
ABSL_FLAG(std::string, name, "",
          "Stable actor name; the learner maps it to the same actor id and seeds. "
          "Default: <hostname>:<pid>.");
ABSL_FLAG(int32_t, num_envs, 0, "Env columns to run; 0 = the learner's default.");
ABSL_FLAG(int32_t, remote_env_columns, 0,
          "For a remote:// env: env columns per batched session, each stepped in one round "
          "trip (0 = all of this actor's columns in one session; -1 = one single-env session "
          "per column, as with servers from before batched sessions).");
ABSL_FLAG(int32_t, threads, 1,
          "Threads of this actor: env columns are stepped on N threads, and LibTorch/OpenBLAS "
          "inference uses N intra-op threads.");
ABSL_FLAG(std::string, engine, "auto",
          "Inference engine: fused (hand-written CPU MLP on BLAS, no LibTorch per step), torch "
          "(LibTorch, the reference) or auto (= fused).");
ABSL_FLAG(double, exit_after_learner_done, 60,
          "Exit 0 once the learner said it is shutting down (its run ended: step budget, "
          "solved, or stopped) and no learner has answered for this many seconds; a learner "
          "that vanished without saying so (crash, network) is waited for forever. 0 = never "
          "exit by itself.");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA bundle to verify the learner's certificate with; turns TLS on.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate for mutual TLS (needs --tls-key); turns TLS on.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls-cert.");
ABSL_FLAG(std::string, tls_server_name, "",
          "Name expected in the learner's certificate instead of the --learner host "
          "(e.g. when dialing by IP address).");
ABSL_FLAG(std::string, token_file, "",
          "File holding the bearer token (role actor) sent with every call; default: "
          "$PROXIMA_TOKEN.");

namespace {

constexpr char kProgram[] = "proxima-actor";

void PrintHelp() {
  std::printf(
      "usage: %s --learner HOST:PORT [--name NAME] [--num-envs N] [--threads N]\n"
      "       [--engine auto|fused|torch] [--exit-after-learner-done SECONDS]\n"
      "       [--tls-ca PEM [--tls-cert PEM --tls-key PEM] [--tls-server-name NAME]]\n"
      "       [--token-file FILE]   (or PROXIMA_TOKEN; docs/security.md)\n\n"
      "Registers with the learner, receives the run configuration and policy\n"
      "snapshots from it, steps environments and streams trajectory chunks.\n"
      "Exits 0 on SIGTERM/SIGINT, and when the learner's run has ended: the learner\n"
      "said it is shutting down and has not come back for --exit-after-learner-done\n"
      "seconds. A learner that vanished without saying so is reconnected to forever.\n\n"
      "Every flag can also be set by an environment variable PROXIMA_ACTOR_<FLAG>, e.g.\n"
      "PROXIMA_ACTOR_LEARNER=learner:50051; the command line overrides the environment.\n\n"
      "flags:\n%s",
      kProgram, proxima::FlagsHelp({"actor/cli/actor_main.cc"}).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  proxima::SetProcessName(kProgram);
  // First, before anything starts a thread: they inherit SIGTERM/SIGINT blocked,
  // and the signal thread below is the one that receives them.
  if (absl::Status signals = proxima::InstallStopSignals(); !signals.ok()) {
    proxima::LogError(signals.ToString());
    return 1;
  }

  std::vector<std::string> args(argv + 1, argv + argc);
  proxima::ParsedArgs parsed;
  absl::Status status =
      proxima::ParseFlagsWithEnv("PROXIMA_ACTOR_", proxima::ProcessEnvironment(), args, &parsed);
  if (!status.ok()) proxima::ExitWithUsageError(kProgram, status);
  if (parsed.help) {
    PrintHelp();
    return 0;
  }
  if (!parsed.positional.empty()) {
    proxima::ExitWithUsageError(
        kProgram, absl::InvalidArgumentError("unexpected argument '" + parsed.positional[0] + "'"));
  }
  proxima::ActorClient::Options options;
  options.learner_address = absl::GetFlag(FLAGS_learner);
  options.name = absl::GetFlag(FLAGS_name);
  options.num_envs = absl::GetFlag(FLAGS_num_envs);
  options.remote_env_columns = absl::GetFlag(FLAGS_remote_env_columns);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.engine = absl::GetFlag(FLAGS_engine);
  // Negative values are refused by options.Validate() below.
  const double exit_after = absl::GetFlag(FLAGS_exit_after_learner_done);
  if (!std::isfinite(exit_after)) {
    proxima::ExitWithUsageError(kProgram, absl::InvalidArgumentError(absl::StrCat(
                                              "--exit-after-learner-done must be a number of "
                                              "seconds (got ", exit_after, ")")));
  }
  options.exit_after_learner_done = absl::Seconds(exit_after);
  proxima::ClientSecurityOptions security;
  security.tls_ca = absl::GetFlag(FLAGS_tls_ca);
  security.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  security.tls_key = absl::GetFlag(FLAGS_tls_key);
  security.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  security.token_file = absl::GetFlag(FLAGS_token_file);
  const char* env_token = std::getenv(proxima::kTokenEnvVar);
  absl::StatusOr<proxima::ChannelSecurity> loaded =
      proxima::ChannelSecurity::Load(security, env_token == nullptr ? "" : env_token);
  if (!loaded.ok()) proxima::ExitWithUsageError(kProgram, loaded.status());
  options.security = *std::move(loaded);
  if (options.learner_address.empty()) {
    proxima::ExitWithUsageError(
        kProgram, absl::InvalidArgumentError(
                      "--learner is required (or the environment variable PROXIMA_ACTOR_LEARNER)"));
  }
  status = options.Validate();
  if (!status.ok()) proxima::ExitWithUsageError(kProgram, status);

  proxima::ActorClient client(options);
  // The first SIGTERM/SIGINT stops the client (final chunk, then exit); a
  // second one exits at once. Woken and joined once Run() returns.
  std::thread signal_thread([&client] {
    const int sig = proxima::WaitForStopSignal();
    if (sig == 0) return;  // main is exiting
    const std::string now =
        absl::FormatTime("%Y-%m-%d %H:%M:%E3S", absl::Now(), absl::LocalTimeZone());
    proxima::LogRaw(absl::StrCat(now, " ", proxima::ProcessName(), ": ",
                                 sig == SIGTERM ? "SIGTERM" : "SIGINT",
                                 " received; stopping (final chunk, then exit)\n"));
    client.Stop();
    if (proxima::WaitForStopSignal() == 0) return;
    proxima::LogInfo("second signal; exiting now");
    std::_Exit(0);
  });

  status = client.Run();
  proxima::WakeStopSignalWaiter();
  signal_thread.join();
  if (!status.ok()) {
    proxima::LogError(status.ToString());
    return 1;
  }
  return 0;
}
