#include "learner/update_metrics.h"

#include <cmath>
#include <limits>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "proxima/v1/metrics.pb.h"

namespace proxima {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Readers of one member: of MetricsRow, of its UpdateMetrics, of an optional
// MetricsRow member (NaN when unset).
template <auto kMember>
double Row(const MetricsRow& r) {
  return static_cast<double>(r.*kMember);
}
template <auto kMember>
double Update(const MetricsRow& r) {
  return static_cast<double>(r.update_metrics.*kMember);
}
template <auto kMember>
double Optional(const MetricsRow& r) {
  const auto& v = r.*kMember;
  return v.has_value() ? static_cast<double>(*v) : kNaN;
}

// A member of the optional time_shares; 0 when unset (in-process runs, like
// the lag columns, write 0 rather than blank cells).
template <double TimeShareRow::*kMember>
double Share(const MetricsRow& r) {
  return r.time_shares.has_value() ? (*r.time_shares).*kMember : 0.0;
}

// A member of the optional eval; NaN when this update ran none.
template <double EvalRow::*kMember>
double Eval(const MetricsRow& r) {
  return r.eval.has_value() ? (*r.eval).*kMember : kNaN;
}

constexpr CsvFormat kInt{'d', 0};
constexpr CsvFormat kG6{'g', 6};
constexpr CsvFormat kNone{};

using R = MetricsRow;
using U = UpdateMetrics;

// {name, value, CSV column, CSV format, TensorBoard tag, proto field,
//  Prometheus gauge, gauge help}
constexpr MetricField kFields[] = {
    // metrics.csv's columns, in order.
    {"update", Row<&R::update>, "update", kInt, "charts/updates", "update", nullptr, nullptr},
    {"policy_version", Row<&R::policy_version>, "policy_version", kInt, "charts/policy_version",
     "policy_version", nullptr, nullptr},
    {"env_steps", Row<&R::env_steps>, "env_steps", kInt, nullptr,  // the event's step
     "env_steps", nullptr, nullptr},
    {"wall_seconds", Row<&R::wall_seconds>, "wall_seconds", {'f', 4}, "perf/wall_seconds",
     nullptr, nullptr, nullptr},
    {"env_steps_per_second", Row<&R::env_steps_per_second>, "env_steps_per_second", {'f', 1},
     "perf/env_steps_per_second", "env_steps_per_second", nullptr, nullptr},
    {"episodes", Row<&R::episodes>, "episodes", kInt, "charts/episodes", "episodes", nullptr,
     nullptr},
    {"mean_return", Row<&R::mean_return>, "mean_return", kG6, "charts/episodic_return",
     "mean_episode_return", nullptr, nullptr},
    {"mean_length", Row<&R::mean_length>, "mean_length", kG6, "charts/episodic_length",
     "mean_episode_length", nullptr, nullptr},
    {"mean_lag", Row<&R::mean_lag>, "mean_lag", {'g', 4}, "lag/mean_lag", "mean_lag",
     "proxima_last_update_mean_lag",
     "Newest update: mean policy lag of its transitions, versions."},
    {"max_lag", Row<&R::max_lag>, "max_lag", kInt, "lag/max_lag", "max_lag",
     "proxima_last_update_max_lag", "Newest update: largest policy lag in its batch, versions."},
    // Drops by reason, cumulative, are the counters
    // proxima_{chunks,transitions}_dropped_total{outcome=...}.
    {"dropped_steps", Row<&R::dropped_steps>, "dropped_steps", kInt, "lag/dropped_steps",
     "dropped_steps", "proxima_last_update_dropped_steps",
     "Newest update: transitions dropped (any reason) since the update before it."},
    {"dropped_fraction", Row<&R::dropped_fraction>, "dropped_fraction", {'g', 4},
     "lag/dropped_fraction", "dropped_fraction", nullptr, nullptr},
    {"policy_loss", Update<&U::policy_loss>, "policy_loss", kG6, "losses/policy_loss",
     "policy_loss", "proxima_last_update_policy_loss", "Newest update: policy loss."},
    {"value_loss", Update<&U::value_loss>, "value_loss", kG6, "losses/value_loss", "value_loss",
     "proxima_last_update_value_loss", "Newest update: value loss."},
    {"entropy", Update<&U::entropy>, "entropy", kG6, "losses/entropy", "entropy",
     "proxima_last_update_entropy", "Newest update: policy entropy."},
    {"approx_kl", Update<&U::approx_kl>, "approx_kl", kG6, "losses/approx_kl", "approx_kl",
     "proxima_last_update_approx_kl", "Newest update: approximate KL."},
    {"clip_fraction", Update<&U::clip_fraction>, "clip_fraction", kG6, "losses/clip_fraction",
     "clip_fraction", "proxima_last_update_clip_fraction",
     "Newest update: fraction of clipped ratios."},
    {"explained_variance", Update<&U::explained_variance>, "explained_variance", kG6,
     "losses/explained_variance", "explained_variance", nullptr, nullptr},
    {"grad_norm", Update<&U::grad_norm>, "grad_norm", kG6, "losses/grad_norm", "grad_norm",
     nullptr, nullptr},
    {"learning_rate", Update<&U::learning_rate>, "learning_rate", kG6, "charts/learning_rate",
     "learning_rate", "proxima_last_update_learning_rate", "Newest update: learning rate."},
    {"kl_beta", Update<&U::kl_beta>, "kl_beta", kG6, "losses/kl_beta", "kl_beta", nullptr,
     nullptr},
    {"minibatches", Update<&U::minibatches>, "minibatches", kInt, "perf/minibatches",
     "minibatches_run", nullptr, nullptr},
    {"skipped_minibatches", Update<&U::skipped_minibatches>, "skipped_minibatches", kInt,
     "perf/skipped_minibatches", "skipped_minibatches", nullptr, nullptr},
    {"epochs_run", Update<&U::epochs_run>, "epochs_run", kInt, "perf/epochs_run", "epochs_run",
     nullptr, nullptr},
    {"update_seconds", Update<&U::update_seconds>, "update_seconds", {'f', 6},
     "perf/update_seconds", "update_seconds", nullptr, nullptr},
    // Where the time goes over the learner's recent window (docs/learner.md).
    {"learner_ingest_share", Share<&TimeShareRow::ingest>, "learner_ingest_share", {'f', 4},
     "time/learner_ingest_share", "learner_ingest_share", nullptr, nullptr},
    {"learner_wait_batch_share", Share<&TimeShareRow::wait_batch>, "learner_wait_batch_share",
     {'f', 4}, "time/learner_wait_batch_share", "learner_wait_batch_share", nullptr, nullptr},
    {"learner_update_share", Share<&TimeShareRow::update>, "learner_update_share", {'f', 4},
     "time/learner_update_share", "learner_update_share", nullptr, nullptr},
    {"learner_publish_share", Share<&TimeShareRow::publish>, "learner_publish_share", {'f', 4},
     "time/learner_publish_share", "learner_publish_share", nullptr, nullptr},
    {"actor_env_share", Share<&TimeShareRow::env>, "actor_env_share", {'f', 4},
     "time/actor_env_share", "actor_env_share", nullptr, nullptr},
    {"actor_inference_share", Share<&TimeShareRow::inference>, "actor_inference_share", {'f', 4},
     "time/actor_inference_share", "actor_inference_share", nullptr, nullptr},
    {"actor_send_wait_share", Share<&TimeShareRow::send_wait>, "actor_send_wait_share", {'f', 4},
     "time/actor_send_wait_share", "actor_send_wait_share", nullptr, nullptr},
    {"actor_weights_wait_share", Share<&TimeShareRow::weights_wait>, "actor_weights_wait_share",
     {'f', 4}, "time/actor_weights_wait_share", "actor_weights_wait_share", nullptr, nullptr},
    // Evaluation during training (--eval-every; learner/periodic_eval.h).
    {"eval_return", Eval<&EvalRow::mean_return>, "eval_return", kG6, "eval/return",
     "eval_mean_return", nullptr, nullptr},
    {"eval_return_std", Eval<&EvalRow::std_return>, "eval_return_std", kG6, "eval/return_std",
     "eval_std_return", nullptr, nullptr},
    {"eval_length", Eval<&EvalRow::mean_length>, "eval_length", kG6, "eval/length",
     "eval_mean_length", nullptr, nullptr},
    {"eval_seconds", Eval<&EvalRow::seconds>, "eval_seconds", {'f', 4}, "perf/eval_seconds",
     "eval_seconds", nullptr, nullptr},
    // Not in metrics.csv.
    {"first_minibatch_ratio_max_deviation", Update<&U::first_minibatch_ratio_max_deviation>,
     nullptr, kNone, "losses/ratio_max_deviation", "first_minibatch_ratio_max_deviation", nullptr,
     nullptr},
    {"samples", Update<&U::samples>, nullptr, kNone, "perf/batch_transitions",
     "batch_transitions", nullptr, nullptr},
    {"batch_chunks", Optional<&R::batch_chunks>, nullptr, kNone, "perf/batch_chunks",
     "batch_chunks", nullptr, nullptr},
};

}  // namespace

