#include "learner/lm/sft.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/types.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/rng.h"
#include "common/status_macros.h"

namespace proxima::lm {
namespace {

constexpr uint64_t kEvalSeedSalt = 0x6576616c;  // "eval"
constexpr int kProgressEvery = 100;
constexpr double kPi = 3.14159265358979323846;

absl::Status Positive(const char* name, double value) {
  if (!(value > 0) || !std::isfinite(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("sft ", name, " = ", value, " must be a finite number > 0"));
  }
  return absl::OkStatus();
}

// Warm-up to `peak` over `warmup` steps, then a cosine down to peak / 10.
double LearningRate(const SftOptions& o, int step) {
  if (step <= o.warmup_steps) return o.learning_rate * step / o.warmup_steps;
  const double progress =
      static_cast<double>(step - o.warmup_steps) / std::max(1, o.steps - o.warmup_steps);
  return o.learning_rate * (0.1 + 0.45 * (1.0 + std::cos(kPi * std::min(1.0, progress))));
}

}  // namespace

absl::Status SftOptions::Validate() const {
  PROXIMA_RETURN_IF_ERROR(Positive("steps", steps));
  PROXIMA_RETURN_IF_ERROR(Positive("batch_size", batch_size));
  PROXIMA_RETURN_IF_ERROR(Positive("learning_rate", learning_rate));
  PROXIMA_RETURN_IF_ERROR(Positive("grad_clip", grad_clip));
  PROXIMA_RETURN_IF_ERROR(Positive("eval_prompts", eval_prompts));
  if (warmup_steps < 0 || warmup_steps > steps) {
    return absl::InvalidArgumentError(
        absl::StrCat("sft warmup_steps = ", warmup_steps, " is outside [0, steps = ", steps, "]"));
  }
  if (eval_every < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("sft eval_every = ", eval_every, " must be >= 0 (0: only at the end)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SftBatch> MakeSftBatch(const std::vector<TaskExample>& examples,
                                      const Tokenizer& tokenizer) {
  if (examples.empty()) return absl::InvalidArgumentError("sft batch has no examples");
  std::vector<std::vector<int>> seqs;
  std::vector<size_t> prompt_lens;
  size_t longest = 0;
  for (const TaskExample& ex : examples) {
    PROXIMA_ASSIGN_OR_RETURN(std::vector<int> seq, tokenizer.EncodePrompt(ex.prompt));
    PROXIMA_ASSIGN_OR_RETURN(const std::vector<int> answer, tokenizer.Encode(ex.answer));
    prompt_lens.push_back(seq.size());
    seq.insert(seq.end(), answer.begin(), answer.end());
    seq.push_back(Tokenizer::kEos);
    longest = std::max(longest, seq.size());
    seqs.push_back(std::move(seq));
  }
  const int64_t batch = static_cast<int64_t>(seqs.size());
  const int64_t width = static_cast<int64_t>(longest) - 1;
  std::vector<int64_t> inputs(static_cast<size_t>(batch * width), Tokenizer::kPad);
  std::vector<int64_t> targets(inputs.size(), Tokenizer::kPad);
  std::vector<float> mask(inputs.size(), 0.0f);
  for (int64_t b = 0; b < batch; ++b) {
    const std::vector<int>& seq = seqs[b];
    for (size_t t = 0; t + 1 < seq.size(); ++t) {
      const size_t at = static_cast<size_t>(b * width) + t;
      inputs[at] = seq[t];
      targets[at] = seq[t + 1];
      mask[at] = t + 1 >= prompt_lens[b] ? 1.0f : 0.0f;
    }
  }
  SftBatch out;
  out.inputs = torch::from_blob(inputs.data(), {batch, width}, torch::kLong).clone();
  out.targets = torch::from_blob(targets.data(), {batch, width}, torch::kLong).clone();
  out.mask = torch::from_blob(mask.data(), {batch, width}, torch::kFloat32).clone();
  return out;
}

at::Tensor SftLoss(SeqPolicyImpl& model, const SftBatch& batch) {
  const at::Tensor logits = model.forward(batch.inputs).logits;  // [B, T, V]
  const at::Tensor logp =
      torch::log_softmax(logits, -1).gather(-1, batch.targets.unsqueeze(-1)).squeeze(-1);
  return -(logp * batch.mask).sum() / batch.mask.sum().clamp_min(1.0);
}

uint64_t HeldOutEvalSeed(uint64_t seed) { return MixSeed(seed ^ kEvalSeedSalt); }

absl::StatusOr<SftResult> RunSft(SeqPolicyImpl& model, const Task& task,
                                 const Tokenizer& tokenizer, const SftOptions& options,
                                 const std::function<void(const SftProgress&)>& on_progress) {
  PROXIMA_RETURN_IF_ERROR(options.Validate());
  const SeqPolicyConfig& config = model.config();
  if (config.vocab_size != tokenizer.vocab_size()) {
    return absl::InvalidArgumentError(absl::StrCat("the model's vocab_size ", config.vocab_size,
                                                   " is not the tokenizer's ",
                                                   tokenizer.vocab_size()));
  }
  // <bos> prompt answer <eos>
  const int longest = task.spec().max_prompt_chars + task.spec().max_answer_chars + 2;
  if (longest > config.max_seq_len) {
    return absl::InvalidArgumentError(
        absl::StrCat(task.spec().id, " sequences take up to ", longest,
                     " tokens, more than the model's max_seq_len ", config.max_seq_len));
  }
  const uint64_t eval_seed = HeldOutEvalSeed(options.seed);
  const absl::Time start = absl::Now();
  SftResult result;
  try {
    torch::optim::Adam optimizer(model.parameters(),
                                 torch::optim::AdamOptions(options.learning_rate));
    Rng rng(options.seed);
    std::vector<TaskExample> examples(static_cast<size_t>(options.batch_size));
    for (int step = 1; step <= options.steps; ++step) {
      const double lr = LearningRate(options, step);
      static_cast<torch::optim::AdamOptions&>(optimizer.param_groups()[0].options()).lr(lr);
      for (TaskExample& ex : examples) ex = task.Sample(TaskSplit::kTrain, rng);
      PROXIMA_ASSIGN_OR_RETURN(const SftBatch batch, MakeSftBatch(examples, tokenizer));
      optimizer.zero_grad();
      const at::Tensor loss = SftLoss(model, batch);
      loss.backward();
      torch::nn::utils::clip_grad_norm_(model.parameters(), options.grad_clip);
      optimizer.step();
      result.final_loss = loss.item<double>();
      result.steps = step;

      SftProgress progress;
      progress.step = step;
      progress.loss = result.final_loss;
      progress.learning_rate = lr;
      const bool last = step == options.steps;
      if (last || (options.eval_every > 0 && step % options.eval_every == 0)) {
        PROXIMA_ASSIGN_OR_RETURN(progress.held_out,
                                 EvaluateTask(model, task, tokenizer, TaskSplit::kHeldOut,
                                              options.eval_prompts, eval_seed));
        if (last) result.held_out = *progress.held_out;
      }
      if (on_progress && (progress.held_out.has_value() || step % kProgressEvery == 0)) {
        on_progress(progress);
      }
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("sft on ", task.spec().id, " at step ",
                                            result.steps + 1, ": ", e.what_without_backtrace()));
  }
  result.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return result;
}

}  // namespace proxima::lm
