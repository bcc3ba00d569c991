#include "common/policy/policy_inference.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace proxima {
namespace {

constexpr double kHalfLog2Pi = 0.91893853320467274178;  // as in ActorCritic::LogProbEntropy

std::string Shape(const at::Tensor& t) { return absl::StrCat("[", absl::StrJoin(t.sizes(), ","), "]"); }

}  // namespace

PolicyInference::PolicyInference(const PolicyShape& shape, int batch)
    : shape_(shape),
      batch_(batch),
      discrete_(shape.action_space.is_discrete()),
      relu_(shape.model.activation == "relu"),
      num_outputs_(shape.action_space.is_discrete() ? shape.action_space.n
                                                    : shape.action_space.flat_dim()) {
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  input_ = at::zeros({batch_, shape_.obs_dim}, f32);
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
  const std::string trunk = shape_.model.shared_trunk ? "trunk." : "policy_trunk.";
  std::vector<at::Tensor> weights, biases;
  at::Tensor head_w, head_b, log_std;
  for (const auto& item : model->named_parameters()) {
    const std::string& key = item.key();
    at::Tensor p = item.value().detach();
    if (absl::StartsWith(key, trunk)) {
      (absl::EndsWith(key, ".weight") ? weights : biases).push_back(p);
    } else if (key == "policy_head.weight") {
      head_w = p;
    } else if (key == "policy_head.bias") {
      head_b = p;
    } else if (key == "log_std") {
      log_std = p;
    }
  }
  weights.push_back(head_w);
  biases.push_back(head_b);
  if (weights.size() != layers_.size() || biases.size() != layers_.size() ||
      !head_w.defined() || !head_b.defined() || (!discrete_ && !log_std.defined())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PolicyInference: snapshot version ", snapshot->version, " has ", weights.size(),
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

void PolicyInference::Act(const float* raw_obs, Rng& rng, float* actions, float* logp,
                          bool deterministic) {
  const NormalizerState& norm = policy_->normalizer;
  float* in = input_.data_ptr<float>();
  if (norm.enabled) {
    norm.stats.Normalize(raw_obs, in, batch_, norm.clip);
  } else {
    std::memcpy(in, raw_obs, sizeof(float) * batch_ * shape_.obs_dim);
  }

  {
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
    if (discrete_) at::_log_softmax_out(log_probs_, layers_.back().out, 1, false);
  }

  const int k = num_outputs_;
  if (discrete_) {
    const float* lp = log_probs_.data_ptr<float>();
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
  const float* mean = layers_.back().out.data_ptr<float>();
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
