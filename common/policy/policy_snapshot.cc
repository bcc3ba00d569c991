#include "common/policy/policy_snapshot.h"

#include <utility>

#include "common/status_macros.h"

namespace proxima {

absl::StatusOr<std::shared_ptr<const PolicySnapshot>> DecodeSnapshot(
    const v1::WeightSnapshot& proto, const PolicyShape& shape) {
  auto s = std::make_shared<PolicySnapshot>();
  s->version = proto.version();
  // Every parameter is overwritten by ApplyWeights (it checks that the
  // snapshot names all of them), so no initialization.
  s->model = ActorCritic(shape.obs_dim, shape.action_space, shape.model, /*initialize=*/false);
  s->model->eval();
  s->normalizer.stats = RunningMeanStd(shape.obs_dim);
  PROXIMA_RETURN_IF_ERROR(ApplyWeights(proto, s->model, &s->normalizer));
  return std::shared_ptr<const PolicySnapshot>(std::move(s));
}

bool SnapshotSlot::Put(std::shared_ptr<const PolicySnapshot> s) {
  if (s == nullptr) return false;
  {
    absl::MutexLock lock(&mu_);
    if (latest_ != nullptr && latest_->version >= s->version) return false;
    latest_ = std::move(s);
  }
  cv_.SignalAll();
  return true;
}

std::shared_ptr<const PolicySnapshot> SnapshotSlot::Latest() const {
  absl::MutexLock lock(&mu_);
  return latest_;
}

std::shared_ptr<const PolicySnapshot> SnapshotSlot::WaitNewer(std::optional<uint64_t> after,
                                                              const std::atomic<bool>& interrupt) {
  return WaitNewerUntil(after, interrupt, absl::InfiniteFuture());
}

std::shared_ptr<const PolicySnapshot> SnapshotSlot::WaitNewerUntil(
    std::optional<uint64_t> after, const std::atomic<bool>& interrupt, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto newer = [&] {
    return latest_ != nullptr && (!after.has_value() || latest_->version > *after);
  };
  while (!interrupt.load() && !newer()) {
    if (cv_.WaitWithDeadline(&mu_, deadline) && !newer()) return nullptr;
  }
  if (interrupt.load()) return nullptr;
  return latest_;
}

void SnapshotSlot::Wake() {
  // Taking the mutex orders the caller's flag store before the waiters'
  // re-check, so the wake-up cannot be lost.
  { absl::MutexLock lock(&mu_); }
  cv_.SignalAll();
}

void SnapshotSlot::Clear() {
  absl::MutexLock lock(&mu_);
  latest_ = nullptr;
}

}  // namespace proxima
