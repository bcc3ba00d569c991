#include "common/running_stats.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace proxima {

RunningMeanStd::RunningMeanStd(int dim) : mean_(dim, 0.0), var_(dim, 1.0) {}

void RunningMeanStd::Update(const float* rows, int64_t n) {
  if (n <= 0) return;
  const int d = dim();
  for (int j = 0; j < d; ++j) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += rows[i * d + j];
    const double batch_mean = sum / static_cast<double>(n);
    double m2 = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const double x = rows[i * d + j] - batch_mean;
      m2 += x * x;
    }
    const double batch_var = m2 / static_cast<double>(n);  // population variance
    const double total = count_ + static_cast<double>(n);
    const double delta = batch_mean - mean_[j];
    const double new_mean = mean_[j] + delta * static_cast<double>(n) / total;
    const double combined = var_[j] * count_ + batch_var * static_cast<double>(n) +
                            delta * delta * count_ * static_cast<double>(n) / total;
    mean_[j] = new_mean;
    var_[j] = combined / total;
  }
  count_ += static_cast<double>(n);
}

void RunningMeanStd::Normalize(const float* in, float* out, int64_t n, double clip) const {
  const int d = dim();
  for (int j = 0; j < d; ++j) {
    const double inv_std = 1.0 / std::sqrt(var_[j] + kEpsilon);
    const double m = mean_[j];
    for (int64_t i = 0; i < n; ++i) {
      const double z = (in[i * d + j] - m) * inv_std;
      out[i * d + j] = static_cast<float>(std::clamp(z, -clip, clip));
    }
  }
}

absl::Status RunningMeanStd::Restore(std::vector<double> mean, std::vector<double> var,
                                     double count) {
  if (mean.size() != var.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "normalizer: mean has ", mean.size(), " entries but var has ", var.size()));
  }
  if (!mean_.empty() && mean.size() != mean_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("normalizer: expected ", mean_.size(),
                                                   " dimensions, got ", mean.size()));
  }
  if (!(count > 0) || !std::isfinite(count)) {
    return absl::InvalidArgumentError(absl::StrCat("normalizer: count must be > 0, got ", count));
  }
  for (size_t i = 0; i < mean.size(); ++i) {
    if (!std::isfinite(mean[i]) || !std::isfinite(var[i]) || var[i] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("normalizer: non-finite or negative statistic at dimension ", i));
    }
  }
  mean_ = std::move(mean);
  var_ = std::move(var);
  count_ = count;
  return absl::OkStatus();
}

RewardScaler::RewardScaler(int num_columns, double gamma, double clip)
    : gamma_(gamma),
      clip_(clip),
      discounted_(num_columns, 0.0),
      scratch_(num_columns, 0.0f),
      return_rms_(1) {}

absl::Status RewardScaler::RestoreDiscountedReturns(std::vector<double> returns) {
  if (returns.size() != discounted_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("reward scaler: expected ", discounted_.size(),
                                                   " columns, got ", returns.size()));
  }
  discounted_ = std::move(returns);
  return absl::OkStatus();
}

void RewardScaler::ScaleStep(float* rewards, const uint8_t* terminated) {
  const int n = static_cast<int>(discounted_.size());
  for (int i = 0; i < n; ++i) {
    discounted_[i] = discounted_[i] * gamma_ * (terminated[i] ? 0.0 : 1.0) + rewards[i];
    scratch_[i] = static_cast<float>(discounted_[i]);
  }
  return_rms_.Update(scratch_.data(), n);
  const double inv_std = 1.0 / std::sqrt(return_rms_.var()[0] + RunningMeanStd::kEpsilon);
  for (int i = 0; i < n; ++i) {
    rewards[i] = static_cast<float>(std::clamp(rewards[i] * inv_std, -clip_, clip_));
  }
}

}  // namespace proxima
