// `proxima train` without --in-process: the whole distributed system on this
// machine — one `proxima-learner` and N `proxima-actor` processes on loopback
// (DESIGN.md "Topology") — supervised by the calling process.
//
// Lifecycle:
//  1. The learner starts with `--min-actors N`, the forwarded flags, then
//     `--listen 127.0.0.1:0 --run-dir DIR --quiet`; its bound address comes
//     from its stdout line "proxima-learner: listening on HOST:PORT"
//     (common/listening_line.h; local_learner.h). Its stdout and stderr
//     go to DIR/logs/learner.log. With a dashboard (`proxima train` turns
//     it on), its URL, from DIR/dashboard.addr, is printed with the
//     learner's address.
//  2. Actor i runs `proxima-actor --learner ADDR --name actor-<i> --num-envs K`
//     (K = max(1, num_envs / N), so the run's env columns are split among
//     the actors; ActorArgs) with output in DIR/logs/actor-<i>.log. An actor
//     that exits with a failure while the learner runs is restarted with
//     exponential backoff (exit status 0 means it finished; 2 means it will
//     never start, so it is not retried).
//  3. A progress line (from Monitor.GetStatus, ~2×/s) goes to stderr unless
//     quiet: rewritten in place on a terminal, one line every few seconds
//     otherwise.
//  4. The learner stops by itself (step budget, --stop-when-solved), writes
//     DIR/summary.json and exits; SIGINT/SIGTERM to this process forwards
//     SIGTERM to the learner (it checkpoints and exits), a second one kills
//     it. Then the actors get SIGTERM, and SIGKILL after a grace period.
//  5. summary.json and "run directory: DIR" are printed; the exit status is
//     the learner's.
// Children run in their own process group (a terminal's Ctrl-C reaches only
// the launcher, which then stops them in order) and get a parent-death
// signal, so none outlives the launcher even if it is killed.
#ifndef PROXIMA_LEARNER_CLI_LOCAL_CLUSTER_H_
#define PROXIMA_LEARNER_CLI_LOCAL_CLUSTER_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace proxima {

struct LocalClusterOptions {
  std::string env_id;
  int64_t total_steps = 0;  // for the progress line's ETA (a sequence run: updates)
  // A sequence run (`proxima train --env lm/...`, learner/cli/
  // seq_train_command.h): the progress line is SeqProgressLine.
  bool sequence = false;
  int num_envs = 1;         // env columns of the whole run (PPO --num-envs)
  int actors = 2;
  int actor_threads = 1;    // proxima-actor --threads
  // proxima-actor --engine (its inference engine): `proxima train` passes
  // the PPO --engine, as the in-process trainer follows it for its own
  // inference; "" or "auto" adds no flag (the actor's default is auto).
  std::string actor_engine;
  std::string run_dir;
  bool quiet = false;
  // When not null: set as "run" in RUN_DIR/config.json once the learner has
  // written that file (it has when it reports its address), so that the file
  // holds the launch too (learner/cli/train_plan.h).
  nlohmann::json run;
  // Flags for the learner, before the launcher's own --listen/--run-dir/--quiet
  // (see LearnerFlagsToForward()).
  std::vector<std::string> learner_flags;
  // Executables; empty: proxima-learner / proxima-actor next to this one.
  std::string learner_binary;
  std::string actor_binary;
  // How long the learner may take to print its address.
  absl::Duration startup_timeout = absl::Seconds(120);
  // After SIGTERM: how long the learner may take to checkpoint and exit (its
  // own --grace-period plus slack) and how long actors may take to exit.
  // Actors are stopped only once the learner is gone, so their final chunk
  // can no longer be delivered: a short grace loses nothing.
  absl::Duration learner_grace = absl::Seconds(30);
  absl::Duration actor_grace = absl::Seconds(3);
};

// Runs the cluster to completion; returns the exit status for `main` (the
// learner's, or 1 if it could not be started). While it runs it handles
// SIGINT, SIGTERM and SIGCHLD itself (the previous handlers are restored on
// return), and it forks from the calling thread, which must outlive the run:
// the children's parent-death signal fires when that thread ends. One run
// at a time per process.
int RunLocalCluster(const LocalClusterOptions& options);

// The flags `proxima train` forwards to its learner, sorted: every PPO flag
// (learner/cli/ppo_flags.h) and learner flag (learner/cli/learner_flags.h)
// except those the launcher sets or handles itself (--run-dir, --quiet,
// --overwrite: the launcher clears an old run before it creates logs/). Launcher-only
// flags (--actors, --in-process, ...) are not in it. local_cluster_test
// checks it against the flags those two files define.
absl::Span<const absl::string_view> ForwardedLearnerFlags();

// Every flag of ForwardedLearnerFlags() that was given (`given`: the names
// set on the command line, in a --flagfile or the environment,
// ParsedArgs::given) or whose value differs from its default, as
// "--name=value", sorted by name. A given flag is forwarded even at its
// default value: an explicit --min-actors 1 overrides the launcher's own.
std::vector<std::string> LearnerFlagsToForward(const std::set<std::string>& given);

// Env columns per actor: the run's num_envs split evenly, at least one.
int ActorNumEnvs(int total_num_envs, int actors);

// The arguments of the actor named `name` (step 2 above): --learner, --name,
// --num-envs, then --threads and --engine when they differ from the actor's
// defaults.
std::vector<std::string> ActorArgs(const LocalClusterOptions& options, const std::string& address,
                                   const std::string& name);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_LOCAL_CLUSTER_H_
