#include "learner/cli/local_cluster.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/grpc/grpc_util.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/signal_pipe.h"
#include "common/subprocess.h"
#include "learner/cli/client_commands.h"
#include "learner/cli/local_learner.h"
#include "learner/cli/train_plan.h"
#include "learner/server/lag_report.h"
#include "nlohmann/json.hpp"

namespace proxima {
namespace {

constexpr absl::Duration kProgressPeriod = absl::Milliseconds(500);
// Without a terminal a line per poll would flood a log; one every few seconds.
constexpr absl::Duration kPlainProgressPeriod = absl::Seconds(5);
constexpr absl::Duration kFirstBackoff = absl::Seconds(1);
constexpr absl::Duration kMaxBackoff = absl::Seconds(30);
// An actor that ran this long before failing starts again at kFirstBackoff.
constexpr absl::Duration kStableRun = absl::Seconds(60);
constexpr int kUsageExit = 2;

std::string TailLines(const std::string& path, int n) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return "";
  std::vector<absl::string_view> lines =
      absl::StrSplit(absl::StripTrailingAsciiWhitespace(*text), '\n');
  const size_t from = lines.size() > static_cast<size_t>(n) ? lines.size() - n : 0;
  std::string out;
  for (size_t i = from; i < lines.size(); ++i) absl::StrAppend(&out, "  ", lines[i], "\n");
  return out;
}

struct ActorSlot {
  std::string name;
  pid_t pid = -1;  // -1: not running
  absl::Time started;
  absl::Time restart_at = absl::InfiniteFuture();
  absl::Duration backoff = kFirstBackoff;
  bool finished = false;  // exited 0: done, not restarted
  bool failed = false;    // exited 2: cannot start, not restarted
};

class Launcher {
 public:
  explicit Launcher(const LocalClusterOptions& options) : options_(options) {}
  int Run();

 private:
  absl::Status Prepare();
  absl::Status StartLearner();
  // The learner's address (LocalLearner::ReadAddress). Returns Cancelled
  // if SIGINT/SIGTERM came first (the learner is then stopping).
  absl::StatusOr<std::string> ReadAddress();
  void StartActor(ActorSlot& slot);
  void Supervise();
  void Reap();
  void OnActorExit(ActorSlot& slot, int status);
  void OnInterrupt(int signo);
  void StopLearner();
  void StopActors();
  // Polls Monitor.GetStatus; prints the progress line unless quiet.
  void ShowProgress();
  void Note(const std::string& line);
  int Finish(int exit_code);

