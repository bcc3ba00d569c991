// Flags of a sequence run's learner (`proxima-learner --env lm/...`,
// learner/server/seq_learner_server.h): the sampling the actors generate
// with (--group-size, --prompts-per-chunk, --temperature, --top-k,
// --max-new-tokens), --init-checkpoint, the training (--algo grpo|ppo with
// --lm-learning-rate, --chunks-per-update, --lm-kl-beta, --lm-max-policy-lag,
// --loss-aggregation, --lm-updates, --lm-eval-every, --run-dir, --resume
// [--resume-or-start]; --mode sync with --min-actors and
// --sync-round-timeout, one chunk per actor per update;
// without --algo the learner only evaluates, and those flags are refused),
// --lm-eval-prompts, plus which of the MLP learner's flags mean nothing for
// such a run and are refused.
//
// Linked only into executables (flags are defined where mains live).
#ifndef PROXIMA_LEARNER_CLI_SEQ_LEARNER_FLAGS_H_
#define PROXIMA_LEARNER_CLI_SEQ_LEARNER_FLAGS_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "learner/server/seq_learner_server.h"
#include "nlohmann/json.hpp"

namespace proxima {

// "--lm-kl-beta" for the absl name "lm_kl_beta": how errors name a flag.
std::string DashedFlag(absl::string_view name);

// The sequence learner's config for task `task_id` from the flags (and
// --seed when given). Errors name the flag: a sampling value out of range
// (SeqRunSettings::Finish, checked again against the checkpoint's model by
// SeqLearnerServer::Create).
absl::StatusOr<SeqLearnerConfig> SeqLearnerConfigFromFlags(const std::string& task_id);

// InvalidArgument naming the first flag in `given` (ParsedArgs::given) that
// only an MLP run uses (a PPO hyperparameter other than --seed, --mode,
// --eval-every, --actor-num-envs, checkpoint periods, ...).
absl::Status CheckNoMlpOnlyFlags(const std::set<std::string>& given);

// `--resume DIR --resume-or-start` for a sequence run of `task_id`
// (deployments that restart the learner on one volume,
// deploy/docker-compose.lm.yml): true when DIR/checkpoints holds a
// checkpoint to continue from (then --resume's checks apply as without
// --resume-or-start), false when it holds none and a new run starts in DIR
// (a missing or empty DIR, or the files of a run of this task stopped
// before its first checkpoint, which the new run replaces).
// InvalidArgument naming DIR when DIR holds another kind of run (an MLP
// run's config.json), a config.json that does not parse, or a sequence run
// of another task.
absl::StatusOr<bool> SeqResumeOrStartResumes(const std::string& dir, const std::string& task_id);

// The flags that define a sequence run (sampling, model start, training,
// --seed), by absl name: what config.json records as "learner_flags"
// (SeqRunFlagValues: name -> current value) and `--resume DIR` restores
// (RestoreSeqRunFlags: each flag not in `given` takes the recorded value;
// a given one must equal it, except --lm-updates, --lm-eval-every,
// --lm-eval-prompts and --lm-learning-rate, which a resumed run may change;
// InvalidArgument naming the flag otherwise).
const std::vector<std::string>& SeqRunFlagNames();
nlohmann::json SeqRunFlagValues();
absl::Status RestoreSeqRunFlags(const nlohmann::json& config, const std::set<std::string>& given);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_SEQ_LEARNER_FLAGS_H_
