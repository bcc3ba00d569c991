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

struct SftCommandConfig {
  std::string task = "lm/Addition-v0";
  lm::SftOptions sft;
  lm::SeqPolicyConfig model;
  int threads = 1;
  std::string run_dir;    // "": no checkpoint
  std::string tokenizer;  // a SentencePiece model file; "": the character tokenizer
};

absl::Status SetString(const char* name, absl::string_view value, std::string* out) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat("--", name, " is empty"));
  *out = std::string(value);
  return absl::OkStatus();
}

struct FlagSpec {
  const char* name;
  std::function<absl::Status(absl::string_view)> set;
};

template <typename T>
std::function<absl::Status(absl::string_view)> Number(const char* name, T* out) {
  return [name, out](absl::string_view text) -> absl::Status {
    bool ok = false;
    if constexpr (std::is_floating_point_v<T>) {
      ok = absl::SimpleAtod(text, out);
    } else {
      ok = absl::SimpleAtoi(text, out);
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, "=", text, " is not a valid number"));
    }
    return absl::OkStatus();
  };
}

// --name=value or --name value, for the flags in `specs`.
absl::Status ParseLmFlags(const std::vector<std::string>& args,
                          const std::vector<FlagSpec>& specs) {
  std::vector<std::string> names;
  for (const FlagSpec& s : specs) names.push_back(s.name);
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg.substr(0, 2) != "--") {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg, "\""));
    }
    arg.remove_prefix(2);
    std::string name(arg.substr(0, arg.find('=')));
    std::string value;
    if (arg.find('=') != absl::string_view::npos) {
      value = std::string(arg.substr(arg.find('=') + 1));
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& s : specs) {
      if (name == s.name) spec = &s;
    }
    if (spec == nullptr) {
      const std::string closest = ClosestName(name, names);
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name,
                       closest.empty() ? "" : absl::StrCat("; did you mean --", closest, "?")));
    }
    PROXIMA_RETURN_IF_ERROR(spec->set(value));
  }
  return absl::OkStatus();
}

int UsageError(const absl::Status& s, std::ostream& err) {
  err << "proxima lm: " << s.message() << "\n" << kUsage;
  return 2;
}

int SftCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  SftCommandConfig c;
  const std::vector<FlagSpec> specs = {
      {"task",
       [&c](absl::string_view v) {
         c.task = std::string(v);
         return absl::OkStatus();
       }},
      {"steps", Number("steps", &c.sft.steps)},
      {"batch-size", Number("batch-size", &c.sft.batch_size)},
      {"lr", Number("lr", &c.sft.learning_rate)},
      {"warmup", Number("warmup", &c.sft.warmup_steps)},
      {"eval-every", Number("eval-every", &c.sft.eval_every)},
      {"eval-prompts", Number("eval-prompts", &c.sft.eval_prompts)},
      {"layers", Number("layers", &c.model.num_layers)},
      {"width", Number("width", &c.model.d_model)},
      {"heads", Number("heads", &c.model.num_heads)},
      {"max-seq-len", Number("max-seq-len", &c.model.max_seq_len)},
      {"seed", Number("seed", &c.sft.seed)},
      {"threads", Number("threads", &c.threads)},
      {"run-dir", [&c](absl::string_view v) { return SetString("run-dir", v, &c.run_dir); }},
      {"tokenizer",
       [&c](absl::string_view v) { return SetString("tokenizer", v, &c.tokenizer); }},
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
  const std::vector<FlagSpec> specs = {
      {"corpus", [&corpus](absl::string_view v) { return SetString("corpus", v, &corpus); }},
      {"vocab-size", Number("vocab-size", &vocab_size)},
      {"out", [&model_path](absl::string_view v) { return SetString("out", v, &model_path); }},
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
      out << kUsage;
      return 0;
    }
  }
  if (sub == "--help" || sub == "-h" || sub == "help") {
    out << kUsage;
    return 0;
  }
  if (sub == "sft") return SftCommand(args, out, err);
  if (sub == "tokenizer") return TokenizerCommand(args, out, err);
  if (sub == "tasks") {
    if (!args.empty()) {
      return UsageError(absl::InvalidArgumentError("`proxima lm tasks` takes no arguments"), err);
    }
    return TasksCommand(out);
  }
  const std::string closest = ClosestName(sub, {"sft", "tokenizer", "tasks"});
  return UsageError(absl::InvalidArgumentError(absl::StrCat(
                        "unknown subcommand \"", sub, "\"",
                        closest.empty() ? "" : absl::StrCat("; did you mean \"", closest, "\"?"))),
                    err);
}

}  // namespace proxima
