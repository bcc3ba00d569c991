// PpoUpdater's minibatch step, per engine (learner/ppo_updater.h): which
// engine and device a run uses, the fused CPU step on the flat parameter
// buffer (learner/fused/ppo_kernel.h) with its value pre-pass, and the
// LibTorch autograd step with its global-norm clip and Adam on the same flat
// buffers. ppo_updater.cc holds the rest: construction, targets (GAE /
// V-trace), the epoch and minibatch loop, metrics and state.
#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/ppo_loss.h"
#include "learner/ppo_updater.h"

namespace proxima {

absl::StatusOr<torch::Device> ResolveDevice(const std::string& name) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  const bool cuda = torch::cuda::is_available();
  if (name == "cuda") {
    if (!cuda) {
      return absl::FailedPreconditionError(
          "--device=cuda but no CUDA device is available (this LibTorch build or machine has "
          "none); use --device=cpu or auto");
    }
    return torch::Device(torch::kCUDA);
  }
  if (name == "auto") return cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  return absl::InvalidArgumentError(
      absl::StrCat("--device must be one of auto, cpu, cuda (got '", name, "')"));
}

absl::StatusOr<UpdateEngine> ResolveEngine(const std::string& engine, const torch::Device& device,
                                           std::string* why) {
  if (engine == "torch") {
    *why = "--engine=torch";
    return UpdateEngine::kTorch;
  }
  if (engine == "fused") {
    if (!device.is_cpu()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--engine=fused runs on the CPU only (the device is ", device.str(),
          "); use --engine=torch or auto, or --device=cpu"));
    }
    *why = "--engine=fused";
    return UpdateEngine::kFused;
  }
  if (engine == "auto") {
    if (device.is_cpu()) {
      *why = "--engine=auto: CPU device, MLP actor-critic";
      return UpdateEngine::kFused;
    }
    *why = absl::StrCat("--engine=auto: the fused engine is CPU-only, the device is ",
                        device.str());
    return UpdateEngine::kTorch;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--engine must be one of auto, fused, torch (got '", engine, "')"));
}

const char* UpdateEngineName(UpdateEngine engine) {
  return engine == UpdateEngine::kFused ? "fused" : "torch";
}

double PpoUpdater::ClipAndStep() {
  torch::NoGradGuard no_grad;
  // The global L2 norm over every gradient, as clip_grad_norm_ computes it.
  const double norm = grads_flat_.norm().item<double>();
  if (!std::isfinite(norm)) return norm;
  if (config_.max_grad_norm > 0) {
    const double coef = config_.max_grad_norm / (norm + 1e-6);
    if (coef < 1) grads_flat_.mul_(coef);
  }
  const auto& o = static_cast<const torch::optim::AdamOptions&>(
      optimizer_->param_groups()[0].options());
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  ++adam_steps_;
  const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(adam_steps_));
  const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(adam_steps_));
  adam_exp_avg_.mul_(beta1).add_(grads_flat_, 1 - beta1);
  adam_exp_avg_sq_.mul_(beta2).addcmul_(grads_flat_, grads_flat_, 1 - beta2);
  at::sqrt_out(adam_denom_, adam_exp_avg_sq_);
  adam_denom_.div_(std::sqrt(bias_correction2)).add_(o.eps());
  params_flat_.addcdiv_(adam_exp_avg_, adam_denom_, -o.lr() / bias_correction1);
  return norm;
}

MinibatchResult PpoUpdater::TrainMinibatch(const Minibatch& mb, bool measure_ratio) {
  if (engine_ == UpdateEngine::kTorch) return TorchMinibatch(mb, measure_ratio);
  const auto host = [](const at::Tensor& t) { return t.to(at::kCPU, at::kFloat).contiguous(); };
  const at::Tensor obs = host(mb.obs), actions = host(mb.actions), blp = host(mb.behaviour_logp),
                   adv = host(mb.advantages), ret = host(mb.returns), old_v = host(mb.old_values);
  const fused::MinibatchView<float> view{obs.size(0),          obs.data_ptr<float>(),
                                         actions.data_ptr<float>(), blp.data_ptr<float>(),
                                         adv.data_ptr<float>(),     ret.data_ptr<float>(),
                                         old_v.data_ptr<float>()};
  absl::StatusOr<MinibatchResult> r = FusedMinibatch(view);
  TORCH_CHECK(r.ok(), "fused PPO minibatch: ", std::string(r.status().message()));
  if (!measure_ratio) r->ratio_max_deviation = 0;
  return *r;
}

