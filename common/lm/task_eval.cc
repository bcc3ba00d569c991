#include "common/lm/task_eval.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/lm/generation.h"
#include "common/status_macros.h"

namespace proxima::lm {

namespace {

// Greedy (temperature 0, one completion per prompt) or sampled.
absl::StatusOr<TaskEvalResult> Evaluate(SeqPolicyImpl& model, const Task& task,
                                        const Tokenizer& tokenizer, TaskSplit split,
                                        int num_prompts, uint64_t seed, double temperature,
                                        int samples, uint64_t sample_seed) {
  if (num_prompts < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("evaluation needs at least one prompt (got ", num_prompts, ")"));
  }
  if (samples < 1 || temperature < 0 || (temperature == 0 && samples != 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sampled evaluation needs samples >= 1 and temperature > 0 (got ", samples, " at ",
        temperature, ")"));
  }
  Rng rng(seed);
  Rng sample_rng(sample_seed);
  std::vector<TaskExample> examples;
  std::map<size_t, std::vector<int>> by_length;  // prompt tokens → example indices
  std::vector<std::vector<int>> encoded;
  for (int i = 0; i < num_prompts; ++i) {
    examples.push_back(task.Sample(split, rng));
    PROXIMA_ASSIGN_OR_RETURN(std::vector<int> ids, tokenizer.EncodePrompt(examples.back().prompt));
    by_length[ids.size()].push_back(i);
    encoded.push_back(std::move(ids));
  }

  TaskEvalResult result;
  result.prompts = num_prompts;
  result.completions = num_prompts * samples;
  double partial = 0.0;
  SamplingOptions greedy;  // or sampled
  greedy.temperature = temperature;
  for (const auto& [length, indices] : by_length) {
    greedy.max_new_tokens = std::min(task.spec().max_answer_chars + 1,
                                     model.config().max_seq_len - static_cast<int>(length));
    if (greedy.max_new_tokens < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          task.spec().id, " prompts of ", length,
          " tokens leave no room in the model's max_seq_len ", model.config().max_seq_len));
    }
    std::vector<std::vector<int>> batch;
    std::vector<int> rows;  // example index of each batch row
    for (int i : indices) {
      for (int s = 0; s < samples; ++s) {
        batch.push_back(encoded[i]);
        rows.push_back(i);
      }
    }
    PROXIMA_ASSIGN_OR_RETURN(const Completions out,
                             GenerateBatch(model, batch, greedy, samples > 1 || temperature > 0
                                                                     ? sample_rng
                                                                     : rng));
    for (size_t row = 0; row < rows.size(); ++row) {
      const TaskExample& ex = examples[rows[row]];
      const absl::StatusOr<std::string> text = tokenizer.DecodeCompletion(out.tokens[row]);
      if (!text.ok()) continue;  // scores 0
      result.exact += *text == ex.answer ? 1 : 0;
      partial += ScoreCompletion(ex.answer, *text, RewardMode::kPartialCredit);
    }
  }
  result.accuracy = static_cast<double>(result.exact) / result.completions;
  result.mean_partial_credit = partial / result.completions;
  return result;
}

}  // namespace

absl::StatusOr<TaskEvalResult> EvaluateTask(SeqPolicyImpl& model, const Task& task,
                                            const Tokenizer& tokenizer, TaskSplit split,
                                            int num_prompts, uint64_t seed) {
  return Evaluate(model, task, tokenizer, split, num_prompts, seed, 0.0, 1, 0);
}

absl::StatusOr<TaskEvalResult> EvaluateTaskSampled(SeqPolicyImpl& model, const Task& task,
                                                   const Tokenizer& tokenizer, TaskSplit split,
                                                   int num_prompts, uint64_t seed,
                                                   double temperature, int samples,
                                                   uint64_t sample_seed) {
  if (!(temperature > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("sampled evaluation needs temperature > 0 (got ", temperature, ")"));
  }
  return Evaluate(model, task, tokenizer, split, num_prompts, seed, temperature, samples,
                  sample_seed);
}

}  // namespace proxima::lm