  const LocalClusterOptions options_;
  std::string learner_binary_, actor_binary_, logs_dir_;
  std::filesystem::file_time_type launch_time_;
  std::unique_ptr<SignalPipe> signals_;
  LocalLearner learner_;
  pid_t learner_pid_ = -1;  // -1 once reaped
  std::optional<int> learner_status_;  // wait status once reaped
  std::string address_;
  std::vector<ActorSlot> actors_;
  std::unique_ptr<v1::Monitor::Stub> monitor_;
  int interrupts_ = 0;
  absl::Time first_interrupt_;
  bool learner_draining_ = false;  // from the newest status poll
  bool gave_up_on_actors_ = false;
  absl::Time learner_kill_at_ = absl::InfiniteFuture();
  absl::Time next_poll_ = absl::InfinitePast();
  absl::Time next_plain_line_ = absl::InfinitePast();
  bool tty_ = false;
  bool line_open_ = false;  // a \r progress line is on the terminal
};

absl::Status Launcher::Prepare() {
  learner_binary_ = options_.learner_binary;
  actor_binary_ = options_.actor_binary;
  if (learner_binary_.empty() || actor_binary_.empty()) {
    absl::StatusOr<std::string> dir = ExecutableDir();
    if (!dir.ok()) return dir.status();
    if (learner_binary_.empty()) learner_binary_ = *dir + "/proxima-learner";
    if (actor_binary_.empty()) actor_binary_ = *dir + "/proxima-actor";
  }
  for (const std::string& bin : {learner_binary_, actor_binary_}) {
    if (::access(bin.c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot run ", bin, " (", std::strerror(errno),
                       "); build it, or use --in-process"));
    }
  }
  logs_dir_ = options_.run_dir + "/logs";
  absl::Status made = MakeDirs(logs_dir_);
  if (!made.ok()) return made;
  launch_time_ = std::filesystem::file_time_type::clock::now();
  // The supervision loop sleeps in one poll() on the signal pipe.
  absl::StatusOr<std::unique_ptr<SignalPipe>> signals = SignalPipe::Install();
  if (!signals.ok()) return signals.status();
  signals_ = std::move(*signals);
  tty_ = ::isatty(STDERR_FILENO);
  return absl::OkStatus();
}

absl::Status Launcher::StartLearner() {
  // Sync mode: the first round waits for every actor we start, so a run is
  // reproducible for a seed and actor count. Before the forwarded flags (the
  // last value of a flag wins), so an explicit --min-actors is kept.
  // A sequence run's command passes its own when it runs in sync mode
  // (learner/cli/seq_train_command.cc).
  std::vector<std::string> args;
  if (!options_.sequence) args = {"--min-actors", absl::StrCat(options_.actors)};
  args.insert(args.end(), options_.learner_flags.begin(), options_.learner_flags.end());
  // After the forwarded flags: these three are what the launcher relies on.
  for (const char* a : {"--listen", "127.0.0.1:0", "--run-dir"}) args.push_back(a);
  args.push_back(options_.run_dir);
  args.push_back("--quiet");
  absl::Status started = learner_.Start(learner_binary_, args, logs_dir_ + "/learner.log");
  learner_pid_ = learner_.pid();
  return started;
}

absl::StatusOr<std::string> Launcher::ReadAddress() {
  const absl::Time deadline = absl::Now() + options_.startup_timeout;
  while (true) {
    absl::StatusOr<std::string> address = learner_.ReadAddress(deadline, signals_->fd());
    if (absl::IsDeadlineExceeded(address.status())) {
      return absl::DeadlineExceededError(
          absl::StrCat("the learner did not report its address within ",
                       absl::FormatDuration(options_.startup_timeout)));
    }
    if (!absl::IsCancelled(address.status())) return address;
    const int signo = signals_->Next(absl::ZeroDuration());
    if (signo == SIGINT || signo == SIGTERM) {
      OnInterrupt(signo);
      return absl::CancelledError("interrupted while the learner was starting");
    }
    // SIGCHLD: the learner exiting also closes the pipe; seen on the next read.
  }
}

void Launcher::StartActor(ActorSlot& slot) {
  const std::vector<std::string> args = ActorArgs(options_, address_, slot.name);
  const std::string log_path = absl::StrCat(logs_dir_, "/", slot.name, ".log");
  absl::StatusOr<int> log = OpenAppend(log_path);
  absl::StatusOr<pid_t> pid = absl::InternalError("no log file");
  if (log.ok()) {
    WriteAll(*log, absl::StrCat("==> proxima train: ", actor_binary_, " ",
                                absl::StrJoin(args, " "), "\n"));
    SpawnOptions spawn;
    spawn.stdout_fd = *log;
    spawn.stderr_fd = *log;
    spawn.own_process_group = true;
    // An actor holds nothing worth saving: SIGKILL when the launcher dies.
    spawn.parent_death_signal = SIGKILL;
    pid = SpawnChild(actor_binary_, args, spawn);
    ::close(*log);
  }
  slot.started = absl::Now();
  slot.restart_at = absl::InfiniteFuture();
  if (pid.ok()) {
    slot.pid = *pid;
    return;
  }
  Note(absl::StrCat("proxima train: cannot start ", slot.name, ": ",
                    (log.ok() ? pid.status() : log.status()).message()));
  slot.restart_at = absl::Now() + slot.backoff;
  slot.backoff = std::min(slot.backoff * 2, kMaxBackoff);
}

void Launcher::Reap() {
  int status = 0;
  if (learner_pid_ > 0 && ::waitpid(learner_pid_, &status, WNOHANG) == learner_pid_) {
    learner_status_ = status;
    learner_pid_ = -1;
  }
  for (ActorSlot& slot : actors_) {
    if (slot.pid > 0 && ::waitpid(slot.pid, &status, WNOHANG) == slot.pid) {
      slot.pid = -1;
      OnActorExit(slot, status);
    }
  }
}

void Launcher::OnActorExit(ActorSlot& slot, int status) {
  // Once the learner is gone or stopping, actors ending is the plan.
  if (learner_status_.has_value() || interrupts_ > 0 || learner_draining_) return;
  const std::string log = absl::StrCat(logs_dir_, "/", slot.name, ".log");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    slot.finished = true;
    return;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == kUsageExit) {
    slot.failed = true;
    Note(absl::StrCat("proxima train: ", slot.name, " ", DescribeWaitStatus(status),
                      " (bad arguments; not restarting); see ", log, ":\n", TailLines(log, 5)));
    return;
  }
  if (absl::Now() - slot.started >= kStableRun) slot.backoff = kFirstBackoff;
  slot.restart_at = absl::Now() + slot.backoff;
  Note(absl::StrCat("proxima train: ", slot.name, " ", DescribeWaitStatus(status),
                    "; restarting in ", absl::FormatDuration(slot.backoff), " (see ", log, ")"));
  slot.backoff = std::min(slot.backoff * 2, kMaxBackoff);
}

