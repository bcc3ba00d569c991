// The body of libproxima_spm_bridge.so: includes SentencePiece and no Abseil
// (see the header), and exports one C symbol, proxima_spm_api.
#include "common/lm/sentencepiece_bridge.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <string>
#include <unordered_map>

namespace proxima::lm::spm {
namespace {

std::string Load(const std::string& bytes, std::shared_ptr<const Processor>* out) {
  auto p = std::make_shared<Processor>();
  const sentencepiece::util::Status s = p->LoadFromSerializedProto(bytes);
  if (!s.ok()) return s.ToString();
  *out = std::move(p);
  return "";
}

Ids GetIds(const Processor& p) {
  Ids ids;
  ids.size = p.GetPieceSize();
  ids.pad = p.pad_id();
  ids.bos = p.bos_id();
  ids.eos = p.eos_id();
  ids.unk = p.unk_id();
  return ids;
}

std::string Encode(const Processor& p, const std::string& text, std::vector<int>* ids) {
  const sentencepiece::util::Status s = p.Encode(text, ids);
  return s.ok() ? "" : s.ToString();
}

std::string Decode(const Processor& p, const std::vector<int>& ids, std::string* text) {
  const sentencepiece::util::Status s = p.Decode(ids, text);
  return s.ok() ? "" : s.ToString();
}

std::string IdToPiece(const Processor& p, int id) { return p.IdToPiece(id); }

std::string Train(const std::string& corpus, int vocab_size, std::string* model) {
  const std::unordered_map<std::string, std::string> args = {
      {"input", corpus},
      {"vocab_size", std::to_string(vocab_size)},
      {"model_type", "unigram"},
      {"pad_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"unk_id", "3"},
      {"normalization_rule_name", "identity"},
      {"add_dummy_prefix", "false"},
      {"minloglevel", "2"},
      {"num_threads", "1"},
  };
  const sentencepiece::util::Status s =
      sentencepiece::SentencePieceTrainer::Train(args, nullptr, model);
  return s.ok() ? "" : s.ToString();
}

}  // namespace
}  // namespace proxima::lm::spm

extern "C" __attribute__((visibility("default"))) const proxima::lm::spm::Api* proxima_spm_api() {
  namespace spm = proxima::lm::spm;
  static const spm::Api api = {spm::Load,   spm::GetIds,    spm::Encode,
                               spm::Decode, spm::IdToPiece, spm::Train};
  return &api;
}
