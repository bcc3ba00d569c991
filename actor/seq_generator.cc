#include "actor/seq_generator.h"

#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/lm/generation.h"
#include "common/lm/task_registry.h"
#include "common/policy/weight_codec.h"
#include "common/status_macros.h"

namespace proxima {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

SequenceGenerator::SequenceGenerator(SeqRunSettings run, lm::CharTokenizer tok,
                                     std::unique_ptr<lm::Task> task, uint64_t seed)
    : run_(std::move(run)),
      tokenizer_(std::move(tok)),
      task_(std::move(task)),
      model_(run_.model, seed),
      rng_(seed) {
  model_->eval();
}

absl::StatusOr<std::unique_ptr<SequenceGenerator>> SequenceGenerator::Create(
    const SeqRunSettings& run, uint64_t seed) {
  SeqRunSettings r = run;
  PROXIMA_RETURN_IF_ERROR(r.Finish());
  PROXIMA_ASSIGN_OR_RETURN(lm::CharTokenizer tok, lm::CharTokenizer::Create(r.alphabet));
  PROXIMA_ASSIGN_OR_RETURN(std::unique_ptr<lm::Task> task, lm::MakeTask(r.task_id));
  return std::unique_ptr<SequenceGenerator>(
      new SequenceGenerator(std::move(r), std::move(tok), std::move(task), seed));
}

absl::Status SequenceGenerator::SetWeights(const v1::WeightSnapshot& snapshot) {
  PROXIMA_RETURN_IF_ERROR(ApplyModuleWeights(snapshot, *model_));
  version_ = snapshot.version();
  has_weights_ = true;
  return absl::OkStatus();
}

absl::StatusOr<SequenceChunk> SequenceGenerator::Next(Timing* timing) {
  if (!has_weights_) {
    return absl::FailedPreconditionError("sequence generator: no weights loaded yet");
  }
  const lm::SamplingOptions sampling = run_.sampling();
  SequenceChunk chunk;
  chunk.group_size = run_.group_size;
  chunk.temperature = static_cast<float>(sampling.temperature);
  chunk.top_k = sampling.top_k;
  Timing t;
  for (int p = 0; p < run_.prompts_per_chunk; ++p) {
    const lm::TaskExample ex = task_->Sample(lm::TaskSplit::kTrain, rng_);
    PROXIMA_ASSIGN_OR_RETURN(std::vector<int> ids, tokenizer_.Encode(ex.prompt));
    std::vector<int> prompt = {lm::CharTokenizer::kBos};
    prompt.insert(prompt.end(), ids.begin(), ids.end());
    auto start = std::chrono::steady_clock::now();
    PROXIMA_ASSIGN_OR_RETURN(lm::Completions gen,
                             lm::Generate(*model_, prompt, run_.group_size, sampling, rng_));
    t.generate_seconds += SecondsSince(start);
    start = std::chrono::steady_clock::now();
    for (int g = 0; g < run_.group_size; ++g) {
      SequenceRecord r;
      r.prompt = prompt;
      r.completion = std::move(gen.tokens[g]);
      r.logprobs = std::move(gen.logprobs[g]);
      std::vector<int> text(r.completion.begin(),
                            r.completion.end() - (gen.stopped[g] ? 1 : 0));
      // A completion that does not decode (a special token inside) scores 0.
      absl::StatusOr<std::string> decoded = tokenizer_.Decode(text);
      double reward = 0;
      if (decoded.ok()) {
        PROXIMA_ASSIGN_OR_RETURN(reward, task_->Reward(ex.prompt, *decoded, run_.reward_mode));
      }
      r.reward = static_cast<float>(reward);
      r.group_id = next_group_;
      chunk.sequences.push_back(std::move(r));
    }
    ++next_group_;
    t.score_seconds += SecondsSince(start);
  }
  if (rescorer_) {
    const auto start = std::chrono::steady_clock::now();
    PROXIMA_RETURN_IF_ERROR(rescorer_(&chunk));
    t.score_seconds += SecondsSince(start);
  }
  if (timing != nullptr) *timing = t;
  return chunk;
}

}  // namespace proxima
