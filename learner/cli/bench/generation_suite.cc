// The `generation` suite: sequence-policy generation tokens/s on one actor
// core (one LibTorch / OpenBLAS thread), with and without the key/value
// cache, at batch 1, 8 and 64 (common/lm/generation.h).
//
// The model is SeqPolicy at its defaults (2 layers, width 128, 4 heads,
// max_seq_len 32; the character tokenizer's 19 ids), seeded; each call
// completes one 9-token prompt (<bos>123+456=) `batch` times with
// temperature 1 and no stop token, so every call generates exactly
// batch × 23 tokens (filling the 32 positions). Calls
// repeat until the suite's time per case has passed; the figure is the
// generated tokens divided by the wall time.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/lm/char_tokenizer.h"
#include "common/lm/generation.h"
#include "common/lm/seq_policy.h"
#include "common/policy/cpu_threads.h"
#include "common/rng.h"
#include "common/status_macros.h"
#include "learner/cli/bench/bench.h"

namespace proxima::bench {

absl::Status RunGenerationSuite(const BenchOptions& options, BenchReport* report) {
  ConfigureCpuThreads(1);
  const lm::CharTokenizer tokenizer;
  lm::SeqPolicyConfig config;
  config.vocab_size = tokenizer.vocab_size();
  lm::SeqPolicy model(config, 1);
  model->eval();
  PROXIMA_ASSIGN_OR_RETURN(const std::vector<int> prompt, tokenizer.EncodePrompt("123+456="));
  const absl::Duration per_case = absl::Seconds(options.quick ? 0.2 : 2.0);
  for (int batch : {1, 8, 64}) {
    for (bool cache : {true, false}) {
      lm::SamplingOptions sampling;
      sampling.max_new_tokens = config.max_seq_len - static_cast<int>(prompt.size());
      sampling.stop_token = -1;
      sampling.use_cache = cache;
      Rng rng(7);
      int64_t tokens = 0;
      int calls = 0;
      const absl::Time start = absl::Now();
      absl::Duration elapsed;
      do {
        PROXIMA_ASSIGN_OR_RETURN(const lm::Completions c,
                                 lm::Generate(*model, prompt, batch, sampling, rng));
        for (const std::vector<int>& row : c.tokens) tokens += static_cast<int64_t>(row.size());
        ++calls;
        elapsed = absl::Now() - start;
      } while (elapsed < per_case);
      const double seconds = absl::ToDoubleSeconds(elapsed);
      const std::string name = absl::StrCat("batch=", batch, "/", cache ? "kv-cache" : "no-cache");
      options.log(absl::StrCat("generation ", name, ": ", tokens, " tokens in ", seconds, " s"));
      BenchRow row{"generation", name};
      row.params = {{"batch", batch},
                    {"kv_cache", cache},
                    {"model", config.DebugString()},
                    {"prompt_tokens", prompt.size()},
                    {"new_tokens", sampling.max_new_tokens},
                    {"threads", 1}};
      row.metrics = {{"tokens_per_second", static_cast<double>(tokens) / seconds},
                     {"ms_per_call", 1e3 * seconds / calls}};
      report->Add(std::move(row));
    }
  }
  return absl::OkStatus();
}

}  // namespace proxima::bench
