#include "learner/ppo_updater.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>
#include <torch/cuda.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/utils.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "learner/gae.h"
#include "learner/ppo_loss.h"
#include "learner/vtrace.h"

namespace proxima {
namespace {

// Copies rows idx[0..n) of the update's host rows into `out` (grown, never
// shrunk, so a run allocates only on its first update) and views them.
template <typename Rows>
fused::MinibatchView<float> GatherRows(const int64_t* idx, int64_t n, int obs_dim, int64_t act_width,
                                       const at::Tensor& obs, const at::Tensor& actions,
                                       const at::Tensor& blp, const at::Tensor& adv,
                                       const at::Tensor& ret, const at::Tensor& old_v, Rows* out) {
  const auto fit = [](std::vector<float>& v, int64_t size) {
    if (static_cast<int64_t>(v.size()) < size) v.resize(size);
    return v.data();
  };
  float* o = fit(out->obs, n * obs_dim);
  float* a = fit(out->actions, n * act_width);
  float* b = fit(out->behaviour_logp, n);
  float* ad = fit(out->advantages, n);
  float* r = fit(out->returns, n);
  float* ov = fit(out->old_values, n);
  const float *src_o = obs.data_ptr<float>(), *src_a = actions.data_ptr<float>(),
              *src_b = blp.data_ptr<float>(), *src_ad = adv.data_ptr<float>(),
              *src_r = ret.data_ptr<float>(), *src_ov = old_v.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = idx[i];
    std::memcpy(o + i * obs_dim, src_o + j * obs_dim, sizeof(float) * obs_dim);
    std::memcpy(a + i * act_width, src_a + j * act_width, sizeof(float) * act_width);
    b[i] = src_b[j];
    ad[i] = src_ad[j];
    r[i] = src_r[j];
    ov[i] = src_ov[j];
  }
  return fused::MinibatchView<float>{n, o, a, b, ad, r, ov};
}

}  // namespace

PpoUpdater::PpoUpdater(const PpoConfig& config, const EnvSpec& spec, const torch::Device& device)
    : config_(config),
      spec_(spec),
      device_(device),
      obs_stats_(spec.obs_dim()),
      kl_beta_(config.adaptive_kl ? config.kl_beta : 0.0),
      generator_(at::make_generator<at::CPUGeneratorImpl>(config.seed)) {}

PpoLossOptions PpoLossOptionsFor(const PpoConfig& config, double kl_beta) {
  PpoLossOptions o;
  o.clip_coef = config.clip_coef;
  o.clip_value_loss = config.clip_value_loss;
  o.value_clip_coef = config.value_clip_coef;
  o.normalize_advantages = config.normalize_advantages;
  o.ent_coef = config.ent_coef;
  o.vf_coef = config.vf_coef;
  o.kl_beta = kl_beta;
  return o;
}

absl::StatusOr<std::unique_ptr<PpoUpdater>> PpoUpdater::Create(const PpoConfig& config,
                                                               const EnvSpec& spec,
                                                               const torch::Device& device) {
  absl::Status valid = config.Validate();
  if (!valid.ok()) return valid;
  std::string why;
  PROXIMA_ASSIGN_OR_RETURN(UpdateEngine engine, ResolveEngine(config.engine, device, &why));
  std::unique_ptr<PpoUpdater> u(new PpoUpdater(config, spec, device));
  if (engine == UpdateEngine::kFused) {
    PROXIMA_ASSIGN_OR_RETURN(u->layout_,
                             fused::MakeMlpLayout(spec.obs_dim(), spec.action_space, config.model));
    PROXIMA_ASSIGN_OR_RETURN(fused::PpoKernel<float> kernel,
                             fused::PpoKernel<float>::Create(u->layout_, config.minibatch_size()));
    u->kernel_ = std::make_unique<fused::PpoKernel<float>>(std::move(kernel));
  }
  u->engine_ = engine;
  u->engine_description_ = absl::StrCat(UpdateEngineName(engine), " (", why, ")");
  try {
    torch::manual_seed(config.seed);
    u->model_ = ActorCritic(spec.obs_dim(), spec.action_space, config.model);
    u->model_->to(device);
    u->optimizer_ = std::make_unique<torch::optim::Adam>(
        u->model_->parameters(),
        torch::optim::AdamOptions(config.learning_rate).eps(config.adam_eps));
    u->FlattenParameters();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot build the model: ", e.what_without_backtrace()));
  }
  return u;
}

