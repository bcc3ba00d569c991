// `proxima train --env lm/TASK`: a sequence run on the local cluster
// (issue 25) — one `proxima-learner --env lm/TASK --algo grpo|ppo` and N
// `proxima-actor` processes generating completions, supervised by
// RunLocalCluster (learner/cli/local_cluster.h) exactly like an MLP run.
//
//   proxima lm sft --run-dir sft
//   proxima train --env lm/Addition-v0 --init-checkpoint sft [--algo grpo|ppo]
//                 [--lm-updates 200] [--actors 2] [--run-dir DIR]
//   proxima train --resume DIR [--lm-updates N]
//
// Defaults that differ from `proxima-learner`'s: --algo grpo and
// --lm-updates 200 (the learner itself has no algorithm and no end unless
// told). A warm start is required (--init-checkpoint): from random weights
// every reward is 0 and nothing is learned. The sequence flags
// (seq_learner_flags.h), --seed and the learner flags given are forwarded;
// MLP-only flags are refused (exit 2) before any process starts, as is a
// checkpoint that does not load or is of another task. `--resume DIR`
// continues DIR's run (its flags from DIR/config.json; SeqRunFiles). The
// learner writes DIR/config.json, metrics.csv, checkpoints/ and
// summary.json, which the launcher prints at the end.
//
// Runs in `proxima-torch` (it loads checkpoints to check them): `proxima`
// hands it over when the command line names an lm/ task (before parsing
// flags: the sequence flags exist only in proxima-torch), and proxima-torch
// runs it for such an --env or a --resume that names a sequence run.
#ifndef PROXIMA_LEARNER_CLI_SEQ_TRAIN_COMMAND_H_
#define PROXIMA_LEARNER_CLI_SEQ_TRAIN_COMMAND_H_

#include <set>
#include <string>

namespace proxima {

// True when `dir` (a --resume value) holds a sequence run (its
// config.json says so).
bool IsSequenceRunDir(const std::string& dir);

// The local-cluster sequence run from the parsed flags (`given`:
// ParsedArgs::given). Exit status: the learner's, 2 for bad input.
int TrainSequenceCluster(const std::set<std::string>& given);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_SEQ_TRAIN_COMMAND_H_
