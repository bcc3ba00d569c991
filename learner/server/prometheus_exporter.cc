#include "learner/server/prometheus_exporter.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <map>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/grpc/grpc_util.h"
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

MHD_Result Reply(MHD_Connection* connection, unsigned int code, const std::string& body,
                 const char* content_type) {
  MHD_Response* response = MHD_create_response_from_buffer(
      body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  const MHD_Result r = MHD_queue_response(connection, code, response);
  MHD_destroy_response(response);
  return r;
}

// Parses "A.B.C.D:PORT" or "[IPV6]:PORT" into a socket address.
absl::Status ParseBindAddress(const std::string& listen, sockaddr_storage* out, bool* ipv6) {
  std::memset(out, 0, sizeof(*out));
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(listen).substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad HOST:PORT '", listen, "'"));
  }
  std::string host = listen.substr(0, colon);
  *ipv6 = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (*ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(out);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a->sin6_addr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("bad IPv6 address in '", listen, "'"));
    }
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(out);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    if (host == "localhost") host = "127.0.0.1";
    if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the host in '", listen, "' must be a numeric IPv4 address, [IPv6] or localhost"));
    }
  }
  return absl::OkStatus();
}

MHD_Result HandleRequest(void* cls, MHD_Connection* connection, const char* url,
                         const char* method, const char* /*version*/,
                         const char* /*upload_data*/, size_t* upload_data_size,
                         void** /*req_cls*/) {
  auto* self = static_cast<PrometheusExporter*>(cls);
  const bool get = std::strcmp(method, MHD_HTTP_METHOD_GET) == 0;
  const bool head = std::strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
  if (!get && !head) {
    return Reply(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n", "text/plain");
  }
  if (*upload_data_size != 0) {
    *upload_data_size = 0;  // a GET with a body: ignore the body
    return MHD_YES;
  }
  if (std::strcmp(url, "/metrics") != 0) {
    return Reply(connection, MHD_HTTP_NOT_FOUND, "not found; metrics are at /metrics\n",
                 "text/plain");
  }
  return Reply(connection, MHD_HTTP_OK, self->Scrape(), kContentType);
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
  sockaddr_storage addr;
  bool ipv6 = false;
  absl::Status parsed = ParseBindAddress(listen, &addr, &ipv6);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--metrics-listen: ", parsed.message()));
  }
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
  // One internal thread with the default stack size; a request is a few KiB.
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;  // errors are returned, not logged
  if (ipv6) flags |= MHD_USE_IPv6;
  e->daemon_ = MHD_start_daemon(flags, 0, nullptr, nullptr, &HandleRequest, e.get(),
                                MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&addr),
                                MHD_OPTION_CONNECTION_TIMEOUT, 30U, MHD_OPTION_END);
  if (e->daemon_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("--metrics-listen: cannot serve on ", listen,
                                               " (address in use or not local?)"));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(e->daemon_, MHD_DAEMON_INFO_LISTEN_FD);
  sockaddr_storage bound;
  socklen_t len = sizeof(bound);
  if (info == nullptr ||
      getsockname(info->listen_fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    return absl::InternalError("--metrics-listen: cannot read the bound port");
  }
  const int port = ntohs(bound.ss_family == AF_INET6
                             ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                             : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  e->address_ = DialableAddress(listen, port);
  return e;
}

PrometheusExporter::~PrometheusExporter() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

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