void PpoUpdater::FlattenParameters() {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> params = model_->parameters();
  int64_t total = 0;
  for (const at::Tensor& p : params) total += p.numel();
  const auto options = at::TensorOptions().dtype(at::kFloat).device(device_);
  params_flat_ = at::empty({total}, options);
  grads_flat_ = at::zeros({total}, options);
  adam_exp_avg_ = at::zeros({total}, options);
  adam_exp_avg_sq_ = at::zeros({total}, options);
  adam_denom_ = at::empty({total}, options);
  adam_steps_ = 0;
  int64_t offset = 0;
  for (at::Tensor& p : params) {
    const int64_t n = p.numel();
    at::Tensor view = params_flat_.narrow(0, offset, n).view(p.sizes());
    view.copy_(p);
    // Same TensorImpl (the optimizer and the module keep their handles), new
    // storage. Autograd accumulates into a defined .grad in place, so the
    // gradients land in grads_flat_.
    p.set_data(view);
    p.mutable_grad() = grads_flat_.narrow(0, offset, n).view(p.sizes());
    offset += n;
  }
}

void PpoUpdater::SaveState(torch::serialize::OutputArchive& model,
                           torch::serialize::OutputArchive& optimizer) {
  model_->save(model);
  // torch::optim::Adam's own format, keyed by parameter, so checkpoints stay
  // readable by (and compatible with) a plain torch::optim::Adam.
  auto& state = optimizer_->state();
  state.clear();
  if (adam_steps_ > 0) {
    int64_t offset = 0;
    for (const at::Tensor& p : model_->parameters()) {
      const int64_t n = p.numel();
      auto s = std::make_unique<torch::optim::AdamParamState>();
      s->step(adam_steps_);
      s->exp_avg(adam_exp_avg_.narrow(0, offset, n).view(p.sizes()).clone());
      s->exp_avg_sq(adam_exp_avg_sq_.narrow(0, offset, n).view(p.sizes()).clone());
      state[c10::guts::to_string(p.unsafeGetTensorImpl())] = std::move(s);
      offset += n;
    }
  }
  optimizer_->save(optimizer);
  state.clear();
}

void PpoUpdater::LoadState(torch::serialize::InputArchive& model,
                           torch::serialize::InputArchive& optimizer) {
  model_->load(model);  // set_() on every parameter: new storage
  FlattenParameters();
  optimizer_->load(optimizer);
  auto& state = optimizer_->state();
  torch::NoGradGuard no_grad;
  int64_t offset = 0;
  for (const at::Tensor& p : model_->parameters()) {
    const int64_t n = p.numel();
    auto it = state.find(c10::guts::to_string(p.unsafeGetTensorImpl()));
    if (it != state.end()) {
      auto& s = static_cast<torch::optim::AdamParamState&>(*it->second);
      adam_exp_avg_.narrow(0, offset, n).copy_(s.exp_avg().reshape({n}));
      adam_exp_avg_sq_.narrow(0, offset, n).copy_(s.exp_avg_sq().reshape({n}));
      adam_steps_ = s.step();
    }
    offset += n;
  }
  state.clear();
}

at::Tensor PpoUpdater::shuffle_rng_state() {
  std::lock_guard<std::mutex> lock(generator_.mutex());
  return generator_.get_state();
}

