#include "learner/cli/seq_learner_flags.h"

#include <cstdint>
#include <filesystem>
#include <vector>
#include <memory>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/lm/task_registry.h"
#include "common/status_macros.h"
#include "learner/checkpoint_names.h"
#include "learner/lm/rlhf_scorer.h"
#include "learner/lm/seq_loss.h"
#include "learner/lm/seq_trainer.h"
#include "learner/ppo_config_fields.h"
#include "learner/server/seq_reward.h"
#include "learner/server/seq_run_files.h"

ABSL_FLAG(int, group_size, 8, "sequence run (--env lm/...): completions per prompt (G)");
ABSL_FLAG(int, prompts_per_chunk, 4,
          "sequence run: prompts per chunk (a chunk holds G x this many sequences)");
ABSL_FLAG(double, temperature, 1.0, "sequence run: sampling temperature, > 0");
ABSL_FLAG(int, top_k, 0, "sequence run: sample among the k likeliest tokens; 0 = all");
ABSL_FLAG(int, max_new_tokens, 6,
          "sequence run: most tokens of a completion (<eos> included)");
ABSL_FLAG(std::string, init_checkpoint, "",
          "sequence run: start from this sequence checkpoint (a file, or a run directory's "
          "newest; what `proxima lm sft --run-dir` writes) instead of seeded weights");

ABSL_FLAG(std::string, algo, "",
          "sequence run: train on the chunks with grpo or ppo (docs/sequence-policies.md); "
          "empty = count and evaluate them only");
ABSL_FLAG(double, lm_learning_rate, 1e-5, "sequence run (--algo): Adam's learning rate");
ABSL_FLAG(int, chunks_per_update, 8, "sequence run (--algo): accepted chunks per update");
ABSL_FLAG(double, lm_kl_beta, -1,
          "sequence run (--algo): coefficient of the KL to the frozen reference, in GRPO's "
          "loss (default 0.04) or in PPO's per-token reward (default 0.05); < 0 = default");
ABSL_FLAG(int, lm_max_policy_lag, 4,
          "sequence run (--algo): drop chunks generated more than this many versions ago "
          "(-1 = keep all)");
ABSL_FLAG(std::string, loss_aggregation, "token-mean",
          "sequence run (--algo grpo): token-mean or sequence-mean");
ABSL_FLAG(int64_t, lm_updates, 0,
          "sequence run (--algo): stop after this many updates in all (0 = until stopped; "
          "`proxima train` defaults to 200)");
ABSL_FLAG(int, lm_eval_every, 25,
          "sequence run (--algo): held-out greedy exact match (and a checkpoint with "
          "--run-dir) every this many updates; 0 = only at the start and the end");
ABSL_FLAG(int, lm_eval_prompts, 200, "sequence run: held-out prompts per evaluation");
ABSL_FLAG(std::string, reward_model, "",
          "sequence run (--algo): reward completions with this reward model (`proxima lm "
          "reward-model`; scored in the learner, normalized on the init checkpoint's samples) "
          "instead of the task's rule; needs --init-checkpoint");
ABSL_FLAG(std::string, style, "length",
          "sequence run (--reward-model): the true score's style term, none, length or pad:C "
          "(`proxima lm preferences`' --style), logged beside the learned reward");
ABSL_FLAG(double, style_weight, 0.1, "sequence run (--reward-model): the style term's weight");
ABSL_FLAG(int, style_cap, 4, "sequence run (--reward-model): the style term's cap");

