// What one PPO update reports, and the one table that declares every
// per-update metric.
//
// UpdateMetrics is what PpoUpdater::Update() measured; MetricsRow adds what
// the trainer knows around it (counters, episode means, policy lag). Each
// metric is one row of MetricFields(): its metrics.csv column and number
// format, its TensorBoard tag, its v1::UpdateMetrics field (by name) and, for
// the few that `/metrics` serves, its Prometheus gauge. The CSV header and
// rows (learner/run_files.h), the TensorBoard scalars
// (learner/tensorboard_writer.h), the proto a learner publishes
// (MetricsRowToProto) and the Prometheus gauges
// (learner/server/prometheus_exporter.h) are all generated from it, so a new
// metric is one member here plus one row in update_metrics.cc.
//
// v1::UpdateMetrics.time is the one proto field that is not a metric: the
// learner server stamps it when it publishes the version.
//
// Plain data and pure functions: thread-compatible, nothing blocks. No torch.
#ifndef PROXIMA_LEARNER_UPDATE_METRICS_H_
#define PROXIMA_LEARNER_UPDATE_METRICS_H_

#include <cstdint>
#include <optional>

#include "absl/types/span.h"

namespace proxima {

namespace v1 {
class UpdateMetrics;
}  // namespace v1

struct UpdateMetrics {
  double policy_loss = 0;
  double value_loss = 0;
  double entropy = 0;
  double approx_kl = 0;
  double clip_fraction = 0;
  double explained_variance = 0;
  double grad_norm = 0;
  double learning_rate = 0;
  double kl_beta = 0;
  int minibatches = 0;           // minibatch steps taken (skipped ones excluded)
  int skipped_minibatches = 0;   // non-finite loss or gradient
  int epochs_run = 0;
  int64_t samples = 0;           // transitions in the batch
  // max |π_θ(a|s)/μ(a|s) − 1| over the first minibatch of the first epoch,
  // before any step: 0 up to float rounding for fresh on-policy data.
  double first_minibatch_ratio_max_deviation = 0;
  double update_seconds = 0;
};

// Where the time went (issue 18) over the learner's recent window when an
// update was recorded: shares in [0, 1] of wall time (learner stages of the
// learner's, actor stages of the actors' summed wall time;
// v1::TimeBreakdown, learner/server/time_breakdown.h).
struct TimeShareRow {
  double ingest = 0, wait_batch = 0, update = 0, publish = 0;
  double env = 0, inference = 0, send_wait = 0, weights_wait = 0;
};

// One evaluation of the policy just trained (--eval-every N: every Nth
// update; learner/periodic_eval.h): deterministic episodes on an env of its
// own, mean and population std of their returns, mean length, and the
// seconds the evaluation took.
struct EvalRow {
  double mean_return = 0, std_return = 0, mean_length = 0, seconds = 0;
};

// One update as the run directory and the monitors see it (one metrics.csv
// row, one TensorBoard event, one v1::UpdateMetrics).
struct MetricsRow {
  int64_t update = 0;
  int64_t policy_version = 0;
  int64_t env_steps = 0;
  double wall_seconds = 0;
  double env_steps_per_second = 0;
  int64_t episodes = 0;
  double mean_return = 0;
  double mean_length = 0;
  // Policy lag of the batch (learner version minus the chunk's behaviour
  // version): transition-weighted mean and largest. In-process: 0 (all data
  // is on-policy).
  double mean_lag = 0;
  int64_t max_lag = 0;
  // Transitions dropped (any reason) since the previous row, and
  // dropped_steps / (dropped_steps + transitions trained in this update), 0
  // when both are 0. In-process: 0 (nothing is dropped).
  int64_t dropped_steps = 0;
  double dropped_fraction = 0;
  // Only a learner server trains on chunks: how many chunks made the batch.
  // Unset in-process.
  std::optional<int> batch_chunks;
  // Only a learner server measures where the time goes. Unset in-process
  // (its metrics.csv cells, scalars and proto fields are then 0).
  std::optional<TimeShareRow> time_shares;
  // Only updates that ran an evaluation (--eval-every) have one; the others'
  // eval cells are "nan", their scalars absent and proto fields NaN.
  std::optional<EvalRow> eval;
  UpdateMetrics update_metrics;
};

// How a metrics.csv cell is printed: "%d" ('d'), "%.<precision>f" or
// "%.<precision>g".
struct CsvFormat {
  char conversion = 'g';
  int precision = 6;
};

// One per-update metric. A null name means "not there": no CSV column, no
// TensorBoard scalar, no proto field, no gauge.
struct MetricField {
  const char* name;                   // the MetricsRow / UpdateMetrics member
  double (*value)(const MetricsRow&);  // NaN: not measured in this row
  const char* csv_column;
  CsvFormat csv_format;
  const char* tensorboard_tag;
  const char* proto_field;       // a field of v1::UpdateMetrics
  const char* prometheus_gauge;  // read from LearnerStatus.last_update
  const char* prometheus_help;
};

// Every metric, metrics.csv's columns first and in their order.
absl::Span<const MetricField> MetricFields();

// Sets every field of `out` that has a table row from `row` (an integer field
// whose value is NaN, i.e. unset, is left alone). Does not touch `time`.
void MetricsRowToProto(const MetricsRow& row, v1::UpdateMetrics* out);

// The value of `field`'s proto field in `metrics`, as a double (NaN when the
// field has no proto field).
double ProtoMetricValue(const v1::UpdateMetrics& metrics, const MetricField& field);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_UPDATE_METRICS_H_