void Launcher::OnInterrupt(int signo) {
  // A signal within a second of the first is the same request delivered
  // twice (GNU timeout signals the child and then its process group), not
  // a user insisting; only a later one escalates to SIGKILL.
  const absl::Time now = absl::Now();
  if (interrupts_ > 0 && now - first_interrupt_ < absl::Seconds(1)) return;
  if (interrupts_++ == 0) first_interrupt_ = now;
  if (learner_pid_ <= 0) return;
  if (interrupts_ == 1) {
    Note(absl::StrCat("proxima train: ", strsignal(signo),
                      ": stopping the learner (it checkpoints first; interrupt again to kill)"));
    StopLearner();
  } else {
    Note("proxima train: killing the learner");
    ::kill(learner_pid_, SIGKILL);
  }
}

void Launcher::StopLearner() {
  if (learner_pid_ <= 0 || learner_kill_at_ != absl::InfiniteFuture()) return;
  ::kill(learner_pid_, SIGTERM);
  learner_kill_at_ = absl::Now() + options_.learner_grace;
}

void Launcher::Supervise() {
  // Reaping first each round also covers a SIGCHLD consumed elsewhere (while
  // reading the address); waitpid(WNOHANG) per child is cheap.
  for (Reap(); !learner_status_.has_value(); Reap()) {
    const absl::Time now = absl::Now();
    if (now >= learner_kill_at_ && learner_pid_ > 0) {
      Note("proxima train: the learner did not stop in time; killing it");
      ::kill(learner_pid_, SIGKILL);
      learner_kill_at_ = absl::InfiniteFuture();
    }
    if (now >= next_poll_) {
      ShowProgress();
      next_poll_ = now + kProgressPeriod;
    }
    const bool stopping = interrupts_ > 0 || learner_draining_ || gave_up_on_actors_;
    absl::Time wake = std::min(next_poll_, learner_kill_at_);
    bool any_alive = false;
    for (ActorSlot& slot : actors_) {
      if (!stopping && slot.pid < 0 && !slot.finished && !slot.failed) {
        if (now >= slot.restart_at) StartActor(slot);
        wake = std::min(wake, slot.restart_at);
      }
      any_alive = any_alive || !slot.failed;
    }
    if (!actors_.empty() && !any_alive && !gave_up_on_actors_) {
      // Every actor failed for good: without data the learner would wait forever.
      gave_up_on_actors_ = true;
      Note("proxima train: no actor could start; stopping the learner");
      StopLearner();
    }
    const int signo = signals_->Next(std::max(wake - absl::Now(), absl::ZeroDuration()));
    if (signo == SIGINT || signo == SIGTERM) OnInterrupt(signo);
  }
}