void PpoUpdater::set_shuffle_rng_state(const at::Tensor& state) {
  std::lock_guard<std::mutex> lock(generator_.mutex());
  generator_.set_state(state);
}

void PpoUpdater::SetLearningRate(double lr) {
  for (auto& group : optimizer_->param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  }
}

at::Tensor PpoUpdater::NormalizeObs(const at::Tensor& raw) const {
  at::Tensor src = raw.contiguous();
  at::Tensor out = at::empty_like(src);
  if (!config_.normalize_obs) {
    out.copy_(src);
    return out;
  }
  obs_stats_.Normalize(src.data_ptr<float>(), out.data_ptr<float>(), src.size(0),
                       config_.obs_clip);
  return out;
}

absl::StatusOr<UpdateMetrics> PpoUpdater::Update(const RolloutBatch& batch, double progress) {
  return Update(absl::Span<const RolloutBatch>(&batch, 1), progress);
}

absl::StatusOr<PpoUpdater::PartTargets> PpoUpdater::ComputeTargets(const RolloutBatch& batch) {
  const bool discrete = spec_.action_space.is_discrete();
  const int obs_dim = spec_.obs_dim();
  const int T = batch.num_steps, E = batch.num_envs;
  const int64_t N = static_cast<int64_t>(T) * E;
  const int64_t K = static_cast<int64_t>(batch.final_index.size());
  PartTargets out;
  // 1-2. Normalized observations and values for obs, bootstrap and finals.
  at::Tensor all_raw =
      at::cat({batch.obs.reshape({N, obs_dim}), batch.bootstrap_obs, batch.final_obs}, 0);
  at::Tensor all_norm = NormalizeObs(all_raw).to(device_);
  out.obs_norm = all_norm.narrow(0, 0, N);
  out.actions = batch.actions.reshape(discrete ? std::vector<int64_t>{N}
                                               : std::vector<int64_t>{N, -1})
                    .to(device_);
  out.behaviour_logp = batch.behaviour_logp.reshape({N}).to(device_);
  at::Tensor all_values, target_logp;
  {
    torch::NoGradGuard no_grad;
    if (config_.advantage == AdvantageEstimator::kVtrace) {
      PolicyHeads heads = model_->forward(out.obs_norm);
      target_logp = model_->LogProbEntropy(heads.dist_params, out.actions).first.to(at::kCPU);
      at::Tensor rest = all_norm.narrow(0, N, E + K);
      all_values = at::cat({heads.value, model_->Value(rest)}, 0);
    } else if (engine_ == UpdateEngine::kFused) {
      all_values = FusedValues(all_norm);
    } else {
      all_values = model_->Value(all_norm);
    }
  }
  all_values = all_values.to(at::kCPU).contiguous();
  const float* v = all_values.data_ptr<float>();

  // next_values[t, e]: V(obs[t+1, e]), V(bootstrap) at t = T-1, V(final obs)
  // where the episode was truncated at t (terminated steps are masked out).
  at::Tensor next_values = at::empty({T, E}, at::kFloat);
  float* nv = next_values.data_ptr<float>();
  for (int64_t i = 0; i < N - E; ++i) nv[i] = v[i + E];
  for (int e = 0; e < E; ++e) nv[(T - 1) * E + e] = v[N + e];
  for (int64_t k = 0; k < K; ++k) {
    const auto& idx = batch.final_index[k];
    nv[static_cast<int64_t>(idx.t) * E + idx.e] = v[N + E + k];
  }

  // 3. Targets per env column.
  at::Tensor rewards = batch.rewards.contiguous();
  at::Tensor term = batch.terminated.contiguous();
  at::Tensor trunc = batch.truncated.contiguous();
  at::Tensor advantages = at::empty({T, E}, at::kFloat);
  at::Tensor returns = at::empty({T, E}, at::kFloat);
  const float* r = rewards.data_ptr<float>();
  const uint8_t* te = term.data_ptr<uint8_t>();
  const uint8_t* tr = trunc.data_ptr<uint8_t>();
  float* adv = advantages.data_ptr<float>();
  float* ret = returns.data_ptr<float>();
  if (config_.advantage == AdvantageEstimator::kVtrace) {
    at::Tensor blp = batch.behaviour_logp.contiguous();
    VtraceParams p{config_.gamma, config_.gae_lambda, config_.vtrace_rho_bar,
                   config_.vtrace_c_bar};
    for (int e = 0; e < E; ++e) {
      ComputeVtrace<float>(T, E, r + e, v + e, nv + e, te + e, tr + e,
                           target_logp.data_ptr<float>() + e, blp.data_ptr<float>() + e, p,
                           ret + e, adv + e);
    }
  } else {
    for (int e = 0; e < E; ++e) {
      ComputeGae<float>(T, E, r + e, v + e, nv + e, te + e, tr + e, config_.gamma,
                        config_.gae_lambda, adv + e, ret + e);
    }
  }
  out.old_values = all_values.narrow(0, 0, N);
  out.advantages = advantages.reshape({N});
  out.returns = returns.reshape({N});
  return out;
}

