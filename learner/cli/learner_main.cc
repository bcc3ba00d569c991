// `proxima-learner`: the learner server of a Proxima cluster.
//
//   proxima-learner --env ENV [--run-dir DIR] [--listen HOST:PORT]
//                   [--mode sync|async] [--resume RUN_DIR] [--overwrite] [PPO flags...]
//   proxima-learner --env lm/TASK [--init-checkpoint CKPT] [--listen HOST:PORT]
//                   [--group-size G] [--prompts-per-chunk N] [--temperature T]
//                   [--top-k K] [--max-new-tokens M] [--seed S]
//
// With a sequence task as --env (lm::IsTaskId) it serves a sequence run
// (learner/server/seq_learner_server.h, docs/sequence-policies.md) until
// SIGTERM/SIGINT or Admin.Shutdown, then exits 0; an MLP-only flag, a bad
// sampling value or an --init-checkpoint that is not a sequence checkpoint of
// that task exits 2 naming the flag. With --algo it trains; `--resume DIR
// --resume-or-start` continues the run in DIR, or starts one there when DIR
// holds no checkpoint (SeqResumeOrStartResumes, seq_learner_flags.h).
//
// Prints "proxima-learner: listening on HOST:PORT" (common/listening_line.h)
// on stdout once serving (and writes the same address to
// RUN_DIR/learner.addr), trains until the step budget is spent (or the env
// is solved, with --stop-when-solved), then writes summary.json and a final
// checkpoint and exits 0. SIGTERM/SIGINT: health
// NOT_SERVING, finish the current update, checkpoint, close streams, exit 0;
// if that takes longer than --grace-period the process exits with status 1.
// Bad flags or config: exit 2 — among them a --run-dir that holds a run
// (without --overwrite), a --resume directory without a checkpoint (without
// --resume-or-start) and a setting a resumed run cannot change
// (learner/server/run_origin.h). Every flag can also be set by an environment
// variable PROXIMA_LEARNER_<FLAG> (e.g. PROXIMA_LEARNER_TOTAL_STEPS); the
// command line overrides the environment.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/flags.h"
#include "common/listening_line.h"
#include "common/logging.h"
#include "common/stop_signals.h"
#include "learner/cli/learner_flags.h"
#include "common/lm/task_registry.h"
#include "learner/cli/ppo_flags.h"
#include "learner/cli/seq_learner_flags.h"
#include "learner/cli/train_plan.h"
#include "learner/server/learner_server.h"
#include "learner/run_files.h"
#include "learner/server/seq_learner_server.h"
#include "learner/server/seq_run_files.h"

namespace {

constexpr char kUsage[] =
    "usage: proxima-learner --env ENV [--listen HOST:PORT] [--run-dir DIR] [--mode sync|async]\n"
    "                       [--resume RUN_DIR] [PPO flags...]\n"
    "       proxima-learner --env lm/TASK [--init-checkpoint CKPT] [--group-size G]\n"
    "                       [--temperature T] [--top-k K] [--max-new-tokens M] ...\n"
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

// The thread that turns the first SIGTERM/SIGINT into a stop request to the
// server (`request_stop(signal name)`) and then watches the shutdown: unless main is done within
// --grace-period seconds, it exits the process with status 1. Later signals
// are not read (they stay pending). Owned by main; its destructor joins it.
class StopSignalThread {
 public:
  StopSignalThread(std::function<void(const std::string&)> request_stop, double grace_seconds)
      : request_stop_(std::move(request_stop)),
        grace_seconds_(grace_seconds),
        thread_([this] { Run(); }) {}

  // Stands the watchdog down, wakes the thread if no signal came, joins it.
  ~StopSignalThread() {
    done_.Notify();
    proxima::WakeStopSignalWaiter();
    thread_.join();
  }

  StopSignalThread(const StopSignalThread&) = delete;
  StopSignalThread& operator=(const StopSignalThread&) = delete;

  // After this, a signal no longer reaches the server, and main may destroy
  // it (under the watchdog). Blocks while a stop request is being made.
  void ForgetServer() {
    absl::MutexLock lock(&mu_);
    request_stop_ = nullptr;
  }

 private:
  void Run() {
    const int sig = proxima::WaitForStopSignal();
    if (sig == 0) return;  // main is exiting
    const char* name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
    proxima::LogInfo(absl::StrCat(name, " received; shutting down"));
    {
      absl::MutexLock lock(&mu_);
      if (request_stop_) request_stop_(name);
    }
    // Watchdog: a clean shutdown must fit in the grace period.
    if (done_.WaitForNotificationWithTimeout(absl::Seconds(grace_seconds_))) return;
    proxima::LogError(
        absl::StrFormat("shutdown exceeded --grace-period=%gs; exiting", grace_seconds_));
    _exit(1);
  }

