#include "common/lm/generation.h"

#include <torch/types.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace proxima::lm {

absl::Status SamplingOptions::Validate(int vocab_size) const {
  if (!(temperature >= 0.0) || !std::isfinite(temperature)) {
    return absl::InvalidArgumentError(absl::StrCat("sampling temperature = ", temperature,
                                                   " must be finite and >= 0 (0: greedy)"));
  }
  if (top_k < 0 || top_k > vocab_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("sampling top_k = ", top_k, " is outside [0, ", vocab_size, "] (0: off)"));
  }
  if (max_new_tokens < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("sampling max_new_tokens = ", max_new_tokens, " must be >= 1"));
  }
  if (stop_token < -1 || stop_token >= vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat("sampling stop_token = ", stop_token,
                                                   " is outside [0, ", vocab_size, ") (-1: none)"));
  }
  return absl::OkStatus();
}

int SampleToken(const float* logits, int vocab_size, double temperature, int top_k, Rng& rng,
                float* logprob) {
  if (temperature <= 0.0) {
    int best = 0;
    for (int j = 1; j < vocab_size; ++j) {
      if (logits[j] > logits[best]) best = j;
    }
    double total = 0.0;
    for (int j = 0; j < vocab_size; ++j) {
      total += std::exp(static_cast<double>(logits[j]) - logits[best]);
    }
    *logprob = static_cast<float>(-std::log(total));
    return best;
  }
  std::vector<double> z(vocab_size);
  for (int j = 0; j < vocab_size; ++j) z[j] = static_cast<double>(logits[j]) / temperature;
  std::vector<char> keep(vocab_size, 1);
  if (top_k > 0 && top_k < vocab_size) {
    // The k-th largest value; ties at it are kept in id order up to k.
    std::vector<double> sorted = z;
    std::nth_element(sorted.begin(), sorted.begin() + (top_k - 1), sorted.end(),
                     std::greater<double>());
    const double threshold = sorted[top_k - 1];
    int kept = 0;
    for (int j = 0; j < vocab_size; ++j) {
      keep[j] = z[j] > threshold ? 1 : 0;
      kept += keep[j];
    }
    for (int j = 0; j < vocab_size && kept < top_k; ++j) {
      if (!keep[j] && z[j] == threshold) {
        keep[j] = 1;
        ++kept;
      }
    }
  }
  double max_z = -std::numeric_limits<double>::infinity();
  for (int j = 0; j < vocab_size; ++j) {
    if (keep[j]) max_z = std::max(max_z, z[j]);
  }
  double total = 0.0;
  int last_kept = 0;
  for (int j = 0; j < vocab_size; ++j) {
    if (!keep[j]) continue;
    total += std::exp(z[j] - max_z);
    last_kept = j;
  }
  // Inverse CDF; the last kept id takes what rounding leaves over.
  double u = rng.Uniform() * total;
  int choice = last_kept;
  for (int j = 0; j < vocab_size; ++j) {
    if (!keep[j]) continue;
    u -= std::exp(z[j] - max_z);
    if (u < 0) {
      choice = j;
      break;
    }
  }
  *logprob = static_cast<float>(z[choice] - max_z - std::log(total));
  return choice;
}

absl::StatusOr<Completions> Generate(SeqPolicyImpl& model, absl::Span<const int> prompt, int count,
                                     const SamplingOptions& options, Rng& rng) {
  if (count < 1) {
    return absl::InvalidArgumentError(absl::StrCat("generation count = ", count, " must be >= 1"));
  }
  const std::vector<std::vector<int>> prompts(count,
                                              std::vector<int>(prompt.begin(), prompt.end()));
  return GenerateBatch(model, prompts, options, rng);
}

absl::StatusOr<Completions> GenerateBatch(SeqPolicyImpl& model,
                                          absl::Span<const std::vector<int>> prompts,
                                          const SamplingOptions& options, Rng& rng) {
  const SeqPolicyConfig& config = model.config();
  const int vocab = config.vocab_size;
  PROXIMA_RETURN_IF_ERROR(options.Validate(vocab));
  if (prompts.empty()) return absl::InvalidArgumentError("generation has no prompts");
  const int count = static_cast<int>(prompts.size());
  const int64_t prompt_len = static_cast<int64_t>(prompts[0].size());
  if (prompt_len == 0) return absl::InvalidArgumentError("generation prompt is empty");
  for (size_t p = 0; p < prompts.size(); ++p) {
    if (static_cast<int64_t>(prompts[p].size()) != prompt_len) {
      return absl::InvalidArgumentError(absl::StrCat("generation prompt ", p, " has ",
                                                     prompts[p].size(), " tokens, prompt 0 has ",
                                                     prompt_len, ": a batch needs one length"));
    }
    for (size_t i = 0; i < prompts[p].size(); ++i) {
      if (prompts[p][i] < 0 || prompts[p][i] >= vocab) {
        return absl::InvalidArgumentError(
            absl::StrCat("generation prompt token ", prompts[p][i], " at position ", i,
                         " is outside the vocabulary [0, ", vocab, ")"));
      }
    }
  }
  if (prompt_len + options.max_new_tokens > config.max_seq_len) {
    return absl::InvalidArgumentError(absl::StrCat(
        "generation prompt of ", prompt_len, " tokens + max_new_tokens ", options.max_new_tokens,
        " exceed the model's max_seq_len ", config.max_seq_len));
  }

  torch::NoGradGuard no_grad;
  const torch::Device device = model.parameters().front().device();
  std::vector<int64_t> ids;
  ids.reserve(static_cast<size_t>(count * prompt_len));
  for (const std::vector<int>& prompt : prompts)
    ids.insert(ids.end(), prompt.begin(), prompt.end());
  torch::Tensor seq =
      torch::from_blob(ids.data(), {count, prompt_len}, torch::kLong).clone().to(device);

  KvCache cache;
  torch::Tensor last;  // [count, vocab]: logits at the last position
  if (options.use_cache) {
    cache = model.NewCache(count);
    last = model.ForwardCached(seq, cache).logits.select(1, prompt_len - 1);
  } else {
    last = model.forward(seq).logits.select(1, prompt_len - 1);
  }

  Completions out;
  out.tokens.resize(count);
  out.logprobs.resize(count);
  out.stopped.assign(count, false);
  std::vector<int64_t> next(count, CharTokenizer::kPad);
  int active = count;
  for (int step = 0; step < options.max_new_tokens; ++step) {
    const torch::Tensor rows = last.to(torch::kCPU, torch::kFloat32).contiguous();
    const float* data = rows.data_ptr<float>();
    for (int g = 0; g < count; ++g) {
      if (out.stopped[g]) {
        next[g] = CharTokenizer::kPad;  // fed, never read: the row is done
        continue;
      }
      float logprob = 0.0f;
      const int token = SampleToken(data + static_cast<int64_t>(g) * vocab, vocab,
                                    options.temperature, options.top_k, rng, &logprob);
      out.tokens[g].push_back(token);
      out.logprobs[g].push_back(logprob);
      next[g] = token;
      if (token == options.stop_token) {
        out.stopped[g] = true;
        --active;
      }
    }
    if (active == 0 || step + 1 == options.max_new_tokens) break;
    const torch::Tensor feed =
        torch::from_blob(next.data(), {count, 1}, torch::kLong).clone().to(device);
    if (options.use_cache) {
      last = model.ForwardCached(feed, cache).logits.select(1, 0);
    } else {
      seq = torch::cat({seq, feed}, 1);
      last = model.forward(seq).logits.select(1, seq.size(1) - 1);
    }
  }
  return out;
}

}  // namespace proxima::lm
