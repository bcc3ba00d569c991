#include "common/policy/policy_inference.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/fused/mlp_layout.h"

namespace proxima {
namespace {

constexpr double kHalfLog2Pi = 0.91893853320467274178;  // as in ActorCritic::LogProbEntropy

std::string Shape(const at::Tensor& t) { return absl::StrCat("[", absl::StrJoin(t.sizes(), ","), "]"); }

// out[i, :] = log_softmax(x[i, :]) in float, as LibTorch's CPU kernel for the
// last dimension computes it: m = max, s = Σ exp(x − m), x − m − log(s).
void LogSoftmaxRows(const float* x, int rows, int k, float* out) {
  for (int i = 0; i < rows; ++i) {
    const float* r = x + static_cast<int64_t>(i) * k;
    float* o = out + static_cast<int64_t>(i) * k;
    float m = r[0];
    for (int j = 1; j < k; ++j) m = r[j] > m ? r[j] : m;
    float sum = 0.0f;
    for (int j = 0; j < k; ++j) sum += std::exp(r[j] - m);
    const float log_sum = std::log(sum);
    for (int j = 0; j < k; ++j) o[j] = r[j] - m - log_sum;
  }
}

}  // namespace

absl::StatusOr<InferenceEngine> ParseInferenceEngine(absl::string_view engine) {
  if (engine == "auto" || engine == "fused") return InferenceEngine::kFused;
  if (engine == "torch") return InferenceEngine::kTorch;
  return absl::InvalidArgumentError(
      absl::StrCat("--engine must be one of auto, fused, torch (got '", engine, "')"));
}

const char* InferenceEngineName(InferenceEngine engine) {
  return engine == InferenceEngine::kFused ? "fused" : "torch";
}

PolicyInference::PolicyInference(const PolicyShape& shape, int batch, InferenceEngine engine)
    : shape_(shape),
      batch_(batch),
      engine_(engine),
      discrete_(shape.action_space.is_discrete()),
      relu_(shape.model.activation == "relu"),
      num_outputs_(shape.action_space.is_discrete() ? shape.action_space.n
                                                    : shape.action_space.flat_dim()) {
  if (engine_ == InferenceEngine::kFused) {
    absl::StatusOr<fused::MlpLayout> layout =
        fused::MakeMlpLayout(shape_.obs_dim, shape_.action_space, shape_.model);
    absl::StatusOr<fused::PolicyForward> forward =
        layout.ok() ? fused::PolicyForward::Create(*layout, std::max(batch_, 1))
                    : absl::StatusOr<fused::PolicyForward>(layout.status());
    if (!forward.ok()) {
      layout_error_ = absl::InvalidArgumentError(
          absl::StrCat("PolicyInference (fused engine): ", forward.status().message()));
      return;
    }
    fused_.emplace(*std::move(forward));
    fused_input_.assign(static_cast<size_t>(batch_) * shape_.obs_dim, 0.0f);
    fused_params_.assign(static_cast<size_t>(fused_->layout().total), 0.0f);
    fused_out_.assign(static_cast<size_t>(batch_) * num_outputs_, 0.0f);
    if (discrete_) fused_logp_.assign(fused_out_.size(), 0.0f);
    input_data_ = fused_input_.data();
    return;
  }
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  input_ = at::zeros({batch_, shape_.obs_dim}, f32);
  input_data_ = input_.data_ptr<float>();
  for (int width : shape_.model.hidden_sizes) {
    layers_.push_back(Layer{at::Tensor(), at::Tensor(), at::zeros({batch_, width}, f32)});
  }
  layers_.push_back(Layer{at::Tensor(), at::Tensor(), at::zeros({batch_, num_outputs_}, f32)});
  if (discrete_) log_probs_ = at::zeros({batch_, num_outputs_}, f32);
}

absl::Status PolicyInference::SetPolicy(std::shared_ptr<const PolicySnapshot> snapshot) {
  if (snapshot == nullptr || snapshot->model.is_empty()) {
    return absl::InvalidArgumentError("PolicyInference: no snapshot");
  }
  ActorCritic& model = const_cast<ActorCritic&>(snapshot->model);
  if (model->discrete() != discrete_ || model->obs_dim() != shape_.obs_dim ||
      model->action_dim() != num_outputs_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PolicyInference: snapshot version ", snapshot->version, " has obs_dim ",
        model->obs_dim(), " and ", model->action_dim(), " outputs, expected ", shape_.obs_dim,
        " and ", num_outputs_));
  }
  at::Tensor log_std;
  if (!discrete_) {
    for (const auto& item : model->named_parameters()) {
      if (item.key() == "log_std") log_std = item.value().detach();
    }
    if (!log_std.defined() || log_std.numel() != num_outputs_ ||
        log_std.scalar_type() != at::kFloat) {
      return absl::InvalidArgumentError(absl::StrCat(
          "PolicyInference: snapshot version ", snapshot->version,
          " has no float32 log_std of ", num_outputs_, " values"));
    }
  }
  absl::Status bound =
      engine_ == InferenceEngine::kFused ? BindFused(*snapshot) : BindTorch(*snapshot);
  if (!bound.ok()) return bound;
  if (!discrete_) {
    at::Tensor ls = log_std.contiguous();
    at::Tensor inv = at::exp(-ls).contiguous();  // the same kernel LogProbEntropy uses
    log_std_.assign(ls.data_ptr<float>(), ls.data_ptr<float>() + num_outputs_);
    inv_std_.assign(inv.data_ptr<float>(), inv.data_ptr<float>() + num_outputs_);
    std_.resize(num_outputs_);
    for (int j = 0; j < num_outputs_; ++j) std_[j] = std::exp(log_std_[j]);
  }
  policy_ = std::move(snapshot);
  return absl::OkStatus();
}