absl::StatusOr<MinibatchResult> PpoUpdater::FusedMinibatch(const fused::MinibatchView<float>& mb) {
  if (kernel_ == nullptr || kernel_->max_batch() < mb.n) {
    // Parts of several sizes (the learner server) can make a minibatch larger
    // than the configured one; the workspace grows, never per step.
    PROXIMA_ASSIGN_OR_RETURN(fused::PpoKernel<float> kernel,
                             fused::PpoKernel<float>::Create(layout_, mb.n));
    kernel_ = std::make_unique<fused::PpoKernel<float>>(std::move(kernel));
  }
  const auto& o = static_cast<const torch::optim::AdamOptions&>(
      optimizer_->param_groups()[0].options());
  fused::AdamOptions adam;
  adam.lr = o.lr();
  adam.beta1 = std::get<0>(o.betas());
  adam.beta2 = std::get<1>(o.betas());
  adam.eps = o.eps();
  adam.max_grad_norm = config_.max_grad_norm;
  const fused::FlatState<float> state{params_flat_.data_ptr<float>(), grads_flat_.data_ptr<float>(),
                                      adam_exp_avg_.data_ptr<float>(),
                                      adam_exp_avg_sq_.data_ptr<float>(), &adam_steps_};
  PROXIMA_ASSIGN_OR_RETURN(fused::StepResult step,
                           kernel_->TrainMinibatch(state, mb, PpoLossOptionsFor(config_, kl_beta_),
                                                   adam));
  MinibatchResult r;
  r.ratio_max_deviation = step.terms.ratio_max_deviation;
  if (!step.applied) {
    ++skipped_total_;
    return r;
  }
  r.applied = true;
  r.grad_norm = step.grad_norm;
  r.policy_loss = step.terms.policy_loss;
  r.value_loss = step.terms.value_loss;
  r.entropy = step.terms.entropy;
  r.approx_kl = step.terms.approx_kl;
  r.clip_fraction = step.terms.clip_fraction;
  return r;
}

at::Tensor PpoUpdater::FusedValues(const at::Tensor& obs_norm) {
  const at::Tensor obs = obs_norm.contiguous();
  const int64_t rows = obs.size(0), obs_dim = obs.size(1);
  at::Tensor values = at::empty({rows}, at::kFloat);
  const int64_t chunk = kernel_->max_batch();
  if (static_cast<int64_t>(dist_scratch_.size()) < chunk * layout_.action_dim) {
    dist_scratch_.resize(chunk * layout_.action_dim);
  }
  for (int64_t start = 0; start < rows; start += chunk) {
    const int64_t n = std::min(chunk, rows - start);
    absl::Status s = kernel_->Forward(params_flat_.data_ptr<float>(),
                                      obs.data_ptr<float>() + start * obs_dim, n,
                                      dist_scratch_.data(), values.data_ptr<float>() + start);
    TORCH_CHECK(s.ok(), "fused value pre-pass: ", std::string(s.message()));
  }
  return values;
}

MinibatchResult PpoUpdater::TorchMinibatch(const Minibatch& mb, bool measure_ratio) {
  MinibatchResult r;
  PolicyHeads heads = model_->forward(mb.obs);
  auto [logp, entropy] = model_->LogProbEntropy(heads.dist_params, mb.actions);
  if (measure_ratio) {
    r.ratio_max_deviation =
        (logp.detach() - mb.behaviour_logp).exp().sub(1.0).abs().max().item<double>();
  }
  PpoLossTerms terms =
      ComputePpoLoss(logp, mb.behaviour_logp, entropy, mb.advantages, heads.value,
                     mb.old_values, mb.returns, PpoLossOptionsFor(config_, kl_beta_));
  grads_flat_.zero_();
  const double loss = terms.total.item<double>();
  if (!std::isfinite(loss)) {
    ++skipped_total_;
    return r;
  }
  terms.total.backward();
  // With a non-finite norm the gradients are garbage, so nothing is applied.
  const double norm = ClipAndStep();
  if (!std::isfinite(norm)) {
    grads_flat_.zero_();
    ++skipped_total_;
    return r;
  }
  r.applied = true;
  r.grad_norm = norm;
  r.policy_loss = terms.policy_loss.item<double>();
  r.value_loss = terms.value_loss.item<double>();
  r.entropy = terms.entropy.item<double>();
  r.approx_kl = terms.approx_kl.item<double>();
  r.clip_fraction = terms.clip_fraction.item<double>();
  return r;
}

}  // namespace proxima
