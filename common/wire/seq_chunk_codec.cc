#include "common/wire/seq_chunk_codec.h"

#include <algorithm>
#include <cstring>

#include "common/wire/chunk_codec.h"

namespace proxima {
namespace {

// Row-major [N, width] of `rows`, each right-padded with `T{}`.
template <typename T, typename Row>
std::vector<T> Padded(const std::vector<SequenceRecord>& seqs, size_t width, Row row) {
  std::vector<T> out(seqs.size() * width, T{});
  for (size_t i = 0; i < seqs.size(); ++i) {
    const auto& r = row(seqs[i]);
    for (size_t j = 0; j < r.size(); ++j) out[i * width + j] = static_cast<T>(r[j]);
  }
  return out;
}

template <typename T>
void Put(v1::TensorProto* t, v1::DType dtype, std::initializer_list<int64_t> shape,
         const std::vector<T>& v) {
  SetTensor(t, dtype, shape, v.data(), v.size() * sizeof(T));
}

// Element i of a tensor of T (the bytes may be unaligned).
template <typename T>
T At(const v1::TensorProto& t, size_t i) {
  T v;
  std::memcpy(&v, t.data().data() + i * sizeof(T), sizeof(T));
  return v;
}

}  // namespace

int64_t SequenceChunk::completion_tokens() const {
  int64_t n = 0;
  for (const SequenceRecord& s : sequences) n += static_cast<int64_t>(s.completion.size());
  return n;
}

void EncodeSequenceBatch(const SequenceChunk& c, v1::SequenceBatch* out) {
  const int64_t N = static_cast<int64_t>(c.sequences.size());
  size_t P = 0, C = 0;
  std::vector<int32_t> plen, clen;
  std::vector<float> rewards;
  std::vector<int64_t> groups;
  for (const SequenceRecord& s : c.sequences) {
    P = std::max(P, s.prompt.size());
    C = std::max(C, s.completion.size());
    plen.push_back(static_cast<int32_t>(s.prompt.size()));
    clen.push_back(static_cast<int32_t>(s.completion.size()));
    rewards.push_back(s.reward);
    groups.push_back(s.group_id);
  }
  const int64_t p = static_cast<int64_t>(P), cw = static_cast<int64_t>(C);
  out->Clear();
  out->set_num_sequences(static_cast<uint32_t>(N));
  out->set_group_size(static_cast<uint32_t>(c.group_size));
  out->set_temperature(c.temperature);
  out->set_top_k(static_cast<uint32_t>(c.top_k));
  Put(out->mutable_prompt_lengths(), v1::DTYPE_INT32, {N}, plen);
  Put(out->mutable_completion_lengths(), v1::DTYPE_INT32, {N}, clen);
  Put(out->mutable_prompt_tokens(), v1::DTYPE_INT32, {N, p},
      Padded<int32_t>(c.sequences, P, [](const SequenceRecord& s) { return s.prompt; }));
  Put(out->mutable_completion_tokens(), v1::DTYPE_INT32, {N, cw},
      Padded<int32_t>(c.sequences, C, [](const SequenceRecord& s) { return s.completion; }));
  std::vector<uint8_t> mask(static_cast<size_t>(N) * C, 0);
  for (int64_t i = 0; i < N; ++i) {
    std::fill_n(mask.begin() + i * cw, clen[i], uint8_t{1});
  }
  Put(out->mutable_completion_mask(), v1::DTYPE_UINT8, {N, cw}, mask);
  Put(out->mutable_behaviour_log_probs(), v1::DTYPE_FLOAT32, {N, cw},
      Padded<float>(c.sequences, C, [](const SequenceRecord& s) { return s.logprobs; }));
  Put(out->mutable_rewards(), v1::DTYPE_FLOAT32, {N}, rewards);
  Put(out->mutable_group_ids(), v1::DTYPE_INT64, {N}, groups);
}

SequenceChunk DecodeSequenceBatch(const v1::SequenceBatch& b) {
  SequenceChunk c;
  c.group_size = static_cast<int>(b.group_size());
  c.temperature = b.temperature();
  c.top_k = static_cast<int>(b.top_k());
  const size_t N = b.num_sequences();
  const size_t P = N == 0 ? 0 : static_cast<size_t>(b.prompt_tokens().shape(1));
  const size_t C = N == 0 ? 0 : static_cast<size_t>(b.completion_tokens().shape(1));
  c.sequences.resize(N);
  for (size_t i = 0; i < N; ++i) {
    SequenceRecord& s = c.sequences[i];
    const size_t pl = static_cast<size_t>(At<int32_t>(b.prompt_lengths(), i));
    const size_t cl = static_cast<size_t>(At<int32_t>(b.completion_lengths(), i));
    for (size_t j = 0; j < pl; ++j) s.prompt.push_back(At<int32_t>(b.prompt_tokens(), i * P + j));
    for (size_t j = 0; j < cl; ++j) {
      s.completion.push_back(At<int32_t>(b.completion_tokens(), i * C + j));
      s.logprobs.push_back(At<float>(b.behaviour_log_probs(), i * C + j));
    }
    s.reward = At<float>(b.rewards(), i);
    s.group_id = At<int64_t>(b.group_ids(), i);
  }
  return c;
}

}  // namespace proxima
