#include "learner/server/prometheus_exporter.h"

#include <map>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/server/lag_report.h"
#include "learner/server/time_breakdown.h"
#include "learner/update_metrics.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "proxima/v1/trajectory.pb.h"

namespace proxima {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void AddValue(MetricFamily* f, double value, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f->type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f->metric.push_back(std::move(m));
}

MetricFamily Counter(std::string name, std::string help, double value) {
  MetricFamily f = Family(std::move(name), std::move(help), MetricType::Counter);
  AddValue(&f, value);
  return f;
}

// One series per stage, labelled stage="<key>".
MetricFamily ByStage(std::string name, std::string help, MetricType type,
                     const std::map<std::string, double>& values) {
  MetricFamily f = Family(std::move(name), std::move(help), type);
  for (const auto& [stage, value] : values) AddValue(&f, value, {{"stage", stage}});
  return f;
}

MetricFamily Gauge(std::string name, std::string help, double value) {
  MetricFamily f = Family(std::move(name), std::move(help), MetricType::Gauge);
  AddValue(&f, value);
  return f;
}

std::string ModeLabel(v1::TrainingMode mode) {
  return mode == v1::TRAINING_MODE_SYNC ? "sync" : "async";
}

constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// A sequence run's counters (LearnerStatus.sequences, protocol revision 2).
void AddSequenceFamilies(const v1::SequenceStatus& s, std::vector<MetricFamily>* out) {
  out->push_back(Counter("proxima_sequence_chunks_total", "Sequence chunks evaluated.",
                         s.chunks()));
  out->push_back(Counter("proxima_sequences_total", "Sequences in evaluated chunks.",
                         s.sequences()));
  out->push_back(Counter("proxima_sequence_tokens_total",
                         "Completion tokens in evaluated chunks.", s.tokens()));
  MetricFamily rejected =
      Family("proxima_sequence_chunks_rejected_total",
             "Sequence chunks rejected, by the rule they broke (SequenceBatch's classes).",
             MetricType::Counter);
  for (const auto& [rule, n] : s.rejected()) {
    AddValue(&rejected, static_cast<double>(n), {{"rule", rule}});
  }
  out->push_back(std::move(rejected));
  out->push_back(Gauge("proxima_sequence_mean_reward", "Mean reward of evaluated sequences.",
                       s.mean_reward()));
  out->push_back(Gauge("proxima_sequence_mean_completion_length",
                       "Mean completion length of evaluated sequences, in tokens.",
                       s.mean_completion_length()));
  out->push_back(Gauge("proxima_sequence_log_prob_gap_mean",
                       "Mean |log pi_learner - log mu_behaviour| over evaluated tokens.",
                       s.mean_abs_log_prob_gap()));
  out->push_back(Gauge("proxima_sequence_held_out_accuracy",
                       "Greedy exact match on the task's held-out prompts (NaN before the first).",
                       s.held_out_accuracy()));
}

}  // namespace

