#include "common/lm/seq_policy.h"

#include <torch/types.h>
#include <torch/utils.h>

#include <cmath>
#include <limits>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/rng.h"

namespace proxima::lm {
namespace {

// One pre-LayerNorm transformer block: causal multi-head self-attention and
// an MLP, each added to the residual stream.
class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const SeqPolicyConfig& c)
      : heads_(c.num_heads),
        head_dim_(c.d_model / c.num_heads),
        scale_(1.0 / std::sqrt(static_cast<double>(c.d_model / c.num_heads))) {
    const int64_t d = c.d_model;
    ln1_ = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    qkv_ = register_module("qkv", torch::nn::Linear(d, 3 * d));
    proj_ = register_module("proj", torch::nn::Linear(d, d));
    ln2_ = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    fc1_ = register_module("fc1", torch::nn::Linear(d, c.d_ff));
    fc2_ = register_module("fc2", torch::nn::Linear(c.d_ff, d));
  }

  // x [B, T, d] at positions past..past+T-1. `mask` [T, past+T] is true on
  // the keys each query must not see (undefined when T == 1: a single new
  // query sees every key). With a cache (keys, values non-null) this
  // block's keys and values for the T positions are written into it and
  // attention runs over all past+T of them.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, torch::Tensor* keys,
                        torch::Tensor* values, int64_t past) {
    const int64_t batch = x.size(0);
    const int64_t t = x.size(1);
    const int64_t d = x.size(2);
    // [B, T, 3d] → [3, B, heads, T, head_dim]
    torch::Tensor qkv = qkv_->forward(ln1_->forward(x))
                            .view({batch, t, 3, heads_, head_dim_})
                            .permute({2, 0, 3, 1, 4});
    torch::Tensor q = qkv[0];
    torch::Tensor k = qkv[1];
    torch::Tensor v = qkv[2];
    if (keys != nullptr) {
      keys->narrow(2, past, t).copy_(k);
      values->narrow(2, past, t).copy_(v);
      k = keys->narrow(2, 0, past + t);
      v = values->narrow(2, 0, past + t);
    }
    torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)) * scale_;  // [B, h, T, S]
    if (mask.defined()) {
      scores = scores.masked_fill(mask, -std::numeric_limits<float>::infinity());
    }
    torch::Tensor attended = torch::matmul(torch::softmax(scores, -1), v);  // [B, h, T, hd]
    torch::Tensor h = x + proj_->forward(attended.transpose(1, 2).reshape({batch, t, d}));
    return h + fc2_->forward(torch::gelu(fc1_->forward(ln2_->forward(h))));
  }

 private:
  int64_t heads_;
  int64_t head_dim_;
  double scale_;
  torch::nn::LayerNorm ln1_{nullptr};
  torch::nn::Linear qkv_{nullptr};
  torch::nn::Linear proj_{nullptr};
  torch::nn::LayerNorm ln2_{nullptr};
  torch::nn::Linear fc1_{nullptr};
  torch::nn::Linear fc2_{nullptr};
};

}  // namespace

absl::Status SeqPolicyConfig::Validate() const {
  auto in_range = [](const char* name, int value, int lo, int hi) -> absl::Status {
    if (value < lo || value > hi) {
      return absl::InvalidArgumentError(
          absl::StrCat("sequence policy ", name, " = ", value, " is outside [", lo, ", ", hi, "]"));
    }
    return absl::OkStatus();
  };
  for (const absl::Status& s :
       {in_range("vocab_size", vocab_size, 1, 1 << 20),
        in_range("max_seq_len", max_seq_len, 2, 4096), in_range("d_model", d_model, 1, 8192),
        in_range("num_layers", num_layers, 1, 128), in_range("num_heads", num_heads, 1, 256),
        in_range("d_ff", d_ff, 1, 65536)}) {
    if (!s.ok()) return s;
  }
  if (d_model % num_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat("sequence policy d_model = ", d_model,
                                                   " is not divisible by num_heads = ", num_heads));
  }
  return absl::OkStatus();
}

std::string SeqPolicyConfig::DebugString() const {
  return absl::StrCat("vocab ", vocab_size, ", max_seq_len ", max_seq_len, ", d_model ", d_model,
                      ", layers ", num_layers, ", heads ", num_heads, ", d_ff ", d_ff);
}

SeqPolicyImpl::SeqPolicyImpl(const SeqPolicyConfig& config, uint64_t init_seed) : config_(config) {
  const absl::Status valid = config.Validate();
  TORCH_CHECK(valid.ok(), valid.ToString());
  token_embedding_ =
      register_module("token_embedding", torch::nn::Embedding(config.vocab_size, config.d_model));
  position_embedding_ = register_module("position_embedding",
                                        torch::nn::Embedding(config.max_seq_len, config.d_model));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int i = 0; i < config.num_layers; ++i)
    blocks_->push_back(std::make_shared<BlockImpl>(config));
  final_norm_ = register_module(
      "final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.d_model})));
  lm_head_ = register_module(
      "lm_head",
      torch::nn::Linear(torch::nn::LinearOptions(config.d_model, config.vocab_size).bias(false)));
  value_head_ = register_module("value_head", torch::nn::Linear(config.d_model, 1));
  Initialize(init_seed);
}