void Launcher::StopActors() {
  for (ActorSlot& slot : actors_) {
    if (slot.pid > 0) ::kill(slot.pid, SIGTERM);
  }
  const absl::Time deadline = absl::Now() + options_.actor_grace;
  auto any_running = [this] {
    return std::any_of(actors_.begin(), actors_.end(), [](const ActorSlot& s) { return s.pid > 0; });
  };
  Reap();
  while (any_running() && absl::Now() < deadline) {
    if (signals_->Next(deadline - absl::Now()) == SIGCHLD) Reap();
  }
  for (ActorSlot& slot : actors_) {
    if (slot.pid <= 0) continue;
    ::kill(slot.pid, SIGKILL);
    ::waitpid(slot.pid, nullptr, 0);
    slot.pid = -1;
  }
}

void Launcher::ShowProgress() {
  if (monitor_ == nullptr) return;
  // Polled even when quiet: the serving state tells actor exits apart from
  // the end of the run.
  absl::StatusOr<v1::LearnerStatus> s =
      FetchLearnerStatus(*monitor_, false, absl::Milliseconds(1000));
  if (!s.ok()) return;
  learner_draining_ = s->serving_state() == v1::SERVING_STATE_DRAINING ||
                      s->serving_state() == v1::SERVING_STATE_STOPPED;
  if (options_.quiet) return;
  const absl::Time now = absl::Now();
  if (!tty_ && now < next_plain_line_) return;
  next_plain_line_ = now + kPlainProgressPeriod;
  const std::string line = options_.sequence
                               ? SeqProgressLine(*s, options_.env_id, options_.total_steps)
                               : ProgressLine(*s, options_.env_id, options_.total_steps);
  // \033[K clears what a longer previous line left behind.
  LogRaw(absl::StrCat(tty_ ? "\r" : "", line, tty_ ? "\033[K" : "\n"));
  line_open_ = tty_;
}

void Launcher::Note(const std::string& line) {
  if (line_open_) LogRaw("\n");
  line_open_ = false;
  LogRaw(absl::StrCat(absl::StripTrailingAsciiWhitespace(line), "\n"));
}

int Launcher::Finish(int exit_code) {
  if (line_open_) LogRaw("\n");
  line_open_ = false;
  const std::string summary_path = options_.run_dir + "/summary.json";
  std::error_code ec;
  const auto written = std::filesystem::last_write_time(summary_path, ec);
  if (!ec && written >= launch_time_) {
    absl::StatusOr<std::string> text = ReadFile(summary_path);
    nlohmann::json summary = nlohmann::json::parse(text.ok() ? *text : "", nullptr, false);
    if (!summary.is_discarded()) std::printf("%s\n", SummaryForDisplay(summary).dump(2).c_str());
  } else {
    Note(absl::StrCat("proxima train: the learner wrote no ", summary_path));
  }
  std::printf("run directory: %s\n", options_.run_dir.c_str());
  std::fflush(stdout);
  return exit_code;
}

int Launcher::Run() {
  absl::Status s = Prepare();
  if (s.ok()) s = StartLearner();
  if (!s.ok()) {
    LogError(s.message());
    return 1;
  }
  absl::StatusOr<std::string> addr = ReadAddress();
  if (addr.ok()) {
    address_ = *addr;
    if (!options_.run.is_null()) {
      if (absl::Status added = AddRunToConfigJson(options_.run_dir, options_.run); !added.ok()) {
        Note(absl::StrCat("proxima train: config.json: cannot add the run's launch: ",
                          added.message()));
      }
    }
    // The rest of the learner's stdout goes to its log; the pipe must keep
    // draining or the learner would block on a full pipe.
    learner_.StartPump();
    monitor_ = v1::Monitor::NewStub(MakeLearnerChannel(address_, DefaultClientHints()));
    for (int i = 0; i < options_.actors; ++i) {
      actors_.emplace_back();
      actors_.back().name = absl::StrCat("actor-", i);
      StartActor(actors_.back());
    }
    // After the actors started: scripts may take this line as "all up".
    if (!options_.quiet) {
      Note(absl::StrFormat("proxima train: learner at %s, %d actors x %d envs, logs in %s",
                           address_, options_.actors,
                           ActorNumEnvs(options_.num_envs, options_.actors), logs_dir_));
      // Written by the learner before its listening line (--dashboard-listen).
      absl::StatusOr<std::string> dashboard = ReadFile(options_.run_dir + "/dashboard.addr");
      if (dashboard.ok()) {
        Note(absl::StrCat("proxima train: dashboard at http://",
                          absl::StripTrailingAsciiWhitespace(*dashboard), "/"));
      }
    }
  } else if (!absl::IsCancelled(addr.status())) {
    Note(absl::StrCat("proxima train: ", addr.status().message()));
    StopLearner();
  }
  Supervise();  // until the learner has exited (and is reaped)
  learner_.StopPump();
  StopActors();
  const int learner_exit = ExitCodeOf(*learner_status_);
  if (learner_exit != 0 || !addr.ok()) {
    const std::string log = logs_dir_ + "/learner.log";
    Note(absl::StrCat("proxima train: the learner ", DescribeWaitStatus(*learner_status_),
                      "; last lines of ", log, ":\n", TailLines(log, 15)));
  }
  int exit_code = learner_exit;
  if (exit_code == 0 && (!addr.ok() && !absl::IsCancelled(addr.status()))) exit_code = 1;
  if (exit_code == 0 && gave_up_on_actors_) exit_code = 1;
  return Finish(exit_code);
}

}  // namespace

