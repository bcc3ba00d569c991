// `proxima train`'s local cluster, shared by the two executables of the
// `proxima` command (learner/cli/proxima_main.cc and proxima_torch_main.cc):
//
//   * a new run (no --resume, no --in-process) starts from `proxima`, which
//     loads no LibTorch: the learner and actor processes it launches load
//     their own, so the first env step comes ~0.45 s sooner;
//   * `--resume DIR` reads the run's checkpoint with LibTorch and
//     `--in-process` trains in the process: `proxima` hands both to
//     `proxima-torch` (TrainNeedsTorch), which calls TrainCluster with the
//     resume point it read, or runs the in-process trainer.
//
// The launcher's own flags (--in-process, --actors, --actor-threads,
// --print-config) are defined in train_command.cc.
#ifndef PROXIMA_LEARNER_CLI_TRAIN_COMMAND_H_
#define PROXIMA_LEARNER_CLI_TRAIN_COMMAND_H_

#include <set>
#include <string>

#include "absl/flags/declare.h"
#include "learner/ppo_config.h"
#include "learner/server/learner_options.h"

ABSL_DECLARE_FLAG(bool, in_process);
ABSL_DECLARE_FLAG(bool, print_config);

namespace proxima {

struct ResumePoint;  // learner/resume_config.h

// True when the parsed flags ask for --in-process or --resume.
bool TrainNeedsTorch();

// A new run's directory (NewRunDir, learner/run_files.h); exits 2 for a
// --run-dir that holds a run without --overwrite.
std::string NewTrainRunDir(const PpoConfig& config, const LearnerOptions& learner);

// The local cluster: learner + actor processes (learner/cli/local_cluster.h),
// from the parsed flags (`given`: the names set, ParsedArgs::given).
// `resume` (null for a new run): the checkpoint --resume names, read by the
// caller. Everything is validated before any process starts: bad input
// exits 2. Returns the exit status.
int TrainCluster(const std::set<std::string>& given, const ResumePoint* resume);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_TRAIN_COMMAND_H_