namespace proxima {

std::string DashedFlag(absl::string_view name) {
  return absl::StrCat("--", absl::StrReplaceAll(name, {{"_", "-"}}));
}

namespace {

bool FlagGiven(const char* name) {
  const absl::CommandLineFlag* f = absl::FindCommandLineFlag(name);
  return f != nullptr && f->CurrentValue() != f->DefaultValue();
}

// --mode (learner/cli/learner_flags.cc) is sync.
bool SyncMode() {
  const absl::CommandLineFlag* f = absl::FindCommandLineFlag("mode");
  return f != nullptr && f->CurrentValue() == "sync";
}

// The flags that only one of the two modes uses, given with the other.
absl::Status CheckModeFlags(bool training) {
  if (SyncMode()) {
    if (!training) {
      return absl::InvalidArgumentError(
          "--mode sync: a round ends with an update, and a learner without --algo never "
          "updates; give --algo grpo or ppo too");
    }
    for (const char* name : {"chunks_per_update", "lm_max_policy_lag"}) {
      if (FlagGiven(name)) {
        return absl::InvalidArgumentError(absl::StrCat(
            DashedFlag(name), " applies to --mode async; in --mode sync every update trains on one "
            "round, a chunk from every live actor at the current version (raise "
            "--prompts-per-chunk for larger batches)"));
      }
    }
    return absl::OkStatus();
  }
  for (const char* name : {"min_actors", "sync_round_timeout"}) {
    if (FlagGiven(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat(DashedFlag(name), " applies to --mode sync only"));
    }
  }
  return absl::OkStatus();
}

// --reward-model and the true score's style (issue 26); the style flags
// only with a reward model.
absl::StatusOr<SeqRewardSettings> RewardFromFlags() {
  SeqRewardSettings r;
  r.reward_model = absl::GetFlag(FLAGS_reward_model);
  r.style = absl::GetFlag(FLAGS_style);
  r.style_weight = absl::GetFlag(FLAGS_style_weight);
  r.style_cap = absl::GetFlag(FLAGS_style_cap);
  if (!r.enabled()) {
    for (const char* name : {"style", "style_weight", "style_cap"}) {
      if (FlagGiven(name)) {
        return absl::InvalidArgumentError(absl::StrCat(
            DashedFlag(name),
            " names the true score of a --reward-model run: give --reward-model too"));
      }
    }
    return r;
  }
  // Absolute, so that config.json names it from anywhere (--resume).
  std::error_code ec;
  const std::filesystem::path abs = std::filesystem::absolute(r.reward_model, ec);
  if (!ec) r.reward_model = abs.lexically_normal().string();
  PROXIMA_RETURN_IF_ERROR(r.Style().status());
  return r;
}

// SeqLearnerConfig.training from --algo and its companions; nullopt when
// --algo is empty (then none of them may be given).
absl::StatusOr<std::optional<SeqTrainingOptions>> TrainingFromFlags(uint64_t seed) {
  const std::string algo = absl::GetFlag(FLAGS_algo);
  PROXIMA_RETURN_IF_ERROR(CheckModeFlags(!algo.empty()));
  if (algo.empty()) {
    for (const char* name : {"lm_learning_rate", "chunks_per_update", "lm_kl_beta",
                             "lm_max_policy_lag", "loss_aggregation", "lm_updates",
                             "lm_eval_every", "run_dir", "resume"}) {
      if (FlagGiven(name)) {
        return absl::InvalidArgumentError(absl::StrCat(
            DashedFlag(name), " sets the training of a sequence run: give --algo grpo or ppo too"));
      }
    }
    return std::optional<SeqTrainingOptions>();
  }
  SeqTrainingOptions t;
  absl::StatusOr<learner_lm::SeqAlgo> a = learner_lm::ParseSeqAlgo(algo);
  if (!a.ok()) return absl::InvalidArgumentError(absl::StrCat("--algo: ", a.status().message()));
  t.trainer.algo = *a;
  t.trainer.seed = seed;
  t.trainer.learning_rate = absl::GetFlag(FLAGS_lm_learning_rate);
  if (!(t.trainer.learning_rate > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--lm-learning-rate: ", t.trainer.learning_rate, " must be > 0"));
  }
  if (const double beta = absl::GetFlag(FLAGS_lm_kl_beta); beta >= 0) {
    t.trainer.grpo.kl_beta = beta;
    t.trainer.reward_kl_beta = beta;
  }
  absl::StatusOr<learner_lm::LossAggregation> agg =
      learner_lm::ParseLossAggregation(absl::GetFlag(FLAGS_loss_aggregation));
  if (!agg.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--loss-aggregation: ", agg.status().message()));
  }
  t.trainer.grpo.aggregation = *agg;
  t.chunks_per_update = absl::GetFlag(FLAGS_chunks_per_update);
  if (t.chunks_per_update < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--chunks-per-update: ", t.chunks_per_update, " must be >= 1"));
  }
  PROXIMA_ASSIGN_OR_RETURN(t.reward_settings, RewardFromFlags());
  t.max_policy_lag = absl::GetFlag(FLAGS_lm_max_policy_lag);
  if (t.max_policy_lag < -1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--lm-max-policy-lag: ", t.max_policy_lag, " must be >= -1"));
  }
  if (absl::Status s = t.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--algo ", algo, ": ", s.message()));
  }
  return std::optional<SeqTrainingOptions>(t);
}

}  // namespace

absl::StatusOr<SeqLearnerConfig> SeqLearnerConfigFromFlags(const std::string& task_id) {
  if (absl::StatusOr<std::unique_ptr<lm::Task>> task = lm::MakeTask(task_id); !task.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--env: ", task.status().message()));
  }
  SeqLearnerConfig c;
  c.run.task_id = task_id;
  c.run.group_size = absl::GetFlag(FLAGS_group_size);
  c.run.prompts_per_chunk = absl::GetFlag(FLAGS_prompts_per_chunk);
  c.run.temperature = absl::GetFlag(FLAGS_temperature);
  c.run.top_k = absl::GetFlag(FLAGS_top_k);
  c.run.max_new_tokens = absl::GetFlag(FLAGS_max_new_tokens);
  c.init_checkpoint = absl::GetFlag(FLAGS_init_checkpoint);
  // --seed is a PPO flag (learner/cli/ppo_flags.cc), unset by default.
  if (const absl::CommandLineFlag* seed = absl::FindCommandLineFlag("seed");
      seed != nullptr && seed->CurrentValue() != seed->DefaultValue()) {
    if (!absl::SimpleAtoi(seed->CurrentValue(), &c.seed)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--seed: '", seed->CurrentValue(), "' is not a seed"));
    }
  }
  PROXIMA_ASSIGN_OR_RETURN(c.training, TrainingFromFlags(c.seed));
  c.sync = SyncMode();
  c.held_out_prompts = absl::GetFlag(FLAGS_lm_eval_prompts);
  if (c.held_out_prompts < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--lm-eval-prompts: ", c.held_out_prompts, " must be >= 1"));
  }
  if (c.training.has_value()) {
    c.max_updates = absl::GetFlag(FLAGS_lm_updates);
    c.eval_every_updates = absl::GetFlag(FLAGS_lm_eval_every);
    if (c.max_updates < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--lm-updates: ", c.max_updates, " must be >= 0"));
    }
    if (c.eval_every_updates < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--lm-eval-every: ", c.eval_every_updates, " must be >= 0"));
    }
  }
  if (!c.init_checkpoint.empty()) {
    // Absolute, so that config.json names it from anywhere (--resume).
    std::error_code ec;
    const std::filesystem::path abs = std::filesystem::absolute(c.init_checkpoint, ec);
    if (!ec) c.init_checkpoint = abs.lexically_normal().string();
  }
  if (c.training.has_value() && c.training->reward_settings.enabled()) {
    // Room for the style the true score pays for, as `proxima lm rl` gives
    // (set on the flag, so that config.json records it).
    if (!FlagGiven("max_new_tokens")) {
      PROXIMA_ASSIGN_OR_RETURN(const std::unique_ptr<lm::Task> task, lm::MakeTask(task_id));
      PROXIMA_ASSIGN_OR_RETURN(const lm::StyleTerm style, c.training->reward_settings.Style());
      c.run.max_new_tokens = learner_lm::TrueScoreMaxNewTokens(*task, style);
      absl::SetFlag(&FLAGS_max_new_tokens, c.run.max_new_tokens);
    }
    PROXIMA_RETURN_IF_ERROR(CheckSeqRewardSettings(c.training->reward_settings,
                                                   c.init_checkpoint, c.run.max_new_tokens));
  } else if (FlagGiven("reward_model")) {
    return absl::InvalidArgumentError(
        "--reward-model rewards the training of a sequence run: give --algo grpo or ppo too");
  }
  // Without a checkpoint the default model must fit the sampling; with one,
  // SeqLearnerServer::Create checks against the checkpoint's model.
  if (c.init_checkpoint.empty()) {
    SeqRunSettings check = c.run;
    if (absl::Status s = check.Finish(); !s.ok()) {
      // "sequence run: group_size 0 must be >= 1" -> "--group-size: ..."
      std::string message(s.message());
      for (const char* field :
           {"group_size", "prompts_per_chunk", "temperature", "top_k", "max_new_tokens"}) {
        const std::string prefix = absl::StrCat("sequence run: ", field, " ");
        if (message.rfind(prefix, 0) == 0) {
          message = absl::StrCat(DashedFlag(field), ": ",
                                 message.substr(prefix.size()));
          break;
        }
      }
      return absl::InvalidArgumentError(message);
    }
  }
  return c;
}

absl::Status CheckNoMlpOnlyFlags(const std::set<std::string>& given) {
  for (const PpoConfigField& row : PpoConfigFields()) {
    for (const char* name : {row.flag, row.alias}) {
      if (name == nullptr || std::string(name) == "seed" || given.count(name) == 0) continue;
      return absl::InvalidArgumentError(
          absl::StrCat(DashedFlag(name),
                       " is a PPO setting of an MLP run; a sequence run (--env lm/...) has none"));
    }
  }
  for (const char* name :
       {"eval_every", "eval_episodes", "actor_num_envs", "stop_when_solved",
        "checkpoint_every_seconds", "checkpoint_every_updates", "keep_checkpoints",
        "target_policy_lag", "max_policy_lag"}) {
    if (given.count(name) == 0) continue;
    return absl::InvalidArgumentError(
        absl::StrCat(DashedFlag(name),
                     " applies to MLP runs only; a sequence run (--env lm/...) does not use it"));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> SeqResumeOrStartResumes(const std::string& dir, const std::string& task_id) {
  if (!ListCheckpoints(dir + "/checkpoints").empty()) return true;
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(dir) / "config.json", ec)) return false;
  // A run stopped before its first checkpoint: start it again, if it is one
  // of this task (never replace another kind of run's files).
  absl::StatusOr<nlohmann::json> recorded = SeqRunFiles::ReadConfig(dir);
  if (!recorded.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--resume ", dir, " (--resume-or-start): ", recorded.status().message()));
  }
  if (const std::string env = recorded->value("env", std::string("?")); env != task_id) {
    return absl::InvalidArgumentError(absl::StrCat("--resume ", dir, " (--resume-or-start) is a run of ",
                                                   env, ", not ", task_id));
  }
  return false;
}

const std::vector<std::string>& SeqRunFlagNames() {
  static const auto* names = new std::vector<std::string>{
      "algo",           "chunks_per_update", "group_size",      "init_checkpoint",
      "lm_eval_every",  "lm_eval_prompts",   "lm_kl_beta",      "lm_learning_rate",
      "lm_max_policy_lag", "lm_updates",     "loss_aggregation", "max_new_tokens",
      "mode",           "prompts_per_chunk", "reward_model",    "seed",
      "style",          "style_cap",         "style_weight",    "temperature",
      "top_k"};
  return *names;
}

nlohmann::json SeqRunFlagValues() {
  nlohmann::json values = nlohmann::json::object();
  for (const std::string& name : SeqRunFlagNames()) {
    if (const absl::CommandLineFlag* f = absl::FindCommandLineFlag(name)) {
      values[name] = f->CurrentValue();
    }
  }
  return values;
}

absl::Status RestoreSeqRunFlags(const nlohmann::json& config, const std::set<std::string>& given) {
  const nlohmann::json& flags = config.at("learner_flags");
  for (const std::string& name : SeqRunFlagNames()) {
    if (!flags.contains(name)) continue;
    const bool changes = given.count(name) > 0;
    // A resumed run may run longer, evaluate differently or learn at another
    // rate; what shapes its data and model must stay.
    static const std::set<std::string> may_change = {"lm_updates", "lm_eval_every",
                                                     "lm_eval_prompts", "lm_learning_rate"};
    const absl::CommandLineFlag* f = absl::FindCommandLineFlag(name);
    if (f == nullptr || !flags[name].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "config.json: learner_flags.", name, " must be a string"));
    }
    const std::string stored = flags[name].get<std::string>();
    if (changes) {
      if (may_change.count(name) == 0 && f->CurrentValue() != stored) {
        return absl::InvalidArgumentError(absl::StrCat(
            DashedFlag(name), " cannot change when resuming: the run ",
            "has ", stored, " (config.json)"));
      }
      continue;
    }
    std::string error;
    if (!absl::FindCommandLineFlag(name)->ParseFrom(stored, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("config.json: learner_flags.", name, " = '", stored, "': ", error));
    }
  }
  return absl::OkStatus();
}

}  // namespace proxima