absl::Span<const MetricField> MetricFields() { return kFields; }

void MetricsRowToProto(const MetricsRow& row, v1::UpdateMetrics* out) {
  namespace pb = google::protobuf;
  const pb::Descriptor* descriptor = out->GetDescriptor();
  const pb::Reflection* reflection = out->GetReflection();
  for (const MetricField& f : MetricFields()) {
    if (f.proto_field == nullptr) continue;
    const pb::FieldDescriptor* field = descriptor->FindFieldByName(f.proto_field);
    if (field == nullptr) continue;  // tests/learner/update_metrics_test.cc rules this out
    const double v = f.value(row);
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        reflection->SetDouble(out, field, v);
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        if (!std::isnan(v)) reflection->SetUInt64(out, field, static_cast<uint64_t>(v));
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        if (!std::isnan(v)) reflection->SetUInt32(out, field, static_cast<uint32_t>(v));
        break;
      default:
        break;
    }
  }
}

double ProtoMetricValue(const v1::UpdateMetrics& metrics, const MetricField& f) {
  namespace pb = google::protobuf;
  if (f.proto_field == nullptr) return kNaN;
  const pb::FieldDescriptor* field = metrics.GetDescriptor()->FindFieldByName(f.proto_field);
  if (field == nullptr) return kNaN;
  const pb::Reflection* reflection = metrics.GetReflection();
  switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return reflection->GetDouble(metrics, field);
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return static_cast<double>(reflection->GetUInt64(metrics, field));
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return static_cast<double>(reflection->GetUInt32(metrics, field));
    default:
      return kNaN;
  }
}

}  // namespace proxima