absl::StatusOr<UpdateMetrics> PpoUpdater::Update(absl::Span<const RolloutBatch> parts,
                                                 double progress) {
  const auto start = std::chrono::steady_clock::now();
  const bool discrete = spec_.action_space.is_discrete();
  const int obs_dim = spec_.obs_dim();
  if (parts.empty()) return absl::InvalidArgumentError("PPO update: no rollout parts");
  int64_t N = 0;
  for (const RolloutBatch& batch : parts) {
    absl::Status valid = batch.Validate(obs_dim, spec_.action_dim(), discrete);
    if (!valid.ok()) return valid;
    N += static_cast<int64_t>(batch.num_steps) * batch.num_envs;
  }
  if (N < config_.num_minibatches) {
    return absl::InvalidArgumentError(absl::StrCat("PPO update: ", N,
                                                   " transitions cannot fill ",
                                                   config_.num_minibatches, " minibatches"));
  }
  UpdateMetrics m;
  m.samples = N;
  try {
    std::vector<at::Tensor> obs_v, act_v, blp_v, adv_v, ret_v, oldv_v;
    for (const RolloutBatch& batch : parts) {
      PROXIMA_ASSIGN_OR_RETURN(PartTargets p, ComputeTargets(batch));
      obs_v.push_back(p.obs_norm);
      act_v.push_back(p.actions);
      blp_v.push_back(p.behaviour_logp);
      adv_v.push_back(p.advantages);
      ret_v.push_back(p.returns);
      oldv_v.push_back(p.old_values);
    }
    auto cat = [](std::vector<at::Tensor>& v) { return v.size() == 1 ? v[0] : at::cat(v, 0); };
    at::Tensor obs_norm = cat(obs_v);
    at::Tensor actions = cat(act_v);
    at::Tensor behaviour_logp = cat(blp_v);
    at::Tensor advantages = cat(adv_v);
    at::Tensor returns = cat(ret_v);
    at::Tensor old_values = cat(oldv_v);
    {
      const double var_y = returns.var(/*unbiased=*/false).item<double>();
      m.explained_variance =
          var_y == 0 ? std::nan("")
                     : 1.0 - (returns - old_values).var(false).item<double>() / var_y;
    }
    at::Tensor adv_d = advantages.to(device_);
    at::Tensor ret_d = returns.to(device_);
    at::Tensor old_v_d = old_values.to(device_);
    const bool fused_engine = engine_ == UpdateEngine::kFused;
    // The fused engine gathers each minibatch's rows from these (CPU, float).
    at::Tensor host_obs, host_actions, host_blp, host_adv, host_ret, host_old_v;
    int64_t act_width = 1;
    if (fused_engine) {
      const auto host = [](const at::Tensor& t) { return t.to(at::kCPU, at::kFloat).contiguous(); };
      host_obs = host(obs_norm);
      host_actions = host(actions);
      host_blp = host(behaviour_logp);
      host_adv = host(advantages);
      host_ret = host(returns);
      host_old_v = host(old_values);
      act_width = discrete ? 1 : spec_.action_dim();
    }

    // 4. Epochs of shuffled minibatches.
    const double lr = config_.anneal_lr
                          ? config_.learning_rate * std::max(0.0, 1.0 - progress)
                          : config_.learning_rate;
    SetLearningRate(lr);
    m.learning_rate = lr;
    const int64_t mb_size = N / config_.num_minibatches;
    double kl_sum_last_epoch = 0;
    int kl_count_last_epoch = 0;
    for (int epoch = 0; epoch < config_.update_epochs; ++epoch) {
      at::Tensor perm = at::randperm(N, generator_, at::TensorOptions().dtype(at::kLong));
      if (!fused_engine) perm = perm.to(device_);
      kl_sum_last_epoch = 0;
      kl_count_last_epoch = 0;
      double last_kl = 0;
      for (int64_t start_i = 0; start_i + mb_size <= N; start_i += mb_size) {
        const bool first = epoch == 0 && start_i == 0;
        MinibatchResult res;
        if (fused_engine) {
          PROXIMA_ASSIGN_OR_RETURN(
              res, FusedMinibatch(GatherRows(perm.data_ptr<int64_t>() + start_i, mb_size, obs_dim,
                                             act_width, host_obs, host_actions, host_blp, host_adv,
                                             host_ret, host_old_v, &mb_rows_)));
        } else {
          at::Tensor idx = perm.narrow(0, start_i, mb_size);
          Minibatch mb{obs_norm.index_select(0, idx),       actions.index_select(0, idx),
                       behaviour_logp.index_select(0, idx), adv_d.index_select(0, idx),
                       ret_d.index_select(0, idx),          old_v_d.index_select(0, idx)};
          res = TorchMinibatch(mb, first);
        }
        if (first) m.first_minibatch_ratio_max_deviation = res.ratio_max_deviation;
        if (!res.applied) {
          ++m.skipped_minibatches;
          continue;
        }
        ++m.minibatches;
        m.policy_loss += res.policy_loss;
        m.value_loss += res.value_loss;
        m.entropy += res.entropy;
        m.approx_kl += res.approx_kl;
        m.clip_fraction += res.clip_fraction;
        m.grad_norm += res.grad_norm;
        kl_sum_last_epoch += res.approx_kl;
        ++kl_count_last_epoch;
        last_kl = res.approx_kl;
      }
      m.epochs_run = epoch + 1;
      if (config_.target_kl.has_value() && last_kl > *config_.target_kl) break;
    }
    if (m.minibatches > 0) {
      const double n = m.minibatches;
      m.policy_loss /= n;
      m.value_loss /= n;
      m.entropy /= n;
      m.approx_kl /= n;
      m.clip_fraction /= n;
      m.grad_norm /= n;
    }

    // 5. Adaptive KL penalty (PPO paper §4).
    if (config_.adaptive_kl && kl_count_last_epoch > 0) {
      kl_beta_ = AdaptKlBeta(kl_beta_, kl_sum_last_epoch / kl_count_last_epoch, config_.kl_target);
    }
    m.kl_beta = kl_beta_;

    // 6. Fold this batch's raw observations into the normalizer.
    if (config_.normalize_obs) {
      for (const RolloutBatch& batch : parts) {
        const int64_t n = static_cast<int64_t>(batch.num_steps) * batch.num_envs;
        at::Tensor raw = batch.obs.reshape({n, obs_dim}).contiguous();
        obs_stats_.Update(raw.data_ptr<float>(), n);
      }
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("PPO update failed: ", e.what_without_backtrace()));
  }
  m.update_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return m;
}

}  // namespace proxima
