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
#include "common/lm/char_tokenizer.h"
#include "common/lm/seq_policy.h"
#include "common/lm/task_registry.h"
#include "common/policy/cpu_threads.h"
#include "common/status_macros.h"
#include "learner/lm/sft.h"

namespace proxima {
namespace {

constexpr char kUsage[] =
    "usage: proxima lm sft [--task ID] [--steps N] [--batch-size N] [--lr X] [--warmup N]\n"
    "                      [--eval-every N] [--eval-prompts N] [--layers N] [--width N]\n"
    "                      [--heads N] [--max-seq-len N] [--seed S] [--threads N]\n"
    "       proxima lm tasks\n";

struct SftCommandConfig {
  std::string task = "lm/Addition-v0";
  lm::SftOptions sft;
  lm::SeqPolicyConfig model;
  int threads = 1;
};

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
  };
  if (absl::Status s = ParseLmFlags(args, specs); !s.ok()) return UsageError(s, err);
  if (c.threads < 1) {
    return UsageError(
        absl::InvalidArgumentError(absl::StrCat("--threads=", c.threads, " must be >= 1")), err);
  }
  absl::StatusOr<std::unique_ptr<lm::Task>> task = lm::MakeTask(c.task);
  if (!task.ok()) return UsageError(task.status(), err);
  const lm::CharTokenizer tokenizer;
  c.model.vocab_size = tokenizer.vocab_size();
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
  absl::StatusOr<lm::SftResult> result = lm::RunSft(*model, **task, tokenizer, c.sft, report);
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
  if (sub == "tasks") {
    if (!args.empty()) {
      return UsageError(absl::InvalidArgumentError("`proxima lm tasks` takes no arguments"), err);
    }
    return TasksCommand(out);
  }
  const std::string closest = ClosestName(sub, {"sft", "tasks"});
  return UsageError(absl::InvalidArgumentError(absl::StrCat(
                        "unknown subcommand \"", sub, "\"",
                        closest.empty() ? "" : absl::StrCat("; did you mean \"", closest, "\"?"))),
                    err);
}

}  // namespace proxima
