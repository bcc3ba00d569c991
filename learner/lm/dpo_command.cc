#include "learner/lm/dpo_command.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"
#include "common/lm/task_eval.h"
#include "common/lm/task_registry.h"
#include "common/policy/cpu_threads.h"
#include "common/status_macros.h"
#include "learner/lm/dpo_eval.h"
#include "learner/lm/dpo_trainer.h"
#include "learner/lm/lm_flags.h"
#include "learner/lm/preference_data.h"
#include "learner/lm/preferences.h"
#include "learner/lm/seq_checkpoint.h"
#include "learner/lm/sft.h"
#include "nlohmann/json.hpp"

namespace proxima {

const char kLmDpoUsage[] =
    "       proxima lm dpo --init CKPT --pairs FILE [--eval-pairs FILE] [--beta B] [--steps N]\n"
    "                      [--lr X] [--batch-size N] [--eval-prompts N] [--reward exact|partial]\n"
    "                      [--style none|length|pad:C] [--style-weight W] [--style-cap K]\n"
    "                      [--seed S] [--threads N] [--run-dir DIR]\n";

namespace {

constexpr char kCsvHeader[] =
    "step,seconds,loss,accuracy,reward_margin,chosen_reward,rejected_reward,grad_norm\n";

// The pairs as the model reads them, in the order of the labels or, with
// `true_order`, with the pairs marked noisy swapped back; InvalidArgument
// naming the pair (its 1-based place in FILE) when a text does not tokenize,
// its prompt is not a prompt of `task`, or, with `train_only`, a held-out
// one.
absl::StatusOr<std::vector<learner_lm::TokenizedPair>> TokenizePairs(
    const std::vector<lm::PreferencePair>& pairs, const lm::Task& task,
    const lm::Tokenizer& tokenizer, const std::string& file, bool train_only, bool true_order) {
  std::vector<learner_lm::TokenizedPair> out(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    const lm::PreferencePair& p = pairs[i];
    auto where = [&](const char* field) {
      return absl::StrCat(file, " pair ", i + 1, " \"", field, "\": ");
    };
    const absl::StatusOr<lm::TaskSplit> split = task.SplitOf(p.prompt);
    if (!split.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where("prompt"), "not a ", task.spec().id,
                                                     " prompt: ", split.status().message()));
    }
    if (train_only && *split != lm::TaskSplit::kTrain) {
      return absl::InvalidArgumentError(absl::StrCat(
          where("prompt"), "\"", p.prompt, "\" is a held-out prompt of ", task.spec().id,
          "; DPO trains on training prompts only (held-out prompts are what it is evaluated on)"));
    }
    absl::StatusOr<std::vector<int>> prompt = tokenizer.EncodePrompt(p.prompt);
    if (!prompt.ok()) return absl::InvalidArgumentError(where("prompt") + std::string(prompt.status().message()));
    out[i].prompt = *std::move(prompt);
    const bool swap = true_order && p.noisy;
    for (const auto& [text, ids, field] :
         {std::tuple{&p.chosen, swap ? &out[i].rejected : &out[i].chosen, "chosen"},
          std::tuple{&p.rejected, swap ? &out[i].chosen : &out[i].rejected, "rejected"}}) {
      absl::StatusOr<std::vector<int>> encoded = tokenizer.Encode(*text);
      if (!encoded.ok()) return absl::InvalidArgumentError(where(field) + std::string(encoded.status().message()));
      *ids = *std::move(encoded);
      ids->push_back(lm::Tokenizer::kEos);
    }
  }
  return out;
}

// What a run is measured on, before and after training.
struct EvalContext {
  lm::SeqPolicyImpl* policy = nullptr;
  lm::SeqPolicyImpl* reference = nullptr;
  const lm::Task* task = nullptr;
  const lm::Tokenizer* tokenizer = nullptr;
  learner_lm::DpoOptions options;
  std::vector<learner_lm::TokenizedPair> pairs;       // training pairs
  std::vector<learner_lm::TokenizedPair> eval_pairs;  // --eval-pairs, as labelled
  std::vector<learner_lm::TokenizedPair> eval_truth;  // the same, noisy labels undone
  int eval_prompts = 0;
  uint64_t eval_seed = 0;
  int max_new_tokens = 0;  // of the held-out samples (room for padding)
  lm::StyleTerm style;     // the hidden true score (learner/lm/preferences.h)
  lm::RewardMode true_reward = lm::RewardMode::kExactMatch;
};

// Means over the held-out samples of the hidden true score and its two
// parts; a sample that does not decode scores 0.
struct TrueScores {
  double score = 0;
  double rule = 0;
  double style = 0;
};

struct Snapshot {
  learner_lm::DpoPairMetrics pairs;
  std::optional<learner_lm::DpoPairMetrics> eval_pairs, eval_truth;
  learner_lm::PolicySampleEval samples;
  TrueScores truth;
  lm::TaskEvalResult greedy;
};

