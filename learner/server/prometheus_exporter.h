// PrometheusExporter: the learner's numbers on http://HOST:PORT/metrics in the
// Prometheus text format. prometheus-cpp (core) holds the histograms and
// writes the text format; learner/server/http_server.h (GNU libmicrohttpd)
// serves it.
//
// Two sources, one endpoint:
//   * at every scrape the exporter calls the status function it was given
//     (LearnerServer: the same LearnerStatus that Monitor.GetStatus returns)
//     and turns it into metric families (StatusMetricFamilies below), so the
//     scrape and `proxima status` can never disagree; the newest update's
//     gauges are the metrics with a Prometheus gauge in
//     learner/update_metrics.h; where the time goes is
//     proxima_time_seconds_total{stage} (since this learner process started:
//     it restarts from 0 on resume) and proxima_time_share{stage} (the
//     recent window), learner/server/time_breakdown.h;
//   * two histograms record events between scrapes: the duration of each PPO
//     update and the weight-broadcast latency (publication of a version to the
//     completed write of that version to one actor's WatchWeights stream).
//
// Metric names start with `proxima_`; counters end in `_total` and never
// decrease while the learner runs (a resumed learner continues them from its
// checkpoint: env steps, updates, episodes).
//
// Thread-safety: Observe*() may be called from any thread. The status function
// runs on the exporter's HTTP threads and must stay callable until the
// exporter is destroyed; the destructor stops the HTTP server (blocking until
// its threads have left any scrape in progress).
#ifndef PROXIMA_LEARNER_SERVER_PROMETHEUS_EXPORTER_H_
#define PROXIMA_LEARNER_SERVER_PROMETHEUS_EXPORTER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "learner/server/http_server.h"
#include "prometheus/metric_family.h"
#include "proxima/v1/status.pb.h"

namespace prometheus {
class Histogram;
class Registry;
}  // namespace prometheus

namespace proxima {

class PrometheusExporter {
 public:
  using StatusFn = std::function<v1::LearnerStatus()>;

  // Binds `listen` (A.B.C.D:PORT, [IPV6]:PORT or localhost:PORT; port 0 picks
  // a free port) and serves GET /metrics on one internal thread.
  // InvalidArgument for a malformed address, Unavailable when it cannot be
  // bound.
  static absl::StatusOr<std::unique_ptr<PrometheusExporter>> Start(const std::string& listen,
                                                                   StatusFn status);
  ~PrometheusExporter();

  // HOST:PORT a scraper can dial (a wildcard host becomes 127.0.0.1).
  const std::string& address() const { return http_->address(); }

  void ObserveUpdateSeconds(double seconds);
  void ObserveBroadcastSeconds(double seconds);

  // The text a scrape returns now (the histograms, then the status families).
  std::string Scrape() const;

 private:
  PrometheusExporter() = default;

  StatusFn status_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Histogram* update_seconds_ = nullptr;
  prometheus::Histogram* broadcast_seconds_ = nullptr;
  std::unique_ptr<HttpServer> http_;  // last: stops serving before the rest goes
};

// The metric families for one LearnerStatus (what a scrape serves besides the
// histograms). Exposed for tests.
std::vector<prometheus::MetricFamily> StatusMetricFamilies(const v1::LearnerStatus& status);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_PROMETHEUS_EXPORTER_H_