void SeqPolicyImpl::Initialize(uint64_t seed) {
  torch::NoGradGuard no_grad;
  Rng rng(seed);
  const double residual_std = 0.02 / std::sqrt(2.0 * config_.num_layers);
  std::vector<float> draws;
  for (auto& item : named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    torch::Tensor& p = item.value();
    if (absl::EndsWith(name, ".bias")) {
      p.zero_();
    } else if (absl::EndsWith(name, "ln1.weight") || absl::EndsWith(name, "ln2.weight") ||
               name == "final_norm.weight") {
      p.fill_(1.0);
    } else {
      const double std = absl::EndsWith(name, ".proj.weight") || absl::EndsWith(name, ".fc2.weight")
                             ? residual_std
                             : 0.02;
      draws.resize(static_cast<size_t>(p.numel()));
      for (float& w : draws) w = static_cast<float>(std * rng.Normal());
      p.copy_(torch::from_blob(draws.data(), p.sizes(), torch::kFloat32));
    }
  }
}

SeqPolicyOutput SeqPolicyImpl::forward(const torch::Tensor& tokens) { return Run(tokens, nullptr); }

SeqPolicyOutput SeqPolicyImpl::ForwardCached(const torch::Tensor& tokens, KvCache& cache) {
  return Run(tokens, &cache);
}

KvCache SeqPolicyImpl::NewCache(int64_t batch) const {
  KvCache cache;
  cache.batch = batch;
  const int64_t head_dim = config_.d_model / config_.num_heads;
  const auto options = lm_head_->weight.options().requires_grad(false);
  for (int i = 0; i < config_.num_layers; ++i) {
    cache.keys.push_back(
        torch::zeros({batch, config_.num_heads, config_.max_seq_len, head_dim}, options));
    cache.values.push_back(
        torch::zeros({batch, config_.num_heads, config_.max_seq_len, head_dim}, options));
  }
  return cache;
}

int64_t SeqPolicyImpl::NumParameters() const {
  int64_t n = 0;
  for (const torch::Tensor& p : parameters()) n += p.numel();
  return n;
}

SeqPolicyOutput SeqPolicyImpl::Run(const torch::Tensor& tokens, KvCache* cache) {
  TORCH_CHECK(tokens.dim() == 2 && tokens.scalar_type() == torch::kLong,
              "SeqPolicy: tokens must be int64 [batch, length], got ", tokens.scalar_type(), " ",
              tokens.sizes());
  const int64_t batch = tokens.size(0);
  const int64_t t = tokens.size(1);
  const int64_t past = cache != nullptr ? cache->length : 0;
  TORCH_CHECK(batch > 0 && t > 0, "SeqPolicy: empty tokens ", tokens.sizes());
  TORCH_CHECK(past + t <= config_.max_seq_len, "SeqPolicy: ", past + t,
              " positions exceed max_seq_len ", config_.max_seq_len);
  TORCH_CHECK(cache == nullptr || cache->batch == batch, "SeqPolicy: a cache for ",
              cache == nullptr ? 0 : cache->batch, " sequences given ", batch);
  const int64_t lo = tokens.min().item<int64_t>();
  const int64_t hi = tokens.max().item<int64_t>();
  TORCH_CHECK(lo >= 0 && hi < config_.vocab_size, "SeqPolicy: token ids span [", lo, ", ", hi,
              "], outside the vocabulary [0, ", config_.vocab_size, ")");

  const torch::Tensor positions =
      torch::arange(past, past + t, tokens.options().dtype(torch::kLong));
  torch::Tensor x = token_embedding_->forward(tokens) + position_embedding_->forward(positions);
  torch::Tensor mask;  // [T, past+T], true above the shifted diagonal: the future
  if (t > 1) {
    mask = torch::ones({t, past + t}, tokens.options().dtype(torch::kBool)).triu(past + 1);
  }
  for (size_t i = 0; i < blocks_->size(); ++i) {
    x = blocks_[i]->as<BlockImpl>()->forward(x, mask, cache ? &cache->keys[i] : nullptr,
                                             cache ? &cache->values[i] : nullptr, past);
  }
  if (cache != nullptr) cache->length = past + t;
  const torch::Tensor h = final_norm_->forward(x);
  return SeqPolicyOutput{lm_head_->forward(h), value_head_->forward(h).squeeze(-1)};
}

}  // namespace proxima::lm