absl::StatusOr<Snapshot> Measure(const EvalContext& c, const learner_lm::DpoPairMetrics* known) {
  Snapshot s;
  const learner_lm::DpoOptions& o = c.options;
  if (known != nullptr) {
    s.pairs = *known;
  } else {
    PROXIMA_ASSIGN_OR_RETURN(s.pairs, learner_lm::EvaluatePairs(*c.policy, *c.reference, c.pairs,
                                                                o.beta, o.batch_size));
  }
  if (!c.eval_pairs.empty()) {
    PROXIMA_ASSIGN_OR_RETURN(s.eval_pairs,
                             learner_lm::EvaluatePairs(*c.policy, *c.reference, c.eval_pairs,
                                                       o.beta, o.batch_size));
    PROXIMA_ASSIGN_OR_RETURN(s.eval_truth,
                             learner_lm::EvaluatePairs(*c.policy, *c.reference, c.eval_truth,
                                                       o.beta, o.batch_size));
  }
  PROXIMA_ASSIGN_OR_RETURN(s.samples, learner_lm::EvaluatePolicySamples(
                                          *c.policy, *c.reference, *c.task, *c.tokenizer,
                                          c.eval_prompts, c.eval_seed, c.max_new_tokens));
  for (const learner_lm::PolicySample& sample : s.samples.samples) {
    if (!sample.decoded) continue;
    PROXIMA_ASSIGN_OR_RETURN(const double score,
                             lm::TrueScore(*c.task, sample.prompt, sample.completion, c.style,
                                           c.true_reward));
    const double style = lm::StyleScore(c.style, sample.completion);
    s.truth.score += score / c.eval_prompts;
    s.truth.style += style / c.eval_prompts;
    s.truth.rule += (score - style) / c.eval_prompts;
  }
  PROXIMA_ASSIGN_OR_RETURN(s.greedy, lm::EvaluateTask(*c.policy, *c.task, *c.tokenizer,
                                                      lm::TaskSplit::kHeldOut, c.eval_prompts,
                                                      c.eval_seed));
  return s;
}

std::string Describe(const char* when, const Snapshot& s) {
  std::string eval;
  if (s.eval_pairs.has_value()) {
    eval = absl::StrFormat(" | eval pairs accuracy %.1f%% (labels), %.1f%% (true order)",
                           100.0 * s.eval_pairs->accuracy, 100.0 * s.eval_truth->accuracy);
  }
  return absl::StrFormat(
      "%s: pairs loss %.4f, accuracy %.1f%%, margin %+.3f%s | held-out samples (T = 1, %d "
      "prompts): true score %.3f (rule %.3f + style %.3f), exact %.3f, KL to reference %.3f "
      "nats/sequence, length %.2f | greedy exact %.1f%%\n",
      when, s.pairs.loss, 100.0 * s.pairs.accuracy, s.pairs.reward_margin, eval,
      s.samples.prompts, s.truth.score, s.truth.rule, s.truth.style, s.samples.mean_reward,
      s.samples.seq_kl_to_ref, s.samples.mean_completion_length, 100.0 * s.greedy.accuracy);
}

nlohmann::ordered_json PairJson(const learner_lm::DpoPairMetrics& m) {
  return {{"pairs", m.pairs},
          {"loss", m.loss},
          {"accuracy", m.accuracy},
          {"reward_margin", m.reward_margin},
          {"chosen_reward", m.chosen_reward},
          {"rejected_reward", m.rejected_reward}};
}

nlohmann::ordered_json SnapshotJson(const Snapshot& s) {
  nlohmann::ordered_json j;
  j["pairs"] = PairJson(s.pairs);
  if (s.eval_pairs.has_value()) {
    j["eval_pairs"] = PairJson(*s.eval_pairs);
    j["eval_pairs_true_order"] = PairJson(*s.eval_truth);
  }
  j["held_out_samples"] = {{"prompts", s.samples.prompts},
                           {"temperature", 1.0},
                           {"mean_true_score", s.truth.score},
                           {"mean_true_rule", s.truth.rule},
                           {"mean_true_style", s.truth.style},
                           {"mean_reward", s.samples.mean_reward},
                           {"seq_kl_to_ref", s.samples.seq_kl_to_ref},
                           {"mean_completion_length", s.samples.mean_completion_length}};
  j["held_out_greedy"] = {{"prompts", s.greedy.prompts},
                          {"accuracy", s.greedy.accuracy},
                          {"mean_partial_credit", s.greedy.mean_partial_credit}};
  return j;
}

}  // namespace

