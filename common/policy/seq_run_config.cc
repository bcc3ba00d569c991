#include "common/policy/seq_run_config.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/lm/char_tokenizer.h"
#include "common/lm/task_registry.h"
#include "common/status_macros.h"

namespace proxima {
namespace {

constexpr absl::string_view kCharPrefix = "char:";

absl::Status Bad(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("sequence run: ", field, " ", what));
}

}  // namespace

absl::Status SeqRunSettings::Finish() {
  PROXIMA_ASSIGN_OR_RETURN(std::unique_ptr<lm::Task> task, lm::MakeTask(task_id));
  absl::StatusOr<lm::CharTokenizer> tok = alphabet.empty()
                                              ? absl::StatusOr<lm::CharTokenizer>(lm::CharTokenizer())
                                              : lm::CharTokenizer::Create(alphabet);
  if (!tok.ok()) return Bad("alphabet", tok.status().message());
  alphabet = tok->alphabet();
  model.vocab_size = tok->vocab_size();
  PROXIMA_RETURN_IF_ERROR(model.Validate());
  if (group_size < 1) return Bad("group_size", absl::StrCat(group_size, " must be >= 1"));
  if (prompts_per_chunk < 1) {
    return Bad("prompts_per_chunk", absl::StrCat(prompts_per_chunk, " must be >= 1"));
  }
  if (!std::isfinite(temperature) || temperature <= 0) {
    return Bad("temperature", absl::StrCat(temperature, " must be finite and > 0"));
  }
  if (top_k < 0 || top_k > model.vocab_size) {
    return Bad("top_k", absl::StrCat(top_k, " is outside [0, ", model.vocab_size, "]"));
  }
  // <bos> + the longest prompt + the completion must fit the positions.
  const int longest_prompt = 1 + task->spec().max_prompt_chars;
  if (max_new_tokens < 1 || longest_prompt + max_new_tokens > model.max_seq_len) {
    return Bad("max_new_tokens",
               absl::StrCat(max_new_tokens, " must be >= 1 and fit ", task_id,
                            "'s longest prompt (", longest_prompt, " tokens) in max_seq_len ",
                            model.max_seq_len));
  }
  return absl::OkStatus();
}

lm::SamplingOptions SeqRunSettings::sampling() const {
  lm::SamplingOptions o;
  o.temperature = temperature;
  o.top_k = top_k;
  o.max_new_tokens = max_new_tokens;
  o.stop_token = lm::CharTokenizer::kEos;
  return o;
}

void SeqRunToProto(const SeqRunSettings& s, v1::SequenceRunConfig* out) {
  v1::SequenceModelSpec* m = out->mutable_model();
  m->set_tokenizer(absl::StrCat(kCharPrefix, s.alphabet));
  m->set_vocab_size(static_cast<uint32_t>(s.model.vocab_size));
  m->set_max_seq_len(static_cast<uint32_t>(s.model.max_seq_len));
  m->set_d_model(static_cast<uint32_t>(s.model.d_model));
  m->set_num_layers(static_cast<uint32_t>(s.model.num_layers));
  m->set_num_heads(static_cast<uint32_t>(s.model.num_heads));
  m->set_d_ff(static_cast<uint32_t>(s.model.d_ff));
  out->set_group_size(static_cast<uint32_t>(s.group_size));
  out->set_prompts_per_chunk(static_cast<uint32_t>(s.prompts_per_chunk));
  out->set_temperature(static_cast<float>(s.temperature));
  out->set_top_k(static_cast<uint32_t>(s.top_k));
  out->set_max_new_tokens(static_cast<uint32_t>(s.max_new_tokens));
  out->set_reward_mode(lm::RewardModeName(s.reward_mode));
}

absl::StatusOr<SeqRunSettings> SeqRunFromProto(const v1::RunConfig& rc) {
  if (!rc.has_sequence()) {
    return Bad("RunConfig.sequence", absl::StrCat("is unset for ", rc.env_id()));
  }
  const v1::SequenceRunConfig& q = rc.sequence();
  SeqRunSettings s;
  s.task_id = rc.env_id();
  const v1::SequenceModelSpec& m = q.model();
  if (!absl::StartsWith(m.tokenizer(), kCharPrefix)) {
    return Bad("tokenizer", absl::StrCat("'", m.tokenizer(), "' is not \"char:<alphabet>\""));
  }
  s.alphabet = m.tokenizer().substr(kCharPrefix.size());
  if (s.alphabet.empty()) return Bad("tokenizer", "has an empty alphabet");
  s.model.max_seq_len = static_cast<int>(m.max_seq_len());
  s.model.d_model = static_cast<int>(m.d_model());
  s.model.num_layers = static_cast<int>(m.num_layers());
  s.model.num_heads = static_cast<int>(m.num_heads());
  s.model.d_ff = static_cast<int>(m.d_ff());
  s.group_size = static_cast<int>(q.group_size());
  s.prompts_per_chunk = static_cast<int>(q.prompts_per_chunk());
  s.temperature = q.temperature();
  s.top_k = static_cast<int>(q.top_k());
  s.max_new_tokens = static_cast<int>(q.max_new_tokens());
  PROXIMA_ASSIGN_OR_RETURN(s.reward_mode, lm::ParseRewardMode(q.reward_mode()));
  PROXIMA_RETURN_IF_ERROR(s.Finish());
  if (static_cast<uint32_t>(s.model.vocab_size) != m.vocab_size()) {
    return Bad("vocab_size", absl::StrCat(m.vocab_size(), " disagrees with the tokenizer's ",
                                          s.model.vocab_size));
  }
  return s;
}

}  // namespace proxima
