// Running statistics for observation normalization and reward scaling.
//
// RunningMeanStd follows the parallel (Chan et al.) update used by Gymnasium's
// NormalizeObservation: mean 0, var 1 and count = epsilon (1e-4) initially, and
// normalize(x) = clip((x - mean) / sqrt(var + 1e-8), -clip, clip).
//
// RewardScaler is the return-based scaling of Gymnasium's NormalizeReward: it
// keeps a discounted return per column (one per env), tracks the variance of
// those returns and divides rewards by their standard deviation (no centering),
// then clips. Not thread-safe.
#ifndef PROXIMA_COMMON_RUNNING_STATS_H_
#define PROXIMA_COMMON_RUNNING_STATS_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace proxima {

class RunningMeanStd {
 public:
  static constexpr double kInitialCount = 1e-4;
  static constexpr double kEpsilon = 1e-8;

  explicit RunningMeanStd(int dim = 0);

  int dim() const { return static_cast<int>(mean_.size()); }
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& var() const { return var_; }
  double count() const { return count_; }

  // Folds `n` rows of `dim()` floats into the statistics.
  void Update(const float* rows, int64_t n);

  // out[i] = clip((in[i] - mean) / sqrt(var + eps), -clip, clip) for n rows.
  // `in` and `out` may alias.
  void Normalize(const float* in, float* out, int64_t n, double clip) const;

  // Replaces the statistics (e.g. from a checkpoint or weight snapshot).
  absl::Status Restore(std::vector<double> mean, std::vector<double> var, double count);

 private:
  std::vector<double> mean_;
  std::vector<double> var_;
  double count_ = kInitialCount;
};

class RewardScaler {
 public:
  RewardScaler(int num_columns, double gamma, double clip);

  // Scales one step of rewards for all columns in place. `terminated` resets a
  // column's discounted return (as Gymnasium's NormalizeReward does).
  void ScaleStep(float* rewards, const uint8_t* terminated);

  const RunningMeanStd& return_stats() const { return return_rms_; }
  RunningMeanStd& mutable_return_stats() { return return_rms_; }
  // The running discounted return of every column (checkpoints).
  const std::vector<double>& discounted_returns() const { return discounted_; }
  // InvalidArgument unless `returns` has one entry per column.
  absl::Status RestoreDiscountedReturns(std::vector<double> returns);

 private:
  double gamma_;
  double clip_;
  std::vector<double> discounted_;
  std::vector<float> scratch_;
  RunningMeanStd return_rms_;
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_RUNNING_STATS_H_