absl::Status RunLmDpo(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                      int* exit_code) {
  std::string init, pairs_file, eval_pairs_file, run_dir, style = "length", reward = "exact";
  double style_weight = 0.1;
  int style_cap = 4;
  int threads = 1, eval_prompts = 500;
  learner_lm::DpoOptions o;
  const std::vector<LmFlag> flags = {
      {"init", LmString("init", &init)},
      {"pairs", LmString("pairs", &pairs_file)},
      {"eval-pairs", LmString("eval-pairs", &eval_pairs_file)},
      {"beta", LmNumber("beta", &o.beta)},
      {"steps", LmNumber("steps", &o.steps)},
      {"lr", LmNumber("lr", &o.learning_rate)},
      {"batch-size", LmNumber("batch-size", &o.batch_size)},
      {"eval-prompts", LmNumber("eval-prompts", &eval_prompts)},
      {"reward", LmString("reward", &reward)},
      {"style", LmString("style", &style)},
      {"style-weight", LmNumber("style-weight", &style_weight)},
      {"style-cap", LmNumber("style-cap", &style_cap)},
      {"seed", LmNumber("seed", &o.seed)},
      {"threads", LmNumber("threads", &threads)},
      {"run-dir", LmString("run-dir", &run_dir)},
  };
  PROXIMA_RETURN_IF_ERROR(ParseLmFlags(args, flags));
  if (init.empty()) return absl::InvalidArgumentError("`proxima lm dpo` needs --init CKPT");
  if (pairs_file.empty()) return absl::InvalidArgumentError("`proxima lm dpo` needs --pairs FILE");
  if (!(o.beta > 0)) return absl::InvalidArgumentError(absl::StrCat("--beta=", o.beta, " must be > 0"));
  if (o.steps < 1) return absl::InvalidArgumentError(absl::StrCat("--steps=", o.steps, " must be >= 1"));
  if (!(o.learning_rate > 0)) return absl::InvalidArgumentError(absl::StrCat("--lr=", o.learning_rate, " must be > 0"));
  if (o.batch_size < 1) return absl::InvalidArgumentError(absl::StrCat("--batch-size=", o.batch_size, " must be >= 1"));
  if (eval_prompts < 1) return absl::InvalidArgumentError(absl::StrCat("--eval-prompts=", eval_prompts, " must be >= 1"));
  if (threads < 1) return absl::InvalidArgumentError(absl::StrCat("--threads=", threads, " must be >= 1"));
  PROXIMA_RETURN_IF_ERROR(o.Validate());
  PROXIMA_ASSIGN_OR_RETURN(const lm::StyleTerm style_term,
                           lm::StyleTerm::Parse(style, style_weight, style_cap));
  PROXIMA_ASSIGN_OR_RETURN(const lm::RewardMode true_reward, lm::ParseRewardMode(reward));

  ConfigureCpuThreads(threads);
  PROXIMA_ASSIGN_OR_RETURN(lm::LoadedSeqCheckpoint policy, lm::LoadSeqCheckpoint(init));
  PROXIMA_ASSIGN_OR_RETURN(lm::LoadedSeqCheckpoint reference, lm::LoadSeqCheckpoint(init));
  PROXIMA_ASSIGN_OR_RETURN(const std::unique_ptr<lm::Task> task,
                           lm::MakeTask(policy.info.task_id));
  PROXIMA_ASSIGN_OR_RETURN(const std::vector<lm::PreferencePair> raw,
                           lm::ReadPreferences(pairs_file));
  if (raw.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(pairs_file, " holds no preference pair"));
  }
  EvalContext c;
  c.policy = policy.model.get();
  c.reference = reference.model.get();
  c.task = task.get();
  c.tokenizer = policy.tokenizer.get();
  c.options = o;
  c.eval_prompts = eval_prompts;
  // The prompts the checkpoint's SFT run was measured on, whatever --seed
  // (as the sequence learner evaluates): every method compares on them.
  c.eval_seed = lm::HeldOutEvalSeed(policy.info.sft.seed);
  c.style = style_term;
  c.true_reward = true_reward;
  // As `proxima lm preferences` samples: room for the padding a style pays.
  c.max_new_tokens = task->spec().max_answer_chars + 1 +
                     (style_term.kind == lm::StyleKind::kPadding ? style_term.cap : 0);
  PROXIMA_ASSIGN_OR_RETURN(c.pairs, TokenizePairs(raw, *task, *policy.tokenizer, pairs_file,
                                                  /*train_only=*/true, /*true_order=*/false));
  const std::vector<learner_lm::TokenizedPair>& pairs = c.pairs;
  if (!eval_pairs_file.empty()) {
    PROXIMA_ASSIGN_OR_RETURN(const std::vector<lm::PreferencePair> held,
                             lm::ReadPreferences(eval_pairs_file));
    if (held.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(eval_pairs_file, " holds no preference pair"));
    }
    PROXIMA_ASSIGN_OR_RETURN(c.eval_pairs, TokenizePairs(held, *task, *policy.tokenizer,
                                                         eval_pairs_file, false, false));
    PROXIMA_ASSIGN_OR_RETURN(c.eval_truth, TokenizePairs(held, *task, *policy.tokenizer,
                                                         eval_pairs_file, false, true));
  }
  int noisy = 0;
  for (const lm::PreferencePair& p : raw) noisy += p.noisy ? 1 : 0;

  if (!run_dir.empty()) PROXIMA_RETURN_IF_ERROR(MakeDirs(run_dir));
  std::string csv = kCsvHeader;  // written with the summary at the end
  *exit_code = 1;  // from here on a failure is a runtime one
  const std::string true_score =
      absl::StrFormat("%s reward + style %s (weight %g, cap %d)", lm::RewardModeName(true_reward),
                      style_term.Name(), style_term.weight, style_term.cap);
  out << absl::StrFormat(
      "proxima lm dpo: %s from %s (SFT held-out exact %.1f%%); %d pairs from %s (%d marked "
      "noisy); beta %g, %d steps of %d pairs, lr %g; true score = %s\n",
      task->spec().id, policy.path, 100.0 * policy.info.sft.held_out_accuracy, pairs.size(),
      pairs_file, noisy, o.beta, o.steps, o.batch_size, o.learning_rate, true_score);
  absl::StatusOr<Snapshot> before = Measure(c, nullptr);
  if (!before.ok()) {
    err << "proxima lm dpo: " << before.status().message() << "\n";
    return absl::OkStatus();
  }
  out << Describe("before", *before);
  const int print_every = std::max(1, o.steps / 20);
  auto report = [&](const learner_lm::DpoProgress& p) {
    const learner_lm::DpoPairMetrics& b = p.batch;
    if (p.step % print_every == 0 || p.step == o.steps) {
      out << absl::StrFormat(
                 "step %5d  %6.1f s  loss %.4f  accuracy %.3f  margin %+.3f  chosen %+.3f  "
                 "rejected %+.3f  grad %.3f",
                 p.step, p.seconds, b.loss, b.accuracy, b.reward_margin, b.chosen_reward,
                 b.rejected_reward, p.grad_norm)
          << std::endl;
    }
    absl::StrAppendFormat(&csv, "%d,%.3f,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g\n", p.step, p.seconds,
                          b.loss, b.accuracy, b.reward_margin, b.chosen_reward, b.rejected_reward,
                          p.grad_norm);
  };
  absl::StatusOr<learner_lm::DpoResult> result =
      learner_lm::RunDpo(*policy.model, *reference.model, pairs, o, report);
  if (!result.ok()) {
    err << "proxima lm dpo: " << result.status().message() << "\n";
    return absl::OkStatus();
  }
  absl::StatusOr<Snapshot> after = Measure(c, &result->final);
  if (!after.ok()) {
    err << "proxima lm dpo: " << after.status().message() << "\n";
    return absl::OkStatus();
  }
  out << Describe("after", *after);
  out << absl::StrFormat("done: %d steps in %.1f s\n", result->steps, result->seconds);
  if (!run_dir.empty()) {
    nlohmann::ordered_json summary;
    summary["method"] = "dpo";
    summary["task"] = task->spec().id;
    summary["init"] = policy.path;
    summary["pairs_file"] = pairs_file;
    if (!eval_pairs_file.empty()) summary["eval_pairs_file"] = eval_pairs_file;
    summary["pairs"] = pairs.size();
    summary["noisy_pairs"] = noisy;
    summary["beta"] = o.beta;
    summary["steps"] = o.steps;
    summary["batch_size"] = o.batch_size;
    summary["learning_rate"] = o.learning_rate;
    summary["true_score"] = true_score;
    summary["seconds"] = result->seconds;
    summary["before"] = SnapshotJson(*before);
    summary["after"] = SnapshotJson(*after);
    for (const auto& [name, text] : {std::pair{"metrics.csv", csv},
                                     std::pair{"summary.json", summary.dump(2) + "\n"}}) {
      if (absl::Status s = WriteFileAtomic(absl::StrCat(run_dir, "/", name), text); !s.ok()) {
        err << "proxima lm dpo: " << s.message() << "\n";
        return absl::OkStatus();
      }
    }
    lm::SeqCheckpointInfo info = policy.info;
    info.policy_version = static_cast<uint64_t>(o.steps);
    absl::StatusOr<std::string> saved =
        lm::SaveSeqCheckpoint(run_dir + "/checkpoints", *policy.model, info, "dpo");
    if (!saved.ok()) {
      err << "proxima lm dpo: cannot write the checkpoint: " << saved.status().message() << "\n";
      return absl::OkStatus();
    }
    out << "checkpoint: " << *saved << "\n";
  }
  *exit_code = 0;
  return absl::OkStatus();
}

}  // namespace proxima
