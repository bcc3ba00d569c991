#include "learner/lm/preferences.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/lm/generation.h"
#include "common/rng.h"
#include "common/status_macros.h"

namespace proxima::lm {
namespace {

int TrailingCount(absl::string_view text, char c) {
  int n = 0;
  for (auto it = text.rbegin(); it != text.rend() && *it == c; ++it) ++n;
  return n;
}

// Salts of the independent streams one seed drives.
constexpr uint64_t kTrainPromptSalt = 0x70726566'74726169ULL;
constexpr uint64_t kHeldOutPromptSalt = 0x70726566'68656c64ULL;
constexpr uint64_t kSampleSalt = 0x70726566'73616d70ULL;
constexpr uint64_t kNoiseSalt = 0x70726566'6e6f6973ULL;

// `wanted` pairs of `split`'s prompts.
absl::StatusOr<std::vector<PreferencePair>> SamplePairs(SeqPolicyImpl& model, const Task& task,
                                                        const Tokenizer& tokenizer,
                                                        const PreferenceOptions& options,
                                                        TaskSplit split, int wanted,
                                                        PreferenceStats* stats) {
  std::vector<PreferencePair> pairs;
  if (wanted == 0) return pairs;
  const uint64_t salt = split == TaskSplit::kTrain ? kTrainPromptSalt : kHeldOutPromptSalt;
  Rng prompt_rng(options.seed ^ salt);
  Rng sample_rng(options.seed ^ salt ^ kSampleSalt);
  Rng noise_rng(options.seed ^ salt ^ kNoiseSalt);
  SamplingOptions sampling;
  sampling.temperature = options.temperature;
  sampling.max_new_tokens = options.max_new_tokens;
  sampling.stop_token = Tokenizer::kEos;
  double true_sum = 0.0;
  int style_differs = 0, rule_nonzero = 0;
  const int64_t max_prompts = static_cast<int64_t>(wanted) * options.max_attempts_per_pair;
  while (static_cast<int>(pairs.size()) < wanted) {
    if (stats->prompts >= max_prompts) {
      return absl::FailedPreconditionError(absl::StrCat(
          "only ", pairs.size(), " of ", wanted, " ", TaskSplitName(split), " pairs after ",
          stats->prompts, " prompts (", stats->tied, " tied, ", stats->undecodable,
          " undecodable): the policy's two samples rarely differ in true score"));
    }
    const TaskExample example = task.Sample(split, prompt_rng);
    ++stats->prompts;
    PROXIMA_ASSIGN_OR_RETURN(std::vector<int> prompt, tokenizer.EncodePrompt(example.prompt));
    PROXIMA_ASSIGN_OR_RETURN(Completions c, Generate(model, prompt, 2, sampling, sample_rng));
    std::string text[2];
    double score[2] = {0.0, 0.0};
    bool decodable = true;
    for (int i = 0; i < 2; ++i) {
      absl::StatusOr<std::string> decoded = tokenizer.DecodeCompletion(c.tokens[i]);
      if (!decoded.ok() || decoded->empty()) {
        decodable = false;
        continue;
      }
      text[i] = *std::move(decoded);
      PROXIMA_ASSIGN_OR_RETURN(
          score[i], TrueScore(task, example.prompt, text[i], options.style, options.reward));
      if (score[i] - StyleScore(options.style, text[i]) != 0.0) ++rule_nonzero;
    }
    if (!decodable) {
      ++stats->undecodable;
      continue;
    }
    if (score[0] == score[1]) {
      ++stats->tied;
      continue;
    }
    if (StyleScore(options.style, text[0]) != StyleScore(options.style, text[1])) ++style_differs;
    const int better = score[0] > score[1] ? 0 : 1;
    PreferencePair pair;
    pair.prompt = example.prompt;
    pair.chosen = text[better];
    pair.rejected = text[1 - better];
    pair.true_chosen = score[better];
    pair.true_rejected = score[1 - better];
    // One draw per kept pair, whatever the rate: the same seed keeps the same
    // pairs at every noise level.
    if (noise_rng.Uniform() < options.label_noise) {
      std::swap(pair.chosen, pair.rejected);
      std::swap(pair.true_chosen, pair.true_rejected);
      pair.noisy = true;
      ++stats->noisy;
    }
    true_sum += score[0] + score[1];
    pairs.push_back(std::move(pair));
  }
  stats->mean_true = true_sum / (2.0 * static_cast<double>(pairs.size()));
  const double sampled = 2.0 * static_cast<double>(stats->prompts);
  stats->style_differs = style_differs / static_cast<double>(pairs.size());
  stats->rule_nonzero = rule_nonzero / sampled;
  return pairs;
}

}  // namespace

absl::StatusOr<StyleTerm> StyleTerm::Parse(absl::string_view text, double weight, int cap) {
  StyleTerm s;
  s.weight = weight;
  s.cap = cap;
  if (text == "none") {
    s.kind = StyleKind::kNone;
  } else if (text == "length") {
    s.kind = StyleKind::kLength;
  } else if (absl::StartsWith(text, "pad:") && text.size() == 5) {
    s.kind = StyleKind::kPadding;
    s.pad = text[4];
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--style=", text, ": expected none, length or pad:C (one character C)"));
  }
  PROXIMA_RETURN_IF_ERROR(s.Validate());
  return s;
}

std::string StyleTerm::Name() const {
  switch (kind) {
    case StyleKind::kNone:
      return "none";
    case StyleKind::kLength:
      return "length";
    case StyleKind::kPadding:
      return absl::StrCat("pad:", std::string(1, pad));
  }
  return "?";
}

absl::Status StyleTerm::Validate() const {
  if (!std::isfinite(weight) || weight < 0.0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--style-weight=", weight, " must be a finite number >= 0"));
  }
  if (cap < 0)
    return absl::InvalidArgumentError(absl::StrCat("--style-cap=", cap, " must be >= 0"));
  if (kind == StyleKind::kPadding && (pad < 0x21 || pad > 0x7e)) {
    return absl::InvalidArgumentError("--style=pad:C needs a printable character C (no space)");
  }
  return absl::OkStatus();
}

double StyleScore(const StyleTerm& style, absl::string_view completion) {
  switch (style.kind) {
    case StyleKind::kNone:
      return 0.0;
    case StyleKind::kLength:
      return style.weight * std::min<int>(static_cast<int>(completion.size()), style.cap);
    case StyleKind::kPadding:
      return style.weight * std::min(TrailingCount(completion, style.pad), style.cap);
  }
  return 0.0;
}

absl::string_view AnswerPart(const StyleTerm& style, absl::string_view completion) {
  if (style.kind != StyleKind::kPadding) return completion;
  return completion.substr(0, completion.size() - TrailingCount(completion, style.pad));
}

absl::StatusOr<double> TrueScore(const Task& task, absl::string_view prompt,
                                 absl::string_view completion, const StyleTerm& style,
                                 RewardMode mode) {
  PROXIMA_ASSIGN_OR_RETURN(double rule, task.Reward(prompt, AnswerPart(style, completion), mode));
  return rule + StyleScore(style, completion);
}

absl::Status PreferenceOptions::Validate() const {
  if (pairs < 1)
    return absl::InvalidArgumentError(absl::StrCat("--pairs=", pairs, " must be >= 1"));
  if (held_out_pairs < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--held-out-pairs=", held_out_pairs, " must be >= 0"));
  }
  if (!(label_noise >= 0.0 && label_noise < 0.5)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--label-noise=", label_noise, " must be in [0, 0.5) (0.5 makes the labels random)"));
  }
  if (!(temperature > 0.0) || !std::isfinite(temperature)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--temperature=", temperature, " must be > 0 (pairs are sampled)"));
  }
  if (max_new_tokens < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-new-tokens=", max_new_tokens, " must be >= 0 (0: from the task)"));
  }
  if (max_attempts_per_pair < 1) {
    return absl::InvalidArgumentError("max_attempts_per_pair must be >= 1");
  }
  return style.Validate();
}

absl::StatusOr<PreferenceSet> MakePreferences(SeqPolicyImpl& model, const Task& task,
                                              const Tokenizer& tokenizer,
                                              const PreferenceOptions& options) {
  PROXIMA_RETURN_IF_ERROR(options.Validate());
  PreferenceOptions o = options;
  if (o.max_new_tokens == 0) {
    o.max_new_tokens =
        task.spec().max_answer_chars + 1 + (o.style.kind == StyleKind::kPadding ? o.style.cap : 0);
  }
  const int longest = 1 + task.spec().max_prompt_chars + o.max_new_tokens;
  if (longest > model.config().max_seq_len) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-new-tokens=", o.max_new_tokens, ": <bos>, the task's longest prompt (",
                     task.spec().max_prompt_chars, ") and the completion need ", longest,
                     " positions; the model has max_seq_len ", model.config().max_seq_len));
  }
  PreferenceSet set;
  PROXIMA_ASSIGN_OR_RETURN(set.train, SamplePairs(model, task, tokenizer, o, TaskSplit::kTrain,
                                                  o.pairs, &set.train_stats));
  PROXIMA_ASSIGN_OR_RETURN(set.held_out, SamplePairs(model, task, tokenizer, o, TaskSplit::kHeldOut,
                                                     o.held_out_pairs, &set.held_out_stats));
  return set;
}

}  // namespace proxima::lm
