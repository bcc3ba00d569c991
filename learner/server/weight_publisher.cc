#include "learner/server/weight_publisher.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include <algorithm>
#include <utility>

#include "proxima/v1/weights.pb.h"

namespace proxima {

void WeightPublisher::Publish(const v1::WeightSnapshot& snapshot, uint64_t version,
                              std::chrono::steady_clock::time_point started) {
  auto p = std::make_shared<PublishedWeights>();
  p->version = version;
  p->published = started;
  bool own = false;
  (void)grpc::GenericSerialize<grpc::ProtoBufferWriter, v1::WeightSnapshot>(snapshot, &p->bytes,
                                                                            &own);
  std::vector<std::shared_ptr<PublicationListener>> listeners;
  {
    absl::MutexLock l(&mu_);
    latest_ = std::move(p);
    listeners = LiveLocked();
  }
  for (auto& w : listeners) w->NewVersion();
}

std::shared_ptr<const PublishedWeights> WeightPublisher::Latest() const {
  absl::MutexLock l(&mu_);
  return latest_;
}

bool WeightPublisher::AddListener(const std::shared_ptr<PublicationListener>& listener) {
  absl::MutexLock l(&mu_);
  if (closed_) return false;
  listeners_.push_back(listener);
  return true;
}

void WeightPublisher::RemoveListener(const PublicationListener* listener) {
  absl::MutexLock l(&mu_);
  listeners_.erase(std::remove_if(listeners_.begin(), listeners_.end(),
                                  [listener](const std::weak_ptr<PublicationListener>& p) {
                                    auto s = p.lock();
                                    return !s || s.get() == listener;
                                  }),
                   listeners_.end());
}

size_t WeightPublisher::listeners() const {
  absl::MutexLock l(&mu_);
  return LiveLocked().size();
}

std::vector<std::shared_ptr<PublicationListener>> WeightPublisher::LiveLocked() const {
  std::vector<std::shared_ptr<PublicationListener>> out;
  for (const auto& w : listeners_) {
    if (auto s = w.lock()) out.push_back(std::move(s));
  }
  return out;
}

void WeightPublisher::Close() {
  std::vector<std::shared_ptr<PublicationListener>> listeners;
  {
    absl::MutexLock l(&mu_);
    closed_ = true;
    listeners = LiveLocked();
  }
  for (auto& w : listeners) w->Close();
}

}  // namespace proxima
