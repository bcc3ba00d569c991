#include "learner/lm/seq_rl_loop.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/lm/generation.h"
#include "common/rng.h"
#include "common/status_macros.h"
#include "common/wire/seq_chunk_codec.h"
#include "learner/lm/sft.h"

namespace proxima::learner_lm {

absl::Status SeqRlLoopOptions::Validate() const {
  auto bad = [](const char* field, double value, const char* range) {
    return absl::InvalidArgumentError(
        absl::StrCat("RL loop option ", field, " = ", value, " is out of range ", range));
  };
  if (iterations < 1) return bad("iterations", iterations, "(>= 1)");
  if (prompts_per_update < 1) return bad("prompts_per_update", prompts_per_update, "(>= 1)");
  if (group_size < 1) return bad("group_size", group_size, "(>= 1)");
  if (!(temperature > 0)) return bad("temperature", temperature, "(> 0; greedy cannot train)");
  if (top_k < 0) return bad("top_k", top_k, "(>= 0)");
  if (eval_every < 0) return bad("eval_every", eval_every, "(>= 0)");
  if (eval_prompts < 1) return bad("eval_prompts", eval_prompts, "(>= 1)");
  if (eval_samples < 0) return bad("eval_samples", eval_samples, "(>= 0)");
  if (max_new_tokens < 0) return bad("max_new_tokens", max_new_tokens, "(>= 0; 0: from the task)");
  return absl::OkStatus();
}

absl::StatusOr<SeqRlResult> RunSeqRlLoop(
    SeqTrainer& trainer, const lm::Task& task, const lm::Tokenizer& tokenizer,
    const SeqRlLoopOptions& options, const std::function<void(const SeqRlProgress&)>& on_progress,
    const SeqRlHooks& hooks) {
  PROXIMA_RETURN_IF_ERROR(options.Validate());
  lm::SeqPolicyImpl& model = *trainer.policy();
  lm::SamplingOptions sampling;
  sampling.temperature = options.temperature;
  sampling.top_k = options.top_k;
  sampling.max_new_tokens = options.max_new_tokens > 0
                               ? options.max_new_tokens
                               : task.spec().max_answer_chars + 1;  // the answer and <eos>
  sampling.stop_token = lm::Tokenizer::kEos;
  PROXIMA_RETURN_IF_ERROR(sampling.Validate(tokenizer.vocab_size()));

  // The held-out prompts `proxima lm sft --seed S` evaluates, so a run from
  // an SFT checkpoint starts from the accuracy the checkpoint records.
  const uint64_t eval_seed = lm::HeldOutEvalSeed(options.seed);
  // Sampled evaluations draw from their own stream, the same at every
  // evaluation, so two evaluations differ only by the weights.
  auto sampled = [&]() -> absl::StatusOr<std::optional<lm::TaskEvalResult>> {
    if (options.eval_samples == 0) return std::optional<lm::TaskEvalResult>();
    PROXIMA_ASSIGN_OR_RETURN(
        lm::TaskEvalResult r,
        lm::EvaluateTaskSampled(model, task, tokenizer, lm::TaskSplit::kHeldOut,
                                options.eval_prompts, eval_seed, options.temperature,
                                options.eval_samples, MixSeed(eval_seed + 2)));
    return std::optional<lm::TaskEvalResult>(r);
  };
  SeqRlResult result;
  PROXIMA_ASSIGN_OR_RETURN(result.initial,
                           lm::EvaluateTask(model, task, tokenizer, lm::TaskSplit::kHeldOut,
                                            options.eval_prompts, eval_seed));
  PROXIMA_ASSIGN_OR_RETURN(result.initial_sampled, sampled());
  if (hooks.evaluate) PROXIMA_RETURN_IF_ERROR(hooks.evaluate(0));
  Rng prompt_rng(options.seed);
  Rng sample_rng(MixSeed(options.seed + 1));
  const absl::Time start = absl::Now();
  SeqRlProgress progress;
  for (int it = 1; it <= options.iterations; ++it) {
    const absl::Time gen_start = absl::Now();
    std::vector<SequenceChunk> chunks;
    chunks.reserve(static_cast<size_t>(options.prompts_per_update));
    CompletionBatch batch;  // for hooks.score
    for (int p = 0; p < options.prompts_per_update; ++p) {
      const lm::TaskExample example = task.Sample(lm::TaskSplit::kTrain, prompt_rng);
      PROXIMA_ASSIGN_OR_RETURN(const std::vector<int> prompt,
                               tokenizer.EncodePrompt(example.prompt));
      PROXIMA_ASSIGN_OR_RETURN(
          lm::Completions completions,
          lm::Generate(model, prompt, options.group_size, sampling, sample_rng));
      SequenceChunk chunk;
      chunk.group_size = options.group_size;
      chunk.temperature = static_cast<float>(options.temperature);
      chunk.top_k = options.top_k;
      for (int g = 0; g < options.group_size; ++g) {
        SequenceRecord record;
        record.prompt = prompt;
        record.completion = std::move(completions.tokens[g]);
        record.logprobs = std::move(completions.logprobs[g]);
        record.group_id = p;
        // A completion that does not decode (a special token before <eos>)
        // scores 0, as in EvaluateTask.
        const auto text = tokenizer.DecodeCompletion(record.completion);
        if (hooks.score) {
          batch.prompts.push_back(example.prompt);
          batch.completions.push_back(text.ok() ? *text : std::string());
          batch.decoded.push_back(text.ok());
        } else if (text.ok()) {
          PROXIMA_ASSIGN_OR_RETURN(const double reward,
                                   task.Reward(example.prompt, *text, options.reward_mode));
          record.reward = static_cast<float>(reward);
        }
        progress.tokens += static_cast<int64_t>(record.completion.size());
        chunk.sequences.push_back(std::move(record));
      }
      progress.sequences += options.group_size;
      chunks.push_back(std::move(chunk));
    }
    progress.generation_seconds += absl::ToDoubleSeconds(absl::Now() - gen_start);
    if (hooks.score) {
      PROXIMA_ASSIGN_OR_RETURN(const std::vector<double> rewards, hooks.score(batch));
      if (rewards.size() != batch.completions.size()) {
        return absl::InternalError(absl::StrCat("the scorer returned ", rewards.size(),
                                                " rewards for ", batch.completions.size(),
                                                " completions"));
      }
      size_t i = 0;
      for (SequenceChunk& chunk : chunks) {
        for (SequenceRecord& record : chunk.sequences) {
          record.reward = static_cast<float>(rewards[i++]);
        }
      }
    }
    PROXIMA_ASSIGN_OR_RETURN(progress.update, trainer.Update(chunks));
    progress.iteration = it;
    progress.held_out.reset();
    progress.held_out_sampled.reset();
    const bool last = it == options.iterations;
    if (last || (options.eval_every > 0 && it % options.eval_every == 0)) {
      PROXIMA_ASSIGN_OR_RETURN(progress.held_out,
                               lm::EvaluateTask(model, task, tokenizer, lm::TaskSplit::kHeldOut,
                                                options.eval_prompts, eval_seed));
      PROXIMA_ASSIGN_OR_RETURN(progress.held_out_sampled, sampled());
      if (hooks.evaluate) PROXIMA_RETURN_IF_ERROR(hooks.evaluate(it));
    }
    progress.seconds = absl::ToDoubleSeconds(absl::Now() - start);
    if (on_progress) on_progress(progress);
  }
  result.final = *progress.held_out;
  result.final_sampled = progress.held_out_sampled;
  result.last = progress;
  return result;
}

}  // namespace proxima::learner_lm
