#include "common/policy/sampling.h"

#include <torch/utils.h>

#include <cmath>

namespace proxima {

void SampleActions(ActorCritic& model, const torch::Tensor& obs, Rng& rng, float* actions,
                   float* logp, bool deterministic) {
  torch::NoGradGuard no_grad;
  PolicyHeads heads = model->forward(obs);
  torch::Tensor params = heads.dist_params.to(torch::kCPU).contiguous();
  const int64_t n = params.size(0);
  const int64_t k = params.size(1);
  const float* p = params.data_ptr<float>();
  torch::Tensor action_t;
  if (model->discrete()) {
    action_t = torch::empty({n}, torch::kFloat32);
    float* a = action_t.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) {
      const float* row = p + i * k;
      int64_t best = 0;
      float max_logit = row[0];
      for (int64_t j = 1; j < k; ++j) {
        if (row[j] > max_logit) {
          max_logit = row[j];
          best = j;
        }
      }
      if (deterministic) {
        a[i] = static_cast<float>(best);
        continue;
      }
      // Inverse CDF of softmax(row).
      double total = 0;
      for (int64_t j = 0; j < k; ++j) total += std::exp(static_cast<double>(row[j] - max_logit));
      double u = rng.Uniform() * total;
      int64_t choice = k - 1;
      for (int64_t j = 0; j < k; ++j) {
        u -= std::exp(static_cast<double>(row[j] - max_logit));
        if (u < 0) {
          choice = j;
          break;
        }
      }
      a[i] = static_cast<float>(choice);
    }
  } else {
    action_t = torch::empty({n, k}, torch::kFloat32);
    float* a = action_t.data_ptr<float>();
    torch::Tensor log_std = model->log_std().to(torch::kCPU).contiguous();
    const float* ls = log_std.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < k; ++j) {
        const float mean = p[i * k + j];
        a[i * k + j] = deterministic ? mean
                                     : static_cast<float>(mean + std::exp(ls[j]) * rng.Normal());
      }
    }
  }
  torch::Tensor lp =
      model->LogProbEntropy(heads.dist_params, action_t.to(heads.dist_params.device()))
          .first.to(torch::kCPU)
          .contiguous();
  const float* lpp = lp.data_ptr<float>();
  const float* ap = action_t.data_ptr<float>();
  const int64_t adim = model->discrete() ? 1 : k;
  for (int64_t i = 0; i < n; ++i) {
    logp[i] = lpp[i];
    for (int64_t j = 0; j < adim; ++j) actions[i * adim + j] = ap[i * adim + j];
  }
}

}  // namespace proxima
