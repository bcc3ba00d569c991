// WeightPublisher: the newest policy version, serialized once, and the
// WatchWeights streams that want it (DESIGN.md "Threads").
//
// Publish() serializes a WeightSnapshot once into an immutable shared buffer,
// makes it the latest (latest-wins: an older one is simply replaced, never
// queued) and then tells every listener there is something new. A listener
// (a WatchWeights stream) takes Latest() when it is ready to write, so a slow
// actor never receives a backlog — only the newest version it has not sent.
//
// Close() is the shutdown path: every listener is told to finish (with OK)
// and none is added afterwards.
//
// Thread-safe. Listeners are called with no lock held; the publisher's mutex
// is a leaf (nothing else is locked while it is held).
#ifndef PROXIMA_LEARNER_SERVER_WEIGHT_PUBLISHER_H_
#define PROXIMA_LEARNER_SERVER_WEIGHT_PUBLISHER_H_

#include <grpcpp/support/byte_buffer.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace proxima {

namespace v1 {
class WeightSnapshot;
}  // namespace v1

// One published version: immutable once published.
struct PublishedWeights {
  uint64_t version = 0;
  grpc::ByteBuffer bytes;  // the serialized v1::WeightSnapshot
  std::chrono::steady_clock::time_point published;  // start of publication
};

class PublicationListener {
 public:
  virtual ~PublicationListener() = default;
  // A newer version may be available (called with no lock held).
  virtual void NewVersion() = 0;
  // The learner stops: finish.
  virtual void Close() = 0;
};

class WeightPublisher {
 public:
  // Serializes `snapshot` (of `version`) once, makes it the latest and wakes
  // every listener. `started`: when publication began (for latency metrics).
  void Publish(const v1::WeightSnapshot& snapshot, uint64_t version,
               std::chrono::steady_clock::time_point started);

  // The newest published version, or null before the first Publish().
  std::shared_ptr<const PublishedWeights> Latest() const;

  // Adds a listener (held weakly). False after Close(): the caller should end
  // the stream itself.
  bool AddListener(const std::shared_ptr<PublicationListener>& listener);
  // Removes `listener` (and any expired ones).
  void RemoveListener(const PublicationListener* listener);
  size_t listeners() const;

  // Calls Close() on every listener; later AddListener() calls fail.
  void Close();

 private:
  std::vector<std::shared_ptr<PublicationListener>> LiveLocked() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::shared_ptr<const PublishedWeights> latest_ ABSL_GUARDED_BY(mu_);
  std::vector<std::weak_ptr<PublicationListener>> listeners_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_WEIGHT_PUBLISHER_H_
