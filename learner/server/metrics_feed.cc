#include "learner/server/metrics_feed.h"

#include <algorithm>

namespace proxima {

void MetricsFeed::Attach(const std::shared_ptr<MetricsStream>& stream) {
  absl::MutexLock l(&mu_);
  streams_.push_back(stream);
}

void MetricsFeed::MetricsWatchDone(MetricsStream* stream) {
  absl::MutexLock l(&mu_);
  streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                [stream](const std::shared_ptr<MetricsStream>& p) {
                                  return p.get() == stream;
                                }),
                 streams_.end());
}

std::vector<std::shared_ptr<MetricsStream>> MetricsFeed::Streams() const {
  absl::MutexLock l(&mu_);
  return streams_;
}

void MetricsFeed::Notify() {
  for (auto& s : Streams()) s->Notify();
}

void MetricsFeed::Close() {
  for (auto& s : Streams()) s->Abort(grpc::Status::OK);
}

}  // namespace proxima
