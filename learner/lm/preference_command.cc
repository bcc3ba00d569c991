#include "learner/lm/preference_command.h"

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"
#include "common/lm/task_registry.h"
#include "common/policy/cpu_threads.h"
#include "common/status_macros.h"
#include "learner/lm/lm_flags.h"
#include "learner/lm/preference_data.h"
#include "learner/lm/preferences.h"
#include "learner/lm/reward_model.h"
#include "learner/lm/seq_checkpoint.h"
#include "nlohmann/json.hpp"

namespace proxima {

const char kLmPreferenceUsage[] =
    "       proxima lm preferences --init CKPT --out FILE [--task ID] [--pairs N]\n"
    "                     [--held-out-pairs N --held-out-out FILE] [--label-noise P]\n"
    "                     [--reward exact|partial] [--style none|length|pad:C]\n"
    "                     [--style-weight W] [--style-cap K] [--temperature T]\n"
    "                     [--max-new-tokens N] [--seed S] [--threads N]\n"
    "       proxima lm preferences --check FILE\n"
    "       proxima lm reward-model --init CKPT --pairs FILE [--eval-pairs FILE] [--steps N]\n"
    "                     [--lr X] [--batch-size N] [--eval-every N] [--loglik-weight W]\n"
    "                     [--train all|head] [--seed S] [--threads N] [--run-dir DIR]\n";

namespace {

// The checkpoint tag of a reward model: DIR/checkpoints/ckpt-<steps>-rm.pt.
constexpr char kRewardModelTag[] = "rm";

std::string Describe(const lm::PreferenceStats& s, int pairs) {
  return absl::StrFormat(
      "%d pairs from %d prompts (%d tied, %d undecodable dropped; %d labels flipped); mean true "
      "score %.3f; completions with a rule reward %.1f%%; pairs differing in style %.1f%%",
      pairs, s.prompts, s.tied, s.undecodable, s.noisy, s.mean_true, 100.0 * s.rule_nonzero,
      100.0 * s.style_differs);
}

absl::Status CheckFile(const std::string& path, std::ostream& out) {
  PROXIMA_ASSIGN_OR_RETURN(std::vector<lm::PreferencePair> pairs, lm::ReadPreferences(path));
  int noisy = 0, scored = 0, truly_ordered = 0;
  for (const lm::PreferencePair& p : pairs) {
    noisy += p.noisy ? 1 : 0;
    if (p.true_chosen.has_value()) {
      ++scored;
      truly_ordered += *p.true_chosen > *p.true_rejected ? 1 : 0;
    }
  }
  out << absl::StrFormat(
      "%s: %d pairs, %d marked noisy, %d with true scores (%d of them chosen truly better)\n", path,
      pairs.size(), noisy, scored, truly_ordered);
  return absl::OkStatus();
}

std::string EvalLine(const lm::PairwiseEval& e) {
  std::string line = absl::StrFormat("%d pairs: accuracy %.3f (labels)", e.pairs, e.accuracy);
  if (e.true_pairs > 0) {
    absl::StrAppendFormat(&line, ", %.3f (noise-free, %d pairs)", e.true_accuracy, e.true_pairs);
  }
  absl::StrAppendFormat(&line, "; ECE %.3f; loss %.4f; mean margin %.3f", e.ece, e.loss,
                        e.mean_margin);
  return line;
}

nlohmann::json EvalJson(const lm::PairwiseEval& e) {
  return {{"pairs", e.pairs},
          {"loss", e.loss},
          {"accuracy", e.accuracy},
          {"true_pairs", e.true_pairs},
          {"true_accuracy", e.true_accuracy},
          {"ece", e.ece},
          {"mean_margin", e.mean_margin}};
}

}  // namespace

absl::Status RunLmPreferences(const std::vector<std::string>& args, std::ostream& out,
                              std::ostream& err, int* exit_code) {
  std::string init, out_path, held_out_path, task_id, check, reward = "exact", style = "length";
  double style_weight = 0.1;
  int style_cap = 4, threads = 1;
  lm::PreferenceOptions o;
  const std::vector<LmFlag> flags = {
      {"init", LmString("init", &init)},
      {"out", LmString("out", &out_path)},
      {"held-out-out", LmString("held-out-out", &held_out_path)},
      {"task", LmString("task", &task_id)},
      {"check", LmString("check", &check)},
      {"pairs", LmNumber("pairs", &o.pairs)},
      {"held-out-pairs", LmNumber("held-out-pairs", &o.held_out_pairs)},
      {"label-noise", LmNumber("label-noise", &o.label_noise)},
      {"reward", LmString("reward", &reward)},
      {"style", LmString("style", &style)},
      {"style-weight", LmNumber("style-weight", &style_weight)},
      {"style-cap", LmNumber("style-cap", &style_cap)},
      {"temperature", LmNumber("temperature", &o.temperature)},
      {"max-new-tokens", LmNumber("max-new-tokens", &o.max_new_tokens)},
      {"seed", LmNumber("seed", &o.seed)},
      {"threads", LmNumber("threads", &threads)},
  };
  PROXIMA_RETURN_IF_ERROR(ParseLmFlags(args, flags));
  if (!check.empty()) {
    if (args.size() != 1 && args.size() != 2) {
      return absl::InvalidArgumentError("--check FILE takes no other flag");
    }
    PROXIMA_RETURN_IF_ERROR(CheckFile(check, out));
    *exit_code = 0;
    return absl::OkStatus();
  }
  if (init.empty() || out_path.empty()) {
    return absl::InvalidArgumentError(
        "`proxima lm preferences` needs --init CKPT and --out FILE (or --check FILE)");
  }
  if ((o.held_out_pairs > 0) != !held_out_path.empty()) {
    return absl::InvalidArgumentError(
        "--held-out-pairs N (> 0) and --held-out-out FILE go together");
  }
  if (threads < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--threads=", threads, " must be >= 1"));
  }
  PROXIMA_ASSIGN_OR_RETURN(o.reward, lm::ParseRewardMode(reward));
  PROXIMA_ASSIGN_OR_RETURN(o.style, lm::StyleTerm::Parse(style, style_weight, style_cap));
  PROXIMA_RETURN_IF_ERROR(o.Validate());

  ConfigureCpuThreads(threads);
  PROXIMA_ASSIGN_OR_RETURN(lm::LoadedSeqCheckpoint policy, lm::LoadSeqCheckpoint(init));
  if (task_id.empty()) task_id = policy.info.task_id;
  PROXIMA_ASSIGN_OR_RETURN(const std::unique_ptr<lm::Task> task, lm::MakeTask(task_id));
  *exit_code = 1;  // from here on a failure is a runtime one
  out << absl::StrFormat(
      "proxima lm preferences: %s from %s; true score = %s reward + style %s (weight %g, cap "
      "%d); label noise %g; temperature %g\n",
      task_id, policy.path, lm::RewardModeName(o.reward), o.style.Name(), o.style.weight,
      o.style.cap, o.label_noise, o.temperature);
  absl::StatusOr<lm::PreferenceSet> set =
      lm::MakePreferences(*policy.model, *task, *policy.tokenizer, o);
  if (!set.ok()) {
    if (set.status().code() == absl::StatusCode::kInvalidArgument) return set.status();
    err << "proxima lm preferences: " << set.status().message() << "\n";
    return absl::OkStatus();
  }
  for (const auto& [path, pairs, stats, what] :
       {std::tuple{out_path, &set->train, &set->train_stats, "train"},
        std::tuple{held_out_path, &set->held_out, &set->held_out_stats, "held-out"}}) {
    if (path.empty()) continue;
    if (absl::Status s = lm::WritePreferences(path, *pairs); !s.ok()) {
      err << "proxima lm preferences: " << s.message() << "\n";
      return absl::OkStatus();
    }
    out << absl::StrFormat("%s: %s: %s\n", path, what, Describe(*stats, pairs->size()));
  }
  *exit_code = 0;
  return absl::OkStatus();
}

absl::Status RunLmRewardModel(const std::vector<std::string>& args, std::ostream& out,
                              std::ostream& err, int* exit_code) {
  std::string init, pairs_path, eval_path, run_dir, train_what = "all";
  int threads = 1;
  lm::RewardModelOptions o;
  const std::vector<LmFlag> flags = {
      {"init", LmString("init", &init)},
      {"pairs", LmString("pairs", &pairs_path)},
      {"eval-pairs", LmString("eval-pairs", &eval_path)},
      {"steps", LmNumber("steps", &o.steps)},
      {"lr", LmNumber("lr", &o.learning_rate)},
      {"batch-size", LmNumber("batch-size", &o.batch_size)},
      {"eval-every", LmNumber("eval-every", &o.eval_every)},
      {"loglik-weight", LmNumber("loglik-weight", &o.loglik_weight)},
      {"train", LmString("train", &train_what)},
      {"seed", LmNumber("seed", &o.seed)},
      {"threads", LmNumber("threads", &threads)},
      {"run-dir", LmString("run-dir", &run_dir)},
  };
  PROXIMA_RETURN_IF_ERROR(ParseLmFlags(args, flags));
  if (init.empty() || pairs_path.empty()) {
    return absl::InvalidArgumentError(
        "`proxima lm reward-model` needs --init CKPT and --pairs FILE");
  }
  if (threads < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--threads=", threads, " must be >= 1"));
  }
  if (train_what != "all" && train_what != "head") {
    return absl::InvalidArgumentError(
        absl::StrCat("--train=", train_what, ": expected all or head"));
  }
  o.train_trunk = train_what == "all";
  PROXIMA_RETURN_IF_ERROR(o.Validate());
  PROXIMA_ASSIGN_OR_RETURN(std::vector<lm::PreferencePair> train, lm::ReadPreferences(pairs_path));
  if (train.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(pairs_path, ": no preference pairs"));
  }
  std::vector<lm::PreferencePair> eval;
  if (!eval_path.empty()) {
    PROXIMA_ASSIGN_OR_RETURN(eval, lm::ReadPreferences(eval_path));
  }
  ConfigureCpuThreads(threads);
  PROXIMA_ASSIGN_OR_RETURN(lm::LoadedSeqCheckpoint model, lm::LoadSeqCheckpoint(init));

