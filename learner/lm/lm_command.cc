#include "learner/lm/lm_command.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/flags.h"
#include "common/file_util.h"
#include "common/lm/char_tokenizer.h"
#include "common/lm/sentencepiece_tokenizer.h"
#include "common/lm/seq_policy.h"
#include "common/lm/task_registry.h"
#include "common/policy/cpu_threads.h"
#include "common/status_macros.h"
#include "learner/lm/dpo_command.h"
#include "learner/lm/lm_flags.h"
#include "learner/lm/preference_command.h"
#include "learner/lm/rl_command.h"
#include "learner/lm/seq_checkpoint.h"
#include "learner/lm/sft.h"

namespace proxima {
namespace {

constexpr char kUsage[] =
    "usage: proxima lm sft [--task ID] [--steps N] [--batch-size N] [--lr X] [--warmup N]\n"
    "                      [--eval-every N] [--eval-prompts N] [--layers N] [--width N]\n"
    "                      [--heads N] [--max-seq-len N] [--seed S] [--threads N]\n"
    "                      [--tokenizer MODEL] [--run-dir DIR]\n"
    "       proxima lm tokenizer --corpus FILE --vocab-size N --out MODEL\n"
    "       proxima lm tasks\n";

std::string Usage() { return std::string(kUsage) + kLmRlUsage + kLmDpoUsage + kLmPreferenceUsage; }

struct SftCommandConfig {
  std::string task = "lm/Addition-v0";
  lm::SftOptions sft;
  lm::SeqPolicyConfig model;
  int threads = 1;
  std::string run_dir;    // "": no checkpoint
  std::string tokenizer;  // a SentencePiece model file; "": the character tokenizer
};

int UsageError(const absl::Status& s, std::ostream& err) {
  err << "proxima lm: " << s.message() << "\n" << Usage();
  return 2;
}

int SftCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  SftCommandConfig c;
  const std::vector<LmFlag> specs = {
      {"task",
       [&c](absl::string_view v) {
         c.task = std::string(v);
         return absl::OkStatus();
       }},
      {"steps", LmNumber("steps", &c.sft.steps)},
      {"batch-size", LmNumber("batch-size", &c.sft.batch_size)},
      {"lr", LmNumber("lr", &c.sft.learning_rate)},
      {"warmup", LmNumber("warmup", &c.sft.warmup_steps)},
      {"eval-every", LmNumber("eval-every", &c.sft.eval_every)},
      {"eval-prompts", LmNumber("eval-prompts", &c.sft.eval_prompts)},
      {"layers", LmNumber("layers", &c.model.num_layers)},
      {"width", LmNumber("width", &c.model.d_model)},
      {"heads", LmNumber("heads", &c.model.num_heads)},
      {"max-seq-len", LmNumber("max-seq-len", &c.model.max_seq_len)},
      {"seed", LmNumber("seed", &c.sft.seed)},
      {"threads", LmNumber("threads", &c.threads)},
      {"run-dir", LmString("run-dir", &c.run_dir)},
      {"tokenizer",
       LmString("tokenizer", &c.tokenizer)},
  };
  if (absl::Status s = ParseLmFlags(args, specs); !s.ok()) return UsageError(s, err);
  if (c.threads < 1) {
    return UsageError(
        absl::InvalidArgumentError(absl::StrCat("--threads=", c.threads, " must be >= 1")), err);
  }
  absl::StatusOr<std::unique_ptr<lm::Task>> task = lm::MakeTask(c.task);
  if (!task.ok()) return UsageError(task.status(), err);
  std::unique_ptr<lm::Tokenizer> tokenizer = std::make_unique<lm::CharTokenizer>();
  if (!c.tokenizer.empty()) {
    absl::StatusOr<std::unique_ptr<lm::SentencePieceTokenizer>> spm =
        lm::SentencePieceTokenizer::FromFile(c.tokenizer);
    if (!spm.ok()) return UsageError(spm.status(), err);
    tokenizer = *std::move(spm);
  }
  c.model.vocab_size = tokenizer->vocab_size();
  c.model.d_ff = 4 * c.model.d_model;
  if (absl::Status s = c.model.Validate(); !s.ok()) return UsageError(s, err);
  if (absl::Status s = c.sft.Validate(); !s.ok()) return UsageError(s, err);

