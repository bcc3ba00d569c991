// CharTokenizer: the character-level vocabulary of the built-in sequence
// tasks (common/lm/task.h) and the sequence policy (common/lm/seq_policy.h).
//
// Ids 0, 1, 2 are the special tokens <pad>, <bos>, <eos>; id 3 + i is the i-th
// character of the alphabet. The default alphabet (kDefaultAlphabet) holds the
// digits and every symbol a built-in task writes; an alphabet is part of a
// model's meaning (it fixes the rows of the embedding and the LM head), so a
// changed alphabet is a different vocabulary, never a compatible one.
//
// Encode() maps text to ids with no special tokens; EncodePrompt() puts <bos>
// first. Decode() renders ids back to text and refuses special tokens;
// DecodeCompletion() stops at the first <eos> (a completion's stop token) and
// ignores <pad> after it. Every error is InvalidArgument naming the offending
// character or id and its position. Immutable once made: thread-safe.
#ifndef PROXIMA_COMMON_LM_CHAR_TOKENIZER_H_
#define PROXIMA_COMMON_LM_CHAR_TOKENIZER_H_

#include <array>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace proxima::lm {

// Digits, the arithmetic symbols, '=' ending every prompt, and the letters
// that name the string tasks ('r' reverse, 's' sort).
inline constexpr absl::string_view kDefaultAlphabet = "0123456789+-*=rs";

class CharTokenizer {
 public:
  static constexpr int kPad = 0;
  static constexpr int kBos = 1;
  static constexpr int kEos = 2;
  static constexpr int kNumSpecial = 3;

  // The tokenizer of kDefaultAlphabet.
  CharTokenizer();

  // A tokenizer for `alphabet`: printable ASCII characters (0x21-0x7e, no
  // space), each once, at least one. InvalidArgument naming the first
  // character that breaks this.
  static absl::StatusOr<CharTokenizer> Create(absl::string_view alphabet);

  // Number of ids: kNumSpecial + alphabet size.
  int vocab_size() const { return kNumSpecial + static_cast<int>(alphabet_.size()); }
  const std::string& alphabet() const { return alphabet_; }

  // Ids of `text`'s characters, no special tokens.
  absl::StatusOr<std::vector<int>> Encode(absl::string_view text) const;
  // <bos> followed by Encode(text).
  absl::StatusOr<std::vector<int>> EncodePrompt(absl::string_view text) const;

  // The text of `ids`; an id that is special or out of [0, vocab_size()) is
  // an error naming it and its position.
  absl::StatusOr<std::string> Decode(absl::Span<const int> ids) const;
  // The text of `ids` up to the first <eos> (not included); after an <eos>
  // only <pad> may follow. Without an <eos> the whole span is decoded.
  absl::StatusOr<std::string> DecodeCompletion(absl::Span<const int> ids) const;

  // "<pad>", "<bos>", "<eos>", the character, or "<id N?>" out of range:
  // for messages.
  std::string TokenName(int id) const;

 private:
  explicit CharTokenizer(std::string alphabet);

  std::string alphabet_;
  std::array<int, 128> id_of_{};  // ASCII → id, -1 where not in the alphabet
};

}  // namespace proxima::lm

#endif  // PROXIMA_COMMON_LM_CHAR_TOKENIZER_H_
