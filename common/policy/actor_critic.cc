#include "common/policy/actor_critic.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>

#include <cmath>

namespace proxima {
namespace {

void InitLinear(torch::nn::Linear& layer, double gain) {
  torch::NoGradGuard no_grad;
  torch::nn::init::orthogonal_(layer->weight, gain);
  torch::nn::init::zeros_(layer->bias);
}

}  // namespace

ActorCriticImpl::ActorCriticImpl(int obs_dim, const Space& action_space, const ModelSpec& spec,
                                 bool initialize)
    : discrete_(action_space.is_discrete()),
      obs_dim_(obs_dim),
      action_dim_(action_space.is_discrete() ? action_space.n : action_space.flat_dim()),
      shared_(spec.shared_trunk) {
  const int last = spec.hidden_sizes.back();
  policy_trunk_ =
      register_module(shared_ ? "trunk" : "policy_trunk", MakeMlp(obs_dim, spec, initialize));
  if (!shared_) {
    value_trunk_ = register_module("value_trunk", MakeMlp(obs_dim, spec, initialize));
  }
  policy_head_ = register_module("policy_head", torch::nn::Linear(last, action_dim_));
  value_head_ = register_module("value_head", torch::nn::Linear(last, 1));
  if (initialize) {
    InitLinear(policy_head_, 0.01);
    InitLinear(value_head_, 1.0);
  }
  if (!discrete_) {
    log_std_ = register_parameter(
        "log_std", torch::full({action_dim_}, spec.init_log_std, torch::kFloat32));
  }
}

torch::nn::Sequential ActorCriticImpl::MakeMlp(int in, const ModelSpec& spec, bool initialize) {
  torch::nn::Sequential seq;
  for (int h : spec.hidden_sizes) {
    torch::nn::Linear layer(in, h);
    if (initialize) InitLinear(layer, std::sqrt(2.0));
    seq->push_back(layer);
    if (spec.activation == "relu") {
      seq->push_back(torch::nn::ReLU());
    } else {
      seq->push_back(torch::nn::Tanh());
    }
    in = h;
  }
  return seq;
}

PolicyHeads ActorCriticImpl::forward(const torch::Tensor& obs) {
  PolicyHeads out;
  torch::Tensor p = policy_trunk_->forward(obs);
  out.dist_params = policy_head_->forward(p);
  torch::Tensor v = shared_ ? p : value_trunk_->forward(obs);
  out.value = value_head_->forward(v).squeeze(-1);
  return out;
}

torch::Tensor ActorCriticImpl::Value(const torch::Tensor& obs) {
  torch::Tensor v = shared_ ? policy_trunk_->forward(obs) : value_trunk_->forward(obs);
  return value_head_->forward(v).squeeze(-1);
}

std::pair<torch::Tensor, torch::Tensor> ActorCriticImpl::LogProbEntropy(
    const torch::Tensor& dist_params, const torch::Tensor& actions) const {
  if (discrete_) {
    torch::Tensor logp_all = torch::log_softmax(dist_params, -1);
    torch::Tensor idx = actions.to(torch::kLong).reshape({-1, 1});
    torch::Tensor logp = logp_all.gather(-1, idx).squeeze(-1);
    torch::Tensor entropy = -(logp_all.exp() * logp_all).sum(-1);
    return {logp, entropy};
  }
  constexpr double kHalfLog2Pi = 0.91893853320467274178;  // 0.5 * log(2π)
  torch::Tensor a = actions.reshape({-1, action_dim_});
  torch::Tensor z = (a - dist_params) * torch::exp(-log_std_);
  torch::Tensor logp = (-0.5 * z * z - log_std_ - kHalfLog2Pi).sum(-1);
  torch::Tensor entropy = (0.5 + kHalfLog2Pi + log_std_).sum().expand({a.size(0)});
  return {logp, entropy};
}

}  // namespace proxima
