// Tokenizer: the interface every sequence-policy vocabulary implements —
// CharTokenizer (common/lm/char_tokenizer.h, the built-in tasks) and
// SentencePieceTokenizer (common/lm/sentencepiece_tokenizer.h, user corpora).
//
// Every tokenizer maps the three special tokens to the same ids: 0 <pad>,
// 1 <bos>, 2 <eos> (the model, generation and SFT batches rely on them).
// Encode() maps text to ids with no special tokens; EncodePrompt() puts <bos>
// first. Decode() renders ids back to text and refuses special tokens and ids
// outside [0, vocab_size()); DecodeCompletion() decodes up to the first <eos>
// (a completion's stop token), after which only <pad> may follow. Errors are
// InvalidArgument naming the offending character or id and its position.
//
// TokenizerSpec is what a checkpoint stores to rebuild a tokenizer: its kind
// ("char": data is the alphabet; "sentencepiece": data is the serialized
// SentencePiece model) — MakeTokenizer() turns it back into a tokenizer.
// Implementations are immutable once made: thread-safe.
#ifndef PROXIMA_COMMON_LM_TOKENIZER_H_
#define PROXIMA_COMMON_LM_TOKENIZER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace proxima::lm {

inline constexpr char kCharTokenizerKind[] = "char";
inline constexpr char kSentencePieceTokenizerKind[] = "sentencepiece";

struct TokenizerSpec {
  std::string kind;  // kCharTokenizerKind or kSentencePieceTokenizerKind
  std::string data;  // the alphabet, or the serialized SentencePiece model
};

class Tokenizer {
 public:
  static constexpr int kPad = 0;
  static constexpr int kBos = 1;
  static constexpr int kEos = 2;

  virtual ~Tokenizer() = default;

  // Number of ids, special tokens included.
  virtual int vocab_size() const = 0;
  // What a checkpoint stores to rebuild this tokenizer.
  virtual TokenizerSpec spec() const = 0;

  // Ids of `text`, no special tokens.
  virtual absl::StatusOr<std::vector<int>> Encode(absl::string_view text) const = 0;
  // The text of `ids`; a special id or one out of [0, vocab_size()) is an
  // error naming it and its position.
  virtual absl::StatusOr<std::string> Decode(absl::Span<const int> ids) const = 0;
  // "<pad>", "<bos>", "<eos>", the token's text (PieceName), or "<id N?>"
  // out of range: for messages.
  std::string TokenName(int id) const;

  // <bos> followed by Encode(text).
  absl::StatusOr<std::vector<int>> EncodePrompt(absl::string_view text) const;
  // The text of `ids` up to the first <eos> (not included); after an <eos>
  // only <pad> may follow. Without an <eos> the whole span is decoded.
  absl::StatusOr<std::string> DecodeCompletion(absl::Span<const int> ids) const;

 protected:
  // The text of an id in [3, vocab_size()).
  virtual std::string PieceName(int id) const = 0;
};

// The tokenizer `spec` describes. InvalidArgument for an unknown kind or data
// that does not make one (naming the kind and the problem).
absl::StatusOr<std::unique_ptr<Tokenizer>> MakeTokenizer(const TokenizerSpec& spec);

}  // namespace proxima::lm

#endif  // PROXIMA_COMMON_LM_TOKENIZER_H_
