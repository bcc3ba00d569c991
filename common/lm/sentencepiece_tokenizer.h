// SentencePieceTokenizer: a Tokenizer (common/lm/tokenizer.h) backed by a
// SentencePiece model (Debian's libsentencepiece-dev), for user corpora.
//
// A model is usable when it maps the special tokens to Proxima's ids —
// <pad> 0, <bos> 1, <eos> 2 — so the policy, generation and SFT batches
// treat it like the character tokenizer; TrainSentencePieceModel makes such
// models (and <unk> 3). Encode() is SentencePiece's segmentation (no special
// tokens); Decode() refuses <pad>/<bos>/<eos> and ids outside the vocabulary,
// naming the id and its position, and renders <unk> as SentencePiece does.
// Its TokenizerSpec is kind "sentencepiece" with the serialized model as
// data, so a checkpoint carries the whole tokenizer. Immutable once made:
// thread-safe.
#ifndef PROXIMA_COMMON_LM_SENTENCEPIECE_TOKENIZER_H_
#define PROXIMA_COMMON_LM_SENTENCEPIECE_TOKENIZER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/lm/sentencepiece_bridge.h"
#include "common/lm/tokenizer.h"

namespace proxima::lm {

class SentencePieceTokenizer : public Tokenizer {
 public:
  // The tokenizer of a serialized model. InvalidArgument when the bytes are
  // not a SentencePiece model or its <pad>/<bos>/<eos> ids are not 0/1/2;
  // FailedPrecondition when the bridge module cannot be loaded
  // (common/lm/sentencepiece_bridge.h).
  static absl::StatusOr<std::unique_ptr<SentencePieceTokenizer>> FromSerializedModel(
      const std::string& bytes);
  // The same from a model file (`proxima lm tokenizer --out`, spm_train's
  // .model). NotFound for a missing file.
  static absl::StatusOr<std::unique_ptr<SentencePieceTokenizer>> FromFile(
      const std::string& path);

  int vocab_size() const override { return ids_.size; }
  TokenizerSpec spec() const override { return {kSentencePieceTokenizerKind, bytes_}; }
  absl::StatusOr<std::vector<int>> Encode(absl::string_view text) const override;
  absl::StatusOr<std::string> Decode(absl::Span<const int> ids) const override;

 protected:
  std::string PieceName(int id) const override;

 private:
  SentencePieceTokenizer(const spm::Api* api, std::string bytes,
                         std::shared_ptr<const spm::Processor> processor);

  const spm::Api* api_;
  std::string bytes_;
  std::shared_ptr<const spm::Processor> processor_;
  spm::Ids ids_;
};

// Trains a SentencePiece unigram model of `vocab_size` pieces (specials
// included) on the lines of the text file `corpus` and returns it
// serialized. InvalidArgument for vocab_size < 8 (the four specials and a
// few pieces) or a corpus SentencePiece refuses (e.g. too few distinct
// characters for the vocabulary), NotFound for a missing corpus.
absl::StatusOr<std::string> TrainSentencePieceModel(const std::string& corpus, int vocab_size);

}  // namespace proxima::lm

#endif  // PROXIMA_COMMON_LM_SENTENCEPIECE_TOKENIZER_H_