  absl::Mutex mu_;
  std::function<void(const std::string&)> request_stop_ ABSL_GUARDED_BY(mu_);
  const double grace_seconds_;
  absl::Notification done_;
  std::thread thread_;  // last: starts once the members above exist
};

// A sequence run's learner (--env lm/...): serves until a stop signal or
// Admin.Shutdown. Returns the exit status.
int RunSequenceLearner(const proxima::ParsedArgs& parsed, const std::string& task_id) {
  if (absl::Status s = proxima::CheckNoMlpOnlyFlags(parsed.given); !s.ok()) {
    proxima::ExitWithUsageError("proxima-learner", s);
  }
  absl::StatusOr<proxima::LearnerOptions> options = proxima::LearnerOptionsFromFlags();
  if (!options.ok()) proxima::ExitWithUsageError("proxima-learner", options.status());
  // --resume DIR --resume-or-start (compose restarts the learner on one
  // volume): with no checkpoint in DIR, a new run starts there instead.
  bool resume = !options->resume_dir.empty();
  std::string new_run_dir = options->run_dir;
  bool overwrite = options->overwrite;
  if (resume && options->resume_or_start) {
    absl::StatusOr<bool> resumes = proxima::SeqResumeOrStartResumes(options->resume_dir, task_id);
    if (!resumes.ok()) proxima::ExitWithUsageError("proxima-learner", resumes.status());
    if (!*resumes) {
      proxima::LogInfo(absl::StrCat("no checkpoint in ", options->resume_dir,
                                    "/checkpoints; starting a new run (--resume-or-start)"));
      resume = false;
      new_run_dir = options->resume_dir;
      overwrite = true;  // only a run of this task without a checkpoint is there
    }
  }
  // --resume DIR: the run's own flags come back from DIR/config.json.
  if (resume) {
    absl::StatusOr<nlohmann::json> recorded = proxima::SeqRunFiles::ReadConfig(options->resume_dir);
    if (!recorded.ok()) {
      proxima::ExitWithUsageError("proxima-learner",
                                  absl::InvalidArgumentError(absl::StrCat(
                                      "--resume: ", recorded.status().message())));
    }
    if (recorded->value("env", std::string()) != task_id) {
      proxima::ExitWithUsageError(
          "proxima-learner",
          absl::InvalidArgumentError(absl::StrCat("--resume ", options->resume_dir, " is a run of ",
                                                  recorded->value("env", std::string("?")),
                                                  ", not ", task_id)));
    }
    if (absl::Status s = proxima::RestoreSeqRunFlags(*recorded, parsed.given); !s.ok()) {
      proxima::ExitWithUsageError("proxima-learner", s);
    }
  }
  absl::StatusOr<proxima::SeqLearnerConfig> config = proxima::SeqLearnerConfigFromFlags(task_id);
  if (!config.ok()) proxima::ExitWithUsageError("proxima-learner", config.status());
  if (resume) {
    config->run_dir = options->resume_dir;
    config->resume = true;
  } else if (!new_run_dir.empty()) {
    absl::StatusOr<std::string> dir = proxima::NewRunDir(new_run_dir, new_run_dir, overwrite);
    if (!dir.ok()) proxima::ExitWithUsageError("proxima-learner", dir.status());
    config->run_dir = *dir;
    config->run_config = {{"env", task_id},
                          {"learner_flags", proxima::SeqRunFlagValues()},
                          {"init_checkpoint", config->init_checkpoint}};
    // The KL coefficient as resolved (--lm-kl-beta < 0 means the algorithm's
    // default): what `proxima plot` labels an RLHF run with.
    if (config->training.has_value()) {
      const proxima::learner_lm::SeqTrainerOptions& t = config->training->trainer;
      config->run_config["kl_beta"] =
          t.algo == proxima::learner_lm::SeqAlgo::kPpo ? t.reward_kl_beta : t.grpo.kl_beta;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  auto server = proxima::SeqLearnerServer::Create(*config, *options);
  if (!server.ok()) {
    const absl::StatusCode code = server.status().code();
    if (code == absl::StatusCode::kInvalidArgument) {
      proxima::ExitWithUsageError("proxima-learner", server.status());
    }
    // LoadSeqCheckpoint's errors (no file, not readable, an MLP checkpoint)
    // name the file, not the flag.
    if (!config->init_checkpoint.empty() &&
        (code == absl::StatusCode::kNotFound || code == absl::StatusCode::kDataLoss ||
         code == absl::StatusCode::kFailedPrecondition)) {
      proxima::ExitWithUsageError(
          "proxima-learner",
          absl::InvalidArgumentError(absl::StrCat("--init-checkpoint: ", server.status().message())));
    }
    proxima::LogError(server.status().ToString());
    return 1;
  }
  if (absl::Status started = (*server)->Start(); !started.ok()) {
    proxima::LogError(started.ToString());
    return 1;
  }
  std::printf("%s\n",
              proxima::FormatListeningLine(proxima::kLearnerProgram, (*server)->address()).c_str());
  std::fflush(stdout);
  proxima::LogInfo(absl::StrCat("sequence run of ", task_id,
                                config->init_checkpoint.empty()
                                    ? std::string(" from seeded weights")
                                    : absl::StrCat(" from ", config->init_checkpoint)));
  proxima::SeqLearnerServer* const raw = server->get();
  StopSignalThread signals([raw](const std::string& why) { raw->RequestStop(why); },
                           options->grace_period_seconds);
  raw->Wait();
  proxima::WakeStopSignalWaiter();
  const proxima::v1::LearnerStatus st = raw->Status(false);
  proxima::LogInfo(absl::StrFormat("done: %d sequence chunks accepted, %d updates",
                                   st.sequences().chunks(), st.policy_version()));
  signals.ForgetServer();
  server->reset();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  proxima::SetProcessName("proxima-learner");
  // First, before anything starts a thread: they inherit SIGTERM/SIGINT blocked,
  // and the signal thread below is the one that receives them.
  if (absl::Status signals = proxima::InstallStopSignals(); !signals.ok()) {
    proxima::LogError(signals.ToString());
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
  // --env is a PPO flag (learner/cli/ppo_flags.cc); a sequence task's run is
  // another server.
  if (const std::string env = absl::FindCommandLineFlag("env")->CurrentValue();
      proxima::lm::IsTaskId(env)) {
    return RunSequenceLearner(parsed, env);
  }
  absl::StatusOr<proxima::LearnerOptions> options = proxima::LearnerOptionsFromFlags();
  if (!options.ok()) proxima::ExitWithUsageError("proxima-learner", options.status());
  absl::StatusOr<proxima::PpoConfig> config = proxima::PpoConfigFromFlags();
  if (!config.ok()) proxima::ExitWithUsageError("proxima-learner", config.status());
  // Resuming keeps the checkpoint's settings; those given again are applied
  // or refused (learner/resume_config.h).
  if (!options->resume_dir.empty()) {
    options->resume_changes = proxima::ResumeChangesGiven(parsed.given);
  }

  signal(SIGPIPE, SIG_IGN);

  auto server = proxima::LearnerServer::Create(*config, *options);
  if (!server.ok()) {
    const absl::StatusCode code = server.status().code();
    if (code == absl::StatusCode::kInvalidArgument ||
        code == absl::StatusCode::kFailedPrecondition) {
      proxima::ExitWithUsageError("proxima-learner", server.status());
    }
    proxima::LogError(server.status().ToString());
    return 1;
  }
  // config.json says how the run was launched, as `proxima train` writes it
  // (learner/cli/train_plan.h); before the listening line, after which a
  // local cluster's launcher sets its own.
  proxima::TrainPlan plan;
  plan.learner_only = true;
  plan.mode = options->mode == proxima::TrainingModeKind::kSync ? "sync" : "async";
  plan.actor_num_envs = options->actor_num_envs;
  if (absl::Status added = proxima::AddRunToConfigJson((*server)->run_dir(), plan); !added.ok()) {
    proxima::LogWarning(
        absl::StrCat("config.json: cannot add the run's launch: ", added.message()));
  }
  absl::Status started = (*server)->Start();
  if (!started.ok()) {
    proxima::LogError(started.ToString());
    return 1;
  }
  std::printf("%s\n",
              proxima::FormatListeningLine(proxima::kLearnerProgram, (*server)->address()).c_str());
  if (!(*server)->metrics_address().empty()) {
    std::printf("proxima-learner: metrics on http://%s/metrics\n",
                (*server)->metrics_address().c_str());
  }
  if (!(*server)->dashboard_address().empty()) {
    std::printf("proxima-learner: dashboard on http://%s/\n",
                (*server)->dashboard_address().c_str());
  }
  std::fflush(stdout);
  proxima::LogInfo(absl::StrCat("run directory ", (*server)->run_dir()));

  proxima::LearnerServer* const raw = server->get();
  StopSignalThread signals([raw](const std::string& why) { raw->RequestStop(why); },
                           options->grace_period_seconds);
  absl::StatusOr<proxima::RunSummary> summary = (*server)->Wait();
  // Ends the signal thread if no signal came; after one it stays the
  // watchdog of the shutdown until main returns.
  proxima::WakeStopSignalWaiter();
  int rc = 0;
  if (!summary.ok()) {
    proxima::LogError(summary.status().ToString());
    rc = 1;
  } else {
    proxima::LogInfo(absl::StrFormat("done: %lld env steps, %lld updates, %.1f s",
                                     static_cast<long long>(summary->total_env_steps),
                                     static_cast<long long>(summary->updates),
                                     summary->wall_seconds));
  }
  // The server's destructor is part of the shutdown the watchdog bounds.
  signals.ForgetServer();
  server->reset();
  return rc;
}
