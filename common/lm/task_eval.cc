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

absl::StatusOr<TaskEvalResult> EvaluateTask(SeqPolicyImpl& model, const Task& task,
                                            const Tokenizer& tokenizer, TaskSplit split,
                                            int num_prompts, uint64_t seed) {
  if (num_prompts < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("evaluation needs at least one prompt (got ", num_prompts, ")"));
  }
  Rng rng(seed);
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
  double partial = 0.0;
  SamplingOptions greedy;
  greedy.temperature = 0.0;
  for (const auto& [length, indices] : by_length) {
    greedy.max_new_tokens = std::min(task.spec().max_answer_chars + 1,
                                     model.config().max_seq_len - static_cast<int>(length));
    if (greedy.max_new_tokens < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          task.spec().id, " prompts of ", length,
          " tokens leave no room in the model's max_seq_len ", model.config().max_seq_len));
    }
    std::vector<std::vector<int>> batch;
    for (int i : indices) batch.push_back(encoded[i]);
    PROXIMA_ASSIGN_OR_RETURN(const Completions out, GenerateBatch(model, batch, greedy, rng));
    for (size_t row = 0; row < indices.size(); ++row) {
      const TaskExample& ex = examples[indices[row]];
      const absl::StatusOr<std::string> text = tokenizer.DecodeCompletion(out.tokens[row]);
      if (!text.ok()) continue;  // scores 0
      result.exact += *text == ex.answer ? 1 : 0;
      partial += ScoreCompletion(ex.answer, *text, RewardMode::kPartialCredit);
    }
  }
  result.accuracy = static_cast<double>(result.exact) / num_prompts;
  result.mean_partial_credit = partial / num_prompts;
  return result;
}

}  // namespace proxima::lm