absl::Status PolicyInference::BindTorch(const PolicySnapshot& snapshot) {
  ActorCritic& model = const_cast<ActorCritic&>(snapshot.model);
  const std::string trunk = shape_.model.shared_trunk ? "trunk." : "policy_trunk.";
  std::vector<at::Tensor> weights, biases;
  at::Tensor head_w, head_b;
  for (const auto& item : model->named_parameters()) {
    const std::string& key = item.key();
    at::Tensor p = item.value().detach();
    if (absl::StartsWith(key, trunk)) {
      (absl::EndsWith(key, ".weight") ? weights : biases).push_back(p);
    } else if (key == "policy_head.weight") {
      head_w = p;
    } else if (key == "policy_head.bias") {
      head_b = p;
    }
  }
  weights.push_back(head_w);
  biases.push_back(head_b);
  if (weights.size() != layers_.size() || biases.size() != layers_.size() ||
      !head_w.defined() || !head_b.defined()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PolicyInference: snapshot version ", snapshot.version, " has ", weights.size(),
        " policy layers, expected ", layers_.size()));
  }
  int64_t in = shape_.obs_dim;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const int64_t out = layers_[i].out.size(1);
    if (weights[i].dim() != 2 || weights[i].size(0) != out || weights[i].size(1) != in ||
        biases[i].dim() != 1 || biases[i].size(0) != out ||
        weights[i].scalar_type() != at::kFloat || biases[i].scalar_type() != at::kFloat) {
      return absl::InvalidArgumentError(absl::StrCat(
          "PolicyInference: policy layer ", i, " has weight ", Shape(weights[i]), " bias ",
          Shape(biases[i]), ", expected [", out, ",", in, "] and [", out, "] float32"));
    }
    // addmm with a transposed view is exactly what Linear::forward runs
    // (at::linear -> addmm(bias, x, weight.t())); pre-expanding the bias to
    // the output shape lets addmm_out borrow it instead of allocating an
    // expanded copy on every call.
    layers_[i].weight_t = weights[i].t();
    layers_[i].bias = biases[i].expand({batch_, out});
    in = out;
  }
  return absl::OkStatus();
}

