// MetricsFeed: the open Monitor.WatchMetrics streams. The trainer calls
// Notify() after each update; every stream then pulls, from RunProgress, the
// updates it has not sent yet (one at a time, so a slow client builds no
// backlog). Close() is the shutdown path: every stream finishes with OK.
//
// It is the streams' MetricsHost: they read the history through it.
//
// Thread-safe. Lock order: the feed's mutex is a leaf (streams are called
// with it released); a stream calls NextMetrics() with its own mutex held,
// which takes RunProgress's (reactor → progress).
#ifndef PROXIMA_LEARNER_SERVER_METRICS_FEED_H_
#define PROXIMA_LEARNER_SERVER_METRICS_FEED_H_

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "learner/server/run_progress.h"
#include "learner/server/stream_reactors.h"

namespace proxima {

class MetricsFeed final : public MetricsHost {
 public:
  explicit MetricsFeed(const RunProgress* progress) : progress_(progress) {}

  void Attach(const std::shared_ptr<MetricsStream>& stream);
  // A new update was recorded.
  void Notify();
  void Close();

  // MetricsHost.
  bool NextMetrics(uint64_t after, v1::UpdateMetrics* out) const override {
    return progress_->NextMetrics(after, out);
  }
  void MetricsWatchDone(MetricsStream* stream) override;

 private:
  std::vector<std::shared_ptr<MetricsStream>> Streams() const;

  const RunProgress* const progress_;
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<MetricsStream>> streams_ ABSL_GUARDED_BY(mu_);
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_METRICS_FEED_H_