absl::Span<const absl::string_view> ForwardedLearnerFlags() {
  static constexpr absl::string_view kFlags[] = {
      "activation", "actor_num_envs", "adam_eps", "adaptive_kl", "advantage", "anneal_lr",
      "auth_tokens_file", "checkpoint_every_seconds", "checkpoint_every_updates", "clip_action",
      "clip_coef",
      "clip_vloss", "dashboard_listen", "device", "engine", "ent_coef", "env", "eval_episodes",
      "eval_every",
      "gae_lambda", "gamma", "grace_period",
      "hidden_sizes", "init_log_std", "keep_checkpoints", "keepalive_seconds",
      "keepalive_timeout_seconds", "kl_beta", "kl_target", "learning_rate", "listen", "lr",
      "max_actors", "max_chunks_per_second", "max_grad_norm", "max_message_bytes",
      "max_policy_lag", "max_unacked_chunks", "metrics_listen", "min_actors", "mode",
      "norm_adv", "normalize_obs", "normalize_reward", "num_envs", "num_minibatches", "obs_clip",
      "queue_capacity", "require_client_cert", "resume", "resume_or_start", "reward_clip", "rollout_length", "seed",
      "shared_trunk", "stop_when_solved", "sync_round_timeout", "target_kl", "target_policy_lag",
      "tls_ca", "tls_cert",
      "tls_key", "torch_threads", "total_steps", "update_epochs", "value_clip_coef",
      "vf_coef", "vtrace_c_bar", "vtrace_rho_bar"};
  return kFlags;
}

std::vector<std::string> LearnerFlagsToForward(const std::set<std::string>& given) {
  std::vector<std::string> out;
  for (absl::string_view name : ForwardedLearnerFlags()) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) continue;  // not linked into this binary
    const std::string value = flag->CurrentValue();
    if (given.count(std::string(name)) > 0 || value != flag->DefaultValue()) {
      out.push_back(absl::StrCat("--", absl::StrReplaceAll(name, {{"_", "-"}}), "=", value));
    }
  }
  return out;
}

int ActorNumEnvs(int total_num_envs, int actors) {
  return std::max(1, actors > 0 ? total_num_envs / actors : total_num_envs);
}

std::vector<std::string> ActorArgs(const LocalClusterOptions& options, const std::string& address,
                                   const std::string& name) {
  const int num_envs = ActorNumEnvs(options.num_envs, options.actors);
  std::vector<std::string> args = {"--learner", address, "--name", name, "--num-envs",
                                   absl::StrCat(num_envs)};
  if (options.actor_threads > 1) {
    args.insert(args.end(), {"--threads", absl::StrCat(options.actor_threads)});
  }
  if (!options.actor_engine.empty() && options.actor_engine != "auto") {
    args.insert(args.end(), {"--engine", options.actor_engine});
  }
  return args;
}

int RunLocalCluster(const LocalClusterOptions& options) {
  Launcher launcher(options);
  return launcher.Run();
}

}  // namespace proxima