absl::Status PolicyInference::BindFused(const PolicySnapshot& snapshot) {
  if (!fused_) return layout_error_;
  ActorCritic& model = const_cast<ActorCritic&>(snapshot.model);
  const auto named = model->named_parameters();
  const std::string trunk = shape_.model.shared_trunk ? "trunk." : "policy_trunk.";
  // Only the policy half is read; the value half stays zero here.
  for (const fused::ParamBlock& block : fused_->layout().params) {
    if (!absl::StartsWith(block.name, trunk) && !absl::StartsWith(block.name, "policy_head.")) {
      continue;
    }
    const at::Tensor* found = named.find(block.name);
    if (found == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("PolicyInference: snapshot version ",
                                                     snapshot.version, " has no parameter ",
                                                     block.name));
    }
    const at::Tensor p = found->detach();
    if (p.sizes() != at::IntArrayRef(block.shape) || p.scalar_type() != at::kFloat) {
      return absl::InvalidArgumentError(absl::StrCat(
          "PolicyInference: snapshot version ", snapshot.version, " has ", block.name, " ",
          Shape(p), " ", at::toString(p.scalar_type()), ", expected [",
          absl::StrJoin(block.shape, ","), "] float32"));
    }
    const at::Tensor c = p.contiguous();
    std::memcpy(fused_params_.data() + block.offset, c.data_ptr<float>(),
                sizeof(float) * static_cast<size_t>(block.size));
  }
  fused_->SetParams(fused_params_.data());
  return absl::OkStatus();
}

const float* PolicyInference::ForwardTorch() {
  c10::InferenceMode inference;
  const at::Tensor* x = &input_;
  const size_t hidden = layers_.size() - 1;
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& l = layers_[i];
    at::addmm_out(l.out, l.bias, *x, l.weight_t);
    if (i < hidden) {
      if (relu_) {
        at::relu_(l.out);
      } else {
        at::tanh_(l.out);
      }
    }
    x = &l.out;
  }
  if (!discrete_) return layers_.back().out.data_ptr<float>();
  at::_log_softmax_out(log_probs_, layers_.back().out, 1, false);
  return log_probs_.data_ptr<float>();
}

const float* PolicyInference::ForwardFused() {
  fused_->Run(input_data_, batch_, fused_out_.data());
  if (!discrete_) return fused_out_.data();
  LogSoftmaxRows(fused_out_.data(), batch_, num_outputs_, fused_logp_.data());
  return fused_logp_.data();
}

void PolicyInference::Act(const float* raw_obs, Rng& rng, float* actions, float* logp,
                          bool deterministic) {
  const NormalizerState& norm = policy_->normalizer;
  float* in = input_data_;
  if (norm.enabled) {
    norm.stats.Normalize(raw_obs, in, batch_, norm.clip);
  } else {
    std::memcpy(in, raw_obs, sizeof(float) * batch_ * shape_.obs_dim);
  }
  // Discrete: [batch, k] log-probs; Box: [batch, k] means.
  const float* rows = engine_ == InferenceEngine::kFused ? ForwardFused() : ForwardTorch();

  const int k = num_outputs_;
  if (discrete_) {
    const float* lp = rows;
    for (int i = 0; i < batch_; ++i) {
      const float* row = lp + static_cast<int64_t>(i) * k;
      int choice = 0;
      if (deterministic) {
        for (int j = 1; j < k; ++j) {
          if (row[j] > row[choice]) choice = j;
        }
      } else {
        // Inverse CDF; the total is ~1 but not exactly, so scale u by it.
        double total = 0;
        for (int j = 0; j < k; ++j) total += std::exp(static_cast<double>(row[j]));
        double u = rng.Uniform() * total;
        choice = k - 1;
        for (int j = 0; j < k; ++j) {
          u -= std::exp(static_cast<double>(row[j]));
          if (u < 0) {
            choice = j;
            break;
          }
        }
      }
      actions[i] = static_cast<float>(choice);
      logp[i] = row[choice];
    }
    return;
  }
  const float* mean = rows;
  const float half_log_2pi = static_cast<float>(kHalfLog2Pi);
  for (int i = 0; i < batch_; ++i) {
    float sum = 0.0f;
    for (int j = 0; j < k; ++j) {
      const int64_t idx = static_cast<int64_t>(i) * k + j;
      const float a = deterministic ? mean[idx]
                                    : static_cast<float>(mean[idx] + std_[j] * rng.Normal());
      actions[idx] = a;
      // Same float operations, in the same order, as LogProbEntropy.
      const float z = (a - mean[idx]) * inv_std_[j];
      float term = (-0.5f * z) * z;
      term = term - log_std_[j];
      term = term - half_log_2pi;
      sum += term;
    }
    logp[i] = sum;
  }
}

}  // namespace proxima
