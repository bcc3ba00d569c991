// SeqPolicy: the sequence policy — a small decoder-only transformer over
// token ids with an LM head (the policy over the next token) and a value head
// (PPO's critic, one value per position).
//
// Architecture (pre-LayerNorm, GPT-2 style): token + learned position
// embeddings; num_layers blocks of x += proj(attention(LN(x))) and
// x += fc2(GELU(fc1(LN(x)))); a final LayerNorm; logits = lm_head(h) with no
// bias; value = value_head(h). Attention is multi-head causal self-attention
// written from matmul and a masked softmax (LibTorch 1.13 has no fused
// scaled-dot-product attention): softmax(q kᵀ / √head_dim + mask) v, the mask
// hiding every key after the query's position.
//
// Two ways to run it, equal to float rounding (seq_policy_test pins 1e-5):
//   forward(tokens)               the whole sequence, positions 0..T-1: the
//                                 training path (autograd);
//   ForwardCached(tokens, cache)  appends T tokens to a KvCache (positions
//                                 cache.length.., attending to everything the
//                                 cache holds): generation, O(length) per new
//                                 token. Call it under torch::NoGradGuard.
// Sequences are right-padded: causal attention means a real token never sees
// the padding after it, so no padding mask is needed.
//
// Initialization is seeded with Proxima's own Rng (not LibTorch's global
// generator), so a (config, seed) pair gives the same weights on every
// platform and LibTorch version: N(0, 0.02) for embeddings and weights,
// N(0, 0.02/√(2·num_layers)) for the two projections that write into the
// residual stream, zero biases, unit LayerNorm gains. Parameters are
// registered in a fixed order (named_parameters()), which defines the layout
// of snapshots and checkpoints. Float32 throughout. Not thread-safe.
#ifndef PROXIMA_COMMON_LM_SEQ_POLICY_H_
#define PROXIMA_COMMON_LM_SEQ_POLICY_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace proxima::lm {

// The model's shape. Defaults: 2 layers of width 128 with 4 heads and an MLP
// of 512 — about 0.4 M parameters with the default tokenizer.
struct SeqPolicyConfig {
  int vocab_size = 0;    // the tokenizer's (CharTokenizer::vocab_size())
  int max_seq_len = 32;  // positions: <bos>, prompt, completion, <eos>
  int d_model = 128;
  int num_layers = 2;
  int num_heads = 4;
  int d_ff = 512;

  // OK, or InvalidArgument naming the first field out of range (all
  // positive; d_model divisible by num_heads).
  absl::Status Validate() const;
  std::string DebugString() const;
};

// Per-layer keys and values of the positions run so far, for one batch of
// sequences. Preallocated to max_seq_len positions; `length` are filled.
struct KvCache {
  std::vector<torch::Tensor> keys;    // per layer [B, heads, max_seq_len, head_dim]
  std::vector<torch::Tensor> values;  // same
  int64_t batch = 0;
  int64_t length = 0;
};

struct SeqPolicyOutput {
  torch::Tensor logits;  // [B, T, vocab_size]
  torch::Tensor values;  // [B, T]
};

class SeqPolicyImpl : public torch::nn::Module {
 public:
  // `config` must pass Validate() (checked: an invalid one throws c10::Error).
  SeqPolicyImpl(const SeqPolicyConfig& config, uint64_t init_seed);

  // Tokens [B, T] (int64, ids in [0, vocab_size), T ≤ max_seq_len) at
  // positions 0..T-1.
  SeqPolicyOutput forward(const torch::Tensor& tokens);

  // Tokens [B, T] at positions cache.length.. (cache.length + T ≤
  // max_seq_len, B = cache.batch); fills the cache and advances its length.
  SeqPolicyOutput ForwardCached(const torch::Tensor& tokens, KvCache& cache);

  // An empty cache for `batch` sequences.
  KvCache NewCache(int64_t batch) const;

  const SeqPolicyConfig& config() const { return config_; }
  int64_t NumParameters() const;

 private:
  SeqPolicyOutput Run(const torch::Tensor& tokens, KvCache* cache);
  void Initialize(uint64_t seed);

  SeqPolicyConfig config_;
  torch::nn::Embedding token_embedding_{nullptr};
  torch::nn::Embedding position_embedding_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm final_norm_{nullptr};
  torch::nn::Linear lm_head_{nullptr};
  torch::nn::Linear value_head_{nullptr};
};
TORCH_MODULE(SeqPolicy);

}  // namespace proxima::lm

#endif  // PROXIMA_COMMON_LM_SEQ_POLICY_H_
