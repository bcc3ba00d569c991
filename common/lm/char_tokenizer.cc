#include "common/lm/char_tokenizer.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace proxima::lm {
namespace {

// 'c' for a printable character, else its hex code: for messages.
std::string CharName(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return absl::StrFormat("'%c' (0x%02x)", c, u);
  return absl::StrFormat("byte 0x%02x", u);
}

}  // namespace

CharTokenizer::CharTokenizer() : CharTokenizer(std::string(kDefaultAlphabet)) {}

CharTokenizer::CharTokenizer(std::string alphabet) : alphabet_(std::move(alphabet)) {
  id_of_.fill(-1);
  for (size_t i = 0; i < alphabet_.size(); ++i) {
    id_of_[static_cast<unsigned char>(alphabet_[i])] = kNumSpecial + static_cast<int>(i);
  }
}

absl::StatusOr<CharTokenizer> CharTokenizer::Create(absl::string_view alphabet) {
  if (alphabet.empty()) {
    return absl::InvalidArgumentError("tokenizer alphabet is empty");
  }
  std::array<bool, 128> seen{};
  for (size_t i = 0; i < alphabet.size(); ++i) {
    const auto u = static_cast<unsigned char>(alphabet[i]);
    if (u < 0x21 || u > 0x7e) {
      return absl::InvalidArgumentError(absl::StrCat("tokenizer alphabet \"", alphabet,
                                                     "\": ", CharName(alphabet[i]), " at position ",
                                                     i, " is not printable ASCII without space"));
    }
    if (seen[u]) {
      return absl::InvalidArgumentError(absl::StrCat("tokenizer alphabet \"", alphabet,
                                                     "\": ", CharName(alphabet[i]), " at position ",
                                                     i, " appears twice"));
    }
    seen[u] = true;
  }
  return CharTokenizer(std::string(alphabet));
}

absl::StatusOr<std::vector<int>> CharTokenizer::Encode(absl::string_view text) const {
  std::vector<int> ids;
  ids.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    const int id = u < 128 ? id_of_[u] : -1;
    if (id < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(CharName(text[i]), " at position ", i, " of \"", text,
                       "\" is not in the vocabulary \"", alphabet_, "\""));
    }
    ids.push_back(id);
  }
  return ids;
}

absl::StatusOr<std::string> CharTokenizer::Decode(absl::Span<const int> ids) const {
  std::string text;
  text.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const int id = ids[i];
    if (id < kNumSpecial || id >= vocab_size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("token id ", id, " (", TokenName(id), ") at position ", i,
                       id < 0 || id >= vocab_size()
                           ? absl::StrCat(" is outside the vocabulary [0, ", vocab_size(), ")")
                           : " is a special token, which has no text"));
    }
    text.push_back(alphabet_[id - kNumSpecial]);
  }
  return text;
}

std::string CharTokenizer::PieceName(int id) const {
  return std::string(1, alphabet_[id - kNumSpecial]);
}

}  // namespace proxima::lm
