#include "common/lm/sentencepiece_tokenizer.h"

#include <sys/stat.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace proxima::lm {

namespace {

// The bridge's functions, or FailedPrecondition saying why it cannot load.
absl::StatusOr<const spm::Api*> Api() {
  std::string error;
  const spm::Api* api = spm::GetApi(&error);
  if (api == nullptr) return absl::FailedPreconditionError(error);
  return api;
}

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(const spm::Api* api, std::string bytes,
                                               std::shared_ptr<const spm::Processor> processor)
    : api_(api),
      bytes_(std::move(bytes)),
      processor_(std::move(processor)),
      ids_(api_->get_ids(*processor_)) {}

absl::StatusOr<std::unique_ptr<SentencePieceTokenizer>> SentencePieceTokenizer::FromSerializedModel(
    const std::string& bytes) {
  PROXIMA_ASSIGN_OR_RETURN(const spm::Api* api, Api());
  std::shared_ptr<const spm::Processor> processor;
  if (const std::string e = api->load(bytes, &processor); !e.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a SentencePiece model (", bytes.size(), " bytes): ", e));
  }
  const spm::Ids ids = api->get_ids(*processor);
  if (ids.pad != kPad || ids.bos != kBos || ids.eos != kEos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the SentencePiece model maps <pad>, <bos>, <eos> to ", ids.pad, ", ", ids.bos, ", ",
        ids.eos, "; Proxima needs 0, 1, 2 (train it with `proxima lm tokenizer`, or spm_train "
        "--pad_id=0 --bos_id=1 --eos_id=2 --unk_id=3)"));
  }
  return std::unique_ptr<SentencePieceTokenizer>(
      new SentencePieceTokenizer(api, bytes, std::move(processor)));
}

absl::StatusOr<std::unique_ptr<SentencePieceTokenizer>> SentencePieceTokenizer::FromFile(
    const std::string& path) {
  PROXIMA_ASSIGN_OR_RETURN(const std::string bytes, ReadFile(path));
  absl::StatusOr<std::unique_ptr<SentencePieceTokenizer>> t = FromSerializedModel(bytes);
  if (!t.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", t.status().message()));
  return t;
}

absl::StatusOr<std::vector<int>> SentencePieceTokenizer::Encode(absl::string_view text) const {
  std::vector<int> ids;
  if (const std::string e = api_->encode(*processor_, std::string(text), &ids); !e.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot encode \"", text, "\": ", e));
  }
  return ids;
}

absl::StatusOr<std::string> SentencePieceTokenizer::Decode(absl::Span<const int> ids) const {
  for (size_t i = 0; i < ids.size(); ++i) {
    const int id = ids[i];
    if (id < 0 || id >= vocab_size()) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", id, " at position ", i,
                                                     " is outside the vocabulary [0, ",
                                                     vocab_size(), ")"));
    }
    if (id == kPad || id == kBos || id == kEos) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", id, " (", TokenName(id),
                                                     ") at position ", i,
                                                     " is a special token, which has no text"));
    }
  }
  std::string text;
  const std::vector<int> all(ids.begin(), ids.end());
  if (const std::string e = api_->decode(*processor_, all, &text); !e.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot decode: ", e));
  }
  return text;
}

std::string SentencePieceTokenizer::PieceName(int id) const {
  return api_->id_to_piece(*processor_, id);
}

absl::StatusOr<std::string> TrainSentencePieceModel(const std::string& corpus, int vocab_size) {
  if (vocab_size < 8) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a SentencePiece vocabulary of ", vocab_size,
        " is too small: it needs at least 8 (<pad>, <bos>, <eos>, <unk> and some pieces)"));
  }
  struct stat st;
  if (::stat(corpus.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat("no such corpus file: ", corpus));
  }
  PROXIMA_ASSIGN_OR_RETURN(const spm::Api* api, Api());
  std::string model;
  if (const std::string e = api->train(corpus, vocab_size, &model); !e.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("SentencePiece cannot train on ", corpus, ": ", e));
  }
  return model;
}

}  // namespace proxima::lm