std::vector<MetricFamily> StatusMetricFamilies(const v1::LearnerStatus& st) {
  std::vector<MetricFamily> out;
  // Counters.
  out.push_back(Counter("proxima_env_steps_total",
                        "Environment steps (transitions) trained on.", st.env_steps()));
  out.push_back(Counter("proxima_updates_total", "PPO updates completed.", st.updates()));
  out.push_back(Counter("proxima_episodes_total", "Episodes finished, as reported by actors.",
                        st.episodes()));
  out.push_back(Counter("proxima_chunks_received_total",
                        "Trajectory chunks accepted into the queue.", st.chunks_received()));
  out.push_back(Counter("proxima_chunks_trained_total", "Trajectory chunks trained on.",
                        st.chunks_trained()));
  out.push_back(Counter("proxima_transitions_received_total",
                        "Transitions accepted into the queue.", st.transitions_received()));
  out.push_back(Counter("proxima_transitions_trained_total", "Transitions trained on.",
                        st.transitions_trained()));
  MetricFamily dropped =
      Family("proxima_chunks_dropped_total",
             "Trajectory chunks rejected or dropped, by outcome.", MetricType::Counter);
  MetricFamily dropped_t =
      Family("proxima_transitions_dropped_total",
             "Transitions in rejected or dropped chunks, by outcome.", MetricType::Counter);
  for (const v1::DropCount& d : st.chunks_dropped()) {
    const std::string outcome = ChunkOutcomeLabel(d.reason());  // "dropped_policy_lag"
    AddValue(&dropped, static_cast<double>(d.chunks()), {{"outcome", outcome}});
    AddValue(&dropped_t, static_cast<double>(d.transitions()), {{"outcome", outcome}});
  }
  out.push_back(std::move(dropped));
  out.push_back(std::move(dropped_t));
  out.push_back(Counter("proxima_sync_rounds_total", "Sync mode: rounds completed.",
                        st.sync_rounds()));
  out.push_back(Counter("proxima_sync_round_exclusions_total",
                        "Sync mode: actors left out of a round, summed over rounds.",
                        st.sync_round_exclusions()));
  out.push_back(Counter("proxima_chunks_rate_limited_total",
                        "Chunks after which an actor's stream was not read for a while because "
                        "it sent faster than --max-chunks-per-second.",
                        st.chunks_rate_limited()));
  // Where the time goes (docs/learner.md): rate() of the seconds over a
  // range, over rate() of the matching wall, is the share of that range.
  if (st.has_time_total()) {
    out.push_back(ByStage("proxima_time_seconds_total",
                          "Seconds per stage since the learner started (learner stages and "
                          "learner_wall on the learner's clock; actor stages summed over actors).",
                          MetricType::Counter, StageSeconds(st.time_total())));
  }
  if (st.has_time_recent()) {
    out.push_back(ByStage("proxima_time_share",
                          "Share of wall time per stage over the learner's recent window "
                          "(learner stages of the learner's, actor stages of the actors').",
                          MetricType::Gauge, StageShares(st.time_recent())));
  }
  // Gauges.
  out.push_back(Gauge("proxima_policy_version", "Newest published policy version.",
                      st.policy_version()));
  out.push_back(Gauge("proxima_actors_connected", "Actors with a live stream.",
                      st.actors_connected()));
  out.push_back(Gauge("proxima_queue_transitions", "Transitions queued for training.",
                      st.queue_transitions()));
  out.push_back(Gauge("proxima_queue_capacity_transitions",
                      "Queue capacity in transitions (backpressure beyond).",
                      st.queue_capacity()));
  out.push_back(Gauge("proxima_chunks_queued", "Trajectory chunks queued for training.",
                      st.chunks_queued()));
  out.push_back(Gauge("proxima_env_steps_per_second",
                      "Trained environment steps per second over a recent window.",
                      st.env_steps_per_second()));
  out.push_back(Gauge("proxima_updates_per_second", "PPO updates per second since start.",
                      st.updates_per_second()));
  out.push_back(Gauge("proxima_mean_episode_return",
                      "Mean return of the last 100 episodes (NaN before the first).",
                      st.mean_episode_return()));
  out.push_back(Gauge("proxima_mean_episode_length",
                      "Mean length of the last 100 episodes (NaN before the first).",
                      st.mean_episode_length()));
  out.push_back(Gauge("proxima_paused", "1 while an admin has paused training.",
                      st.paused() ? 1 : 0));
  out.push_back(Gauge("proxima_serving", "1 while the learner accepts actors and data.",
                      st.serving_state() == v1::SERVING_STATE_SERVING ? 1 : 0));
  out.push_back(Gauge("proxima_uptime_seconds", "Seconds since the learner started.",
                      static_cast<double>(st.uptime().seconds()) + st.uptime().nanos() * 1e-9));
  if (st.has_last_update()) {
    for (const MetricField& f : MetricFields()) {
      if (f.prometheus_gauge == nullptr) continue;
      out.push_back(Gauge(f.prometheus_gauge, f.prometheus_help,
                          ProtoMetricValue(st.last_update(), f)));
    }
  }
  if (st.has_last_checkpoint()) {
    out.push_back(Gauge("proxima_last_checkpoint_policy_version",
                        "Policy version of the newest checkpoint.",
                        st.last_checkpoint().policy_version()));
  }
  if (st.has_sequences()) AddSequenceFamilies(st.sequences(), &out);
  MetricFamily info = Family("proxima_learner_info",
                             "Constant 1, labelled with the run's identity.", MetricType::Gauge);
  AddValue(&info, 1,
           {{"device", st.device()},
            {"env_id", st.env_id()},
            {"instance_id", st.learner_instance_id()},
            {"mode", ModeLabel(st.mode())}});
  out.push_back(std::move(info));
  return out;
}

absl::StatusOr<std::unique_ptr<PrometheusExporter>> PrometheusExporter::Start(
    const std::string& listen, StatusFn status) {
  std::unique_ptr<PrometheusExporter> e(new PrometheusExporter());
  e->status_ = std::move(status);
  e->registry_ = std::make_shared<prometheus::Registry>();
  e->update_seconds_ =
      &prometheus::BuildHistogram()
           .Name("proxima_update_duration_seconds")
           .Help("Duration of one PPO update (all epochs and minibatches).")
           .Register(*e->registry_)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                            0.5, 1, 2.5, 5, 10, 30});
  e->broadcast_seconds_ =
      &prometheus::BuildHistogram()
           .Name("proxima_weight_broadcast_latency_seconds")
           .Help("From a policy version's publication to the completed write of it to one "
                 "actor's WatchWeights stream.")
           .Register(*e->registry_)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                            0.025, 0.05, 0.1, 0.25, 0.5, 1, 5});
  PrometheusExporter* self = e.get();
  PROXIMA_ASSIGN_OR_RETURN(
      e->http_, HttpServer::Start(listen, "--metrics-listen", [self](const HttpRequest& r) {
        HttpResponse reply;
        if (r.method != "GET" && r.method != "HEAD") {
          reply.code = 405;
          reply.body = "only GET /metrics\n";
        } else if (r.path != "/metrics") {
          reply.code = 404;
          reply.body = "not found; metrics are at /metrics\n";
        } else {
          reply.content_type = kContentType;
          reply.body = self->Scrape();
        }
        return reply;
      }));
  return e;
}

PrometheusExporter::~PrometheusExporter() = default;

std::string PrometheusExporter::Scrape() const {
  std::vector<MetricFamily> families = registry_->Collect();
  std::vector<MetricFamily> from_status = StatusMetricFamilies(status_());
  families.insert(families.end(), std::make_move_iterator(from_status.begin()),
                  std::make_move_iterator(from_status.end()));
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

void PrometheusExporter::ObserveUpdateSeconds(double seconds) { update_seconds_->Observe(seconds); }

void PrometheusExporter::ObserveBroadcastSeconds(double seconds) {
  broadcast_seconds_->Observe(seconds);
}

}  // namespace proxima