  ConfigureCpuThreads(c.threads);
  lm::SeqPolicy model(c.model, c.sft.seed);
  out << absl::StrFormat("proxima lm sft: %s; model %s (%d parameters); %d steps of %d\n", c.task,
                         c.model.DebugString(), model->NumParameters(), c.sft.steps,
                         c.sft.batch_size);
  auto report = [&out](const lm::SftProgress& p) {
    out << absl::StrFormat("step %6d  loss %.4f  lr %.2e", p.step, p.loss, p.learning_rate);
    if (p.held_out.has_value()) {
      out << absl::StrFormat("  held-out exact %.1f%% (%d/%d), partial credit %.3f",
                             100.0 * p.held_out->accuracy, p.held_out->exact, p.held_out->prompts,
                             p.held_out->mean_partial_credit);
    }
    out << std::endl;
  };
  absl::StatusOr<lm::SftResult> result = lm::RunSft(*model, **task, *tokenizer, c.sft, report);
  if (!result.ok()) {
    if (result.status().code() == absl::StatusCode::kInvalidArgument) {
      return UsageError(result.status(), err);
    }
    err << "proxima lm sft: " << result.status().message() << "\n";
    return 1;
  }
  out << absl::StrFormat("done: %d steps in %.1f s; held-out exact match %.1f%% (%d/%d) on %s\n",
                         result->steps, result->seconds, 100.0 * result->held_out.accuracy,
                         result->held_out.exact, result->held_out.prompts, c.task);
  if (c.run_dir.empty()) return 0;
  lm::SeqCheckpointInfo info;
  info.config = c.model;
  info.tokenizer = tokenizer->spec();
  info.task_id = c.task;
  info.policy_version = 0;  // the start of an LM run
  info.sft.steps = result->steps;
  info.sft.eval_prompts = result->held_out.prompts;
  info.sft.held_out_accuracy = result->held_out.accuracy;
  info.sft.mean_partial_credit = result->held_out.mean_partial_credit;
  info.sft.seed = c.sft.seed;
  absl::StatusOr<std::string> saved = lm::SaveSeqCheckpoint(
      absl::StrCat(c.run_dir, "/checkpoints"), *model, info, lm::kSftCheckpointTag);
  if (!saved.ok()) {
    err << "proxima lm sft: cannot write the checkpoint: " << saved.status().message() << "\n";
    return 1;
  }
  out << "checkpoint: " << *saved << "\n";
  return 0;
}

int TokenizerCommand(const std::vector<std::string>& args, std::ostream& out,
                     std::ostream& err) {
  std::string corpus, model_path;
  int vocab_size = 0;
  const std::vector<LmFlag> specs = {
      {"corpus", LmString("corpus", &corpus)},
      {"vocab-size", LmNumber("vocab-size", &vocab_size)},
      {"out", LmString("out", &model_path)},
  };
  if (absl::Status s = ParseLmFlags(args, specs); !s.ok()) return UsageError(s, err);
  if (corpus.empty() || model_path.empty() || vocab_size == 0) {
    return UsageError(absl::InvalidArgumentError("`proxima lm tokenizer` needs --corpus FILE, "
                                                 "--vocab-size N and --out MODEL"),
                      err);
  }
  absl::StatusOr<std::string> model = lm::TrainSentencePieceModel(corpus, vocab_size);
  if (!model.ok()) return UsageError(model.status(), err);
  if (absl::Status s = WriteFileAtomic(model_path, *model); !s.ok()) {
    err << "proxima lm tokenizer: " << s.message() << "\n";
    return 1;
  }
  out << absl::StrFormat("wrote %s (%d bytes): SentencePiece unigram model of %d pieces "
                         "(<pad> 0, <bos> 1, <eos> 2, <unk> 3) trained on %s\n",
                         model_path, model->size(), vocab_size, corpus);
  return 0;
}

int TasksCommand(std::ostream& out) {
  for (const std::string& id : lm::TaskIds()) {
    const std::unique_ptr<lm::Task> task = lm::MakeTask(id).value();
    out << absl::StrFormat("%-16s %s (%.0f%% held out)\n", id, task->spec().description,
                           100.0 * task->spec().held_out_fraction);
  }
  return 0;
}

}  // namespace

int RunLmCommand(int argc, char** argv) { return RunLmCommand(argc, argv, std::cout, std::cerr); }

int RunLmCommand(int argc, char** argv, std::ostream& out, std::ostream& err) {
  std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  if (args.empty()) return UsageError(absl::InvalidArgumentError("no subcommand"), err);
  const std::string sub = args.front();
  args.erase(args.begin());
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      out << Usage();
      return 0;
    }
  }
  if (sub == "--help" || sub == "-h" || sub == "help") {
    out << Usage();
    return 0;
  }
  if (sub == "sft") return SftCommand(args, out, err);
  if (sub == "tokenizer") return TokenizerCommand(args, out, err);
  if (sub == "rl") {
    int code = 2;
    if (absl::Status s = RunLmRl(args, out, err, &code); !s.ok()) return UsageError(s, err);
    return code;
  }
  if (sub == "dpo") {
    int code = 2;
    if (absl::Status s = RunLmDpo(args, out, err, &code); !s.ok()) return UsageError(s, err);
    return code;
  }
  if (sub == "preferences" || sub == "reward-model") {
    int code = 2;
    const absl::Status s =
        (sub == "preferences" ? RunLmPreferences : RunLmRewardModel)(args, out, err, &code);
    return s.ok() ? code : UsageError(s, err);
  }
  if (sub == "tasks") {
    if (!args.empty()) {
      return UsageError(absl::InvalidArgumentError("`proxima lm tasks` takes no arguments"), err);
    }
    return TasksCommand(out);
  }
  const std::string closest =
      ClosestName(sub, {"sft", "rl", "dpo", "tokenizer", "tasks", "preferences", "reward-model"});
  return UsageError(absl::InvalidArgumentError(absl::StrCat(
                        "unknown subcommand \"", sub, "\"",
                        closest.empty() ? "" : absl::StrCat("; did you mean \"", closest, "\"?"))),
                    err);
}

}  // namespace proxima