  std::ofstream csv;
  if (!run_dir.empty()) {
    PROXIMA_RETURN_IF_ERROR(MakeDirs(run_dir));
    csv.open(run_dir + "/metrics.csv");
    if (!csv) {
      return absl::InvalidArgumentError(absl::StrCat("cannot write ", run_dir, "/metrics.csv"));
    }
    csv << "step,loss,batch_accuracy,eval_accuracy,eval_true_accuracy,eval_ece,eval_loss\n";
  }
  out << absl::StrFormat(
      "proxima lm reward-model: from %s; %d training pairs (%s), %d evaluation pairs; %d steps "
      "of %d pairs, lr %g\n",
      model.path, train.size(), pairs_path, eval.size(), o.steps, o.batch_size, o.learning_rate);
  auto report = [&](const lm::RewardModelProgress& p) {
    out << absl::StrFormat("step %6d  loss %.4f  batch accuracy %.3f", p.step, p.loss, p.accuracy);
    if (p.eval.has_value()) out << "  eval " << EvalLine(*p.eval);
    out << std::endl;
    if (csv.is_open() && p.eval.has_value()) {
      csv << absl::StrFormat("%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g\n", p.step, p.loss, p.accuracy,
                             p.eval->accuracy, p.eval->true_accuracy, p.eval->ece, p.eval->loss)
          << std::flush;
    }
  };
  absl::StatusOr<lm::RewardModelResult> result =
      lm::TrainRewardModel(*model.model, *model.tokenizer, train, eval, o, report);
  if (!result.ok()) {
    // Pairs that do not fit the model are the file's fault: exit 2.
    if (result.status().code() == absl::StatusCode::kInvalidArgument) return result.status();
    *exit_code = 1;
    err << "proxima lm reward-model: " << result.status().message() << "\n";
    return absl::OkStatus();
  }
  *exit_code = 1;
  if (result->initial_eval.has_value()) {
    out << "evaluation pairs before training: " << EvalLine(*result->initial_eval) << "\n";
  }
  out << absl::StrFormat("done: %d steps in %.1f s; final training loss %.4f\n", result->steps,
                         result->seconds, result->final_loss);
  out << "training pairs:   " << EvalLine(result->train) << "\n";
  if (result->eval.has_value()) out << "evaluation pairs: " << EvalLine(*result->eval) << "\n";
  if (!run_dir.empty()) {
    lm::SeqCheckpointInfo info = model.info;
    info.kind = lm::kRewardModelKind;
    info.reward_loglik_weight = o.loglik_weight;
    info.policy_version = static_cast<uint64_t>(result->steps);
    absl::StatusOr<std::string> saved =
        lm::SaveSeqCheckpoint(run_dir + "/checkpoints", *model.model, info, kRewardModelTag);
    if (!saved.ok()) {
      err << "proxima lm reward-model: cannot write the checkpoint: " << saved.status().message()
          << "\n";
      return absl::OkStatus();
    }
    nlohmann::json summary = {{"init", model.path},
                              {"pairs", pairs_path},
                              {"eval_pairs", eval_path},
                              {"steps", result->steps},
                              {"batch_size", o.batch_size},
                              {"learning_rate", o.learning_rate},
                              {"loglik_weight", o.loglik_weight},
                              {"train", train_what},
                              {"seed", o.seed},
                              {"seconds", result->seconds},
                              {"final_loss", result->final_loss},
                              {"train", EvalJson(result->train)},
                              {"checkpoint", *saved}};
    if (result->eval.has_value()) summary["eval"] = EvalJson(*result->eval);
    if (result->initial_eval.has_value()) {
      summary["initial_eval"] = EvalJson(*result->initial_eval);
    }
    if (absl::Status s = WriteFileAtomic(run_dir + "/reward_model.json", summary.dump(2) + "\n");
        !s.ok()) {
      err << "proxima lm reward-model: " << s.message() << "\n";
      return absl::OkStatus();
    }
    out << "checkpoint: " << *saved << "\n";
  }
  *exit_code = 0;
  return absl::OkStatus();
}

}  // namespace proxima
