// CharTokenizer: the character-level vocabulary of the built-in sequence
// tasks (common/lm/task.h) and the sequence policy (common/lm/seq_policy.h).
//
// Ids 0, 1, 2 are the special tokens <pad>, <bos>, <eos>; id 3 + i is the i-th
// character of the alphabet. The default alphabet (kDefaultAlphabet) holds the
// digits and every symbol a built-in task writes; an alphabet is part of a
// model's meaning (it fixes the rows of the embedding and the LM head), so a
// changed alphabet is a different vocabulary, never a compatible one.
//
// It implements Tokenizer (common/lm/tokenizer.h: Encode, Decode,
// EncodePrompt, DecodeCompletion and their errors); its TokenizerSpec is kind
// "char" with the alphabet as data. Every error is InvalidArgument naming the
// offending character or id and its position. Immutable once made:
// thread-safe.
#ifndef PROXIMA_COMMON_LM_CHAR_TOKENIZER_H_
#define PROXIMA_COMMON_LM_CHAR_TOKENIZER_H_

#include <array>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/lm/tokenizer.h"

namespace proxima::lm {

// Digits, the arithmetic symbols, '=' ending every prompt, and the letters
// that name the string tasks ('r' reverse, 's' sort).
inline constexpr absl::string_view kDefaultAlphabet = "0123456789+-*=rs";

class CharTokenizer : public Tokenizer {
 public:
  static constexpr int kNumSpecial = 3;  // <pad>, <bos>, <eos>

  // The tokenizer of kDefaultAlphabet.
  CharTokenizer();

  // A tokenizer for `alphabet`: printable ASCII characters (0x21-0x7e, no
  // space), each once, at least one. InvalidArgument naming the first
  // character that breaks this.
  static absl::StatusOr<CharTokenizer> Create(absl::string_view alphabet);

  // Number of ids: kNumSpecial + alphabet size.
  int vocab_size() const override { return kNumSpecial + static_cast<int>(alphabet_.size()); }
  const std::string& alphabet() const { return alphabet_; }
  TokenizerSpec spec() const override { return {kCharTokenizerKind, alphabet_}; }

  // Ids of `text`'s characters, no special tokens.
  absl::StatusOr<std::vector<int>> Encode(absl::string_view text) const override;
  absl::StatusOr<std::string> Decode(absl::Span<const int> ids) const override;

 protected:
  std::string PieceName(int id) const override;

 private:
  explicit CharTokenizer(std::string alphabet);

  std::string alphabet_;
  std::array<int, 128> id_of_{};  // ASCII → id, -1 where not in the alphabet
};

}  // namespace proxima::lm

#endif  // PROXIMA_COMMON_LM_CHAR_TOKENIZER_H_
