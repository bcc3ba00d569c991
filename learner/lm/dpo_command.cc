#include "learner/lm/dpo_command.h"

#include <algorithm>
#include <memory>
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
#include "learner/lm/seq_checkpoint.h"
#include "learner/lm/sft.h"
#include "nlohmann/json.hpp"

namespace proxima {

const char kLmDpoUsage[] =
    "       proxima lm dpo --init CKPT --pairs FILE [--beta B] [--steps N] [--lr X]\n"
    "                      [--batch-size N] [--eval-prompts N] [--seed S] [--threads N]\n"
    "                      [--run-dir DIR]\n";

namespace {

constexpr char kCsvHeader[] =
    "step,seconds,loss,accuracy,reward_margin,chosen_reward,rejected_reward,grad_norm\n";

// The pairs as the model reads them; InvalidArgument naming the pair (its
// 1-based place in FILE) when a text does not tokenize or its prompt is not a
// training prompt of `task`.
absl::StatusOr<std::vector<learner_lm::TokenizedPair>> TokenizePairs(
    const std::vector<lm::PreferencePair>& pairs, const lm::Task& task,
    const lm::Tokenizer& tokenizer, const std::string& file) {
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
    if (*split != lm::TaskSplit::kTrain) {
      return absl::InvalidArgumentError(absl::StrCat(
          where("prompt"), "\"", p.prompt, "\" is a held-out prompt of ", task.spec().id,
          "; DPO trains on training prompts only (held-out prompts are what it is evaluated on)"));
    }
    absl::StatusOr<std::vector<int>> prompt = tokenizer.EncodePrompt(p.prompt);
    if (!prompt.ok()) return absl::InvalidArgumentError(where("prompt") + std::string(prompt.status().message()));
    out[i].prompt = *std::move(prompt);
    for (const auto& [text, ids, field] :
         {std::tuple{&p.chosen, &out[i].chosen, "chosen"},
          std::tuple{&p.rejected, &out[i].rejected, "rejected"}}) {
      absl::StatusOr<std::vector<int>> encoded = tokenizer.Encode(*text);
      if (!encoded.ok()) return absl::InvalidArgumentError(where(field) + std::string(encoded.status().message()));
      *ids = *std::move(encoded);
      ids->push_back(lm::Tokenizer::kEos);
    }
  }
  return out;
}

struct Snapshot {
  learner_lm::DpoPairMetrics pairs;
  learner_lm::PolicySampleEval samples;
  lm::TaskEvalResult greedy;
};

absl::StatusOr<Snapshot> Measure(lm::SeqPolicyImpl& policy, lm::SeqPolicyImpl& reference,
                                 const std::vector<learner_lm::TokenizedPair>& pairs,
                                 const learner_lm::DpoOptions& o, const lm::Task& task,
                                 const lm::Tokenizer& tokenizer, int eval_prompts,
                                 uint64_t eval_seed, const learner_lm::DpoPairMetrics* known) {
  Snapshot s;
  if (known != nullptr) {
    s.pairs = *known;
  } else {
    PROXIMA_ASSIGN_OR_RETURN(s.pairs, learner_lm::EvaluatePairs(policy, reference, pairs, o.beta,
                                                                o.batch_size));
  }
  PROXIMA_ASSIGN_OR_RETURN(s.samples, learner_lm::EvaluatePolicySamples(
                                          policy, reference, task, tokenizer, eval_prompts,
                                          eval_seed));
  PROXIMA_ASSIGN_OR_RETURN(s.greedy, lm::EvaluateTask(policy, task, tokenizer,
                                                      lm::TaskSplit::kHeldOut, eval_prompts,
                                                      eval_seed));
  return s;
}

std::string Describe(const char* when, const Snapshot& s) {
  return absl::StrFormat(
      "%s: pairs loss %.4f, accuracy %.1f%%, margin %+.3f | held-out samples (T = 1, %d "
      "prompts): reward %.3f, KL to reference %.3f nats/sequence, length %.2f | greedy exact "
      "%.1f%%\n",
      when, s.pairs.loss, 100.0 * s.pairs.accuracy, s.pairs.reward_margin, s.samples.prompts,
      s.samples.mean_reward, s.samples.seq_kl_to_ref, s.samples.mean_completion_length,
      100.0 * s.greedy.accuracy);
}

nlohmann::ordered_json SnapshotJson(const Snapshot& s) {
  nlohmann::ordered_json j;
  j["pairs"] = {{"loss", s.pairs.loss},
                {"accuracy", s.pairs.accuracy},
                {"reward_margin", s.pairs.reward_margin},
                {"chosen_reward", s.pairs.chosen_reward},
                {"rejected_reward", s.pairs.rejected_reward}};
  j["held_out_samples"] = {{"prompts", s.samples.prompts},
                           {"temperature", 1.0},
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
  std::string init, pairs_file, run_dir;
  int threads = 1, eval_prompts = 500;
  learner_lm::DpoOptions o;
  const std::vector<LmFlag> flags = {
      {"init", LmString("init", &init)},
      {"pairs", LmString("pairs", &pairs_file)},
      {"beta", LmNumber("beta", &o.beta)},
      {"steps", LmNumber("steps", &o.steps)},
      {"lr", LmNumber("lr", &o.learning_rate)},
      {"batch-size", LmNumber("batch-size", &o.batch_size)},
      {"eval-prompts", LmNumber("eval-prompts", &eval_prompts)},
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
  PROXIMA_ASSIGN_OR_RETURN(const std::vector<learner_lm::TokenizedPair> pairs,
                           TokenizePairs(raw, *task, *policy.tokenizer, pairs_file));
  int noisy = 0;
  for (const lm::PreferencePair& p : raw) noisy += p.noisy ? 1 : 0;

  if (!run_dir.empty()) PROXIMA_RETURN_IF_ERROR(MakeDirs(run_dir));
  std::string csv = kCsvHeader;  // written with the summary at the end
  *exit_code = 1;  // from here on a failure is a runtime one
  out << absl::StrFormat(
      "proxima lm dpo: %s from %s (SFT held-out exact %.1f%%); %d pairs from %s (%d marked "
      "noisy); beta %g, %d steps of %d pairs, lr %g\n",
      task->spec().id, policy.path, 100.0 * policy.info.sft.held_out_accuracy, pairs.size(),
      pairs_file, noisy, o.beta, o.steps, o.batch_size, o.learning_rate);
  const uint64_t eval_seed = lm::HeldOutEvalSeed(o.seed);  // as `proxima lm rl --seed`
  absl::StatusOr<Snapshot> before = Measure(*policy.model, *reference.model, pairs, o, *task,
                                            *policy.tokenizer, eval_prompts, eval_seed, nullptr);
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
  absl::StatusOr<Snapshot> after = Measure(*policy.model, *reference.model, pairs, o, *task,
                                           *policy.tokenizer, eval_prompts, eval_seed,
                                           &result->final);
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
    summary["pairs"] = pairs.size();
    summary["noisy_pairs"] = noisy;
    summary["beta"] = o.beta;
    summary["steps"] = o.steps;
    summary["batch_size"] = o.batch_size;
    summary["learning_rate"] = o.learning_rate;
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
