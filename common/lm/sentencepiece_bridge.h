// The SentencePiece C++ API (Debian's libsentencepiece-dev) behind plain
// standard-library types, for common/lm/sentencepiece_tokenizer.cc only.
//
// Why a bridge, and why loaded with dlopen: sentencepiece_processor.h
// declares `namespace absl { using std::string_view; }`, which collides with
// Debian's Abseil (whose absl::string_view is a class of its own), so no file
// may include both; and Debian's libsentencepiece.so.0 carries its own copy
// of protobuf-lite and exports its symbols, which interpose on the process's
// libprotobuf.so.32 (gRPC's, LibTorch's) when linked normally — libprotobuf's
// static initializers then crash. So sentencepiece_bridge.cc, which includes
// SentencePiece and no Abseil, is built into its own module
// (libproxima_spm_bridge.so, linked to libsentencepiece) that GetApi() opens
// with RTLD_LOCAL | RTLD_DEEPBIND: SentencePiece binds to its own protobuf
// copy and nothing of it enters the global symbol scope. The module hands
// back one table of functions over standard-library types (same compiler and
// libstdc++ on both sides). A loaded processor is immutable: concurrent
// calls are safe. (RTLD_DEEPBIND is not supported under AddressSanitizer.)
#ifndef PROXIMA_COMMON_LM_SENTENCEPIECE_BRIDGE_H_
#define PROXIMA_COMMON_LM_SENTENCEPIECE_BRIDGE_H_

#include <memory>
#include <string>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}  // namespace sentencepiece

namespace proxima::lm::spm {

using Processor = sentencepiece::SentencePieceProcessor;

// Piece count and the special ids (-1 when the model has none).
struct Ids {
  int size = 0;
  int pad = -1;
  int bos = -1;
  int eos = -1;
  int unk = -1;
};

// The bridge's functions. Each returns "" on success or SentencePiece's
// error message.
struct Api {
  // A processor for the serialized model `bytes`.
  std::string (*load)(const std::string& bytes, std::shared_ptr<const Processor>* out);
  Ids (*get_ids)(const Processor& p);
  std::string (*encode)(const Processor& p, const std::string& text, std::vector<int>* ids);
  std::string (*decode)(const Processor& p, const std::vector<int>& ids, std::string* text);
  std::string (*id_to_piece)(const Processor& p, int id);
  // Trains a unigram model of `vocab_size` pieces on the lines of the text
  // file `corpus` with <pad> 0, <bos> 1, <eos> 2, <unk> 3, no normalization
  // and no dummy prefix, one thread; returns it serialized in `model`.
  std::string (*train)(const std::string& corpus, int vocab_size, std::string* model);
};

// The bridge library's API, loaded on first use (thread-safe) and kept for
// the process's life; nullptr when it cannot be loaded, with the reason (the
// paths tried and dlerror()) in `error`. The library is searched at
// $PROXIMA_SPM_BRIDGE if set, then <executable dir>/../lib/proxima/,
// <executable dir>/, and where the build wrote it.
const Api* GetApi(std::string* error);

}  // namespace proxima::lm::spm

#endif  // PROXIMA_COMMON_LM_SENTENCEPIECE_BRIDGE_H_
