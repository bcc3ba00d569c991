#include "common/lm/tokenizer.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/lm/char_tokenizer.h"
#include "common/lm/sentencepiece_tokenizer.h"
#include "common/status_macros.h"

namespace proxima::lm {

absl::StatusOr<std::vector<int>> Tokenizer::EncodePrompt(absl::string_view text) const {
  PROXIMA_ASSIGN_OR_RETURN(const std::vector<int> body, Encode(text));
  std::vector<int> ids;
  ids.reserve(body.size() + 1);
  ids.push_back(kBos);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

absl::StatusOr<std::string> Tokenizer::DecodeCompletion(absl::Span<const int> ids) const {
  size_t end = 0;
  while (end < ids.size() && ids[end] != kEos) ++end;
  for (size_t i = end + 1; i < ids.size(); ++i) {
    if (ids[i] != kPad) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", ids[i], " (", TokenName(ids[i]),
                                                     ") at position ", i,
                                                     " follows <eos>; only <pad> may"));
    }
  }
  return Decode(ids.subspan(0, end));
}

std::string Tokenizer::TokenName(int id) const {
  switch (id) {
    case kPad:
      return "<pad>";
    case kBos:
      return "<bos>";
    case kEos:
      return "<eos>";
    default:
      break;
  }
  if (id < 0 || id >= vocab_size()) return absl::StrCat("<id ", id, "?>");
  return PieceName(id);
}

absl::StatusOr<std::unique_ptr<Tokenizer>> MakeTokenizer(const TokenizerSpec& spec) {
  if (spec.kind == kCharTokenizerKind) {
    PROXIMA_ASSIGN_OR_RETURN(CharTokenizer t, CharTokenizer::Create(spec.data));
    return std::unique_ptr<Tokenizer>(std::make_unique<CharTokenizer>(std::move(t)));
  }
  if (spec.kind == kSentencePieceTokenizerKind) {
    PROXIMA_ASSIGN_OR_RETURN(std::unique_ptr<SentencePieceTokenizer> t,
                             SentencePieceTokenizer::FromSerializedModel(spec.data));
    return std::unique_ptr<Tokenizer>(std::move(t));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown tokenizer kind \"", spec.kind,
                                                 "\" (known: \"", kCharTokenizerKind, "\", \"",
                                                 kSentencePieceTokenizerKind, "\")"));
}

}  // namespace proxima::lm
