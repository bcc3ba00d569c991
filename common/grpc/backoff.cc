#include "common/grpc/backoff.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>

namespace proxima {

Backoff::Backoff(absl::Duration initial, absl::Duration max, uint64_t seed)
    : initial_(initial > absl::ZeroDuration() ? initial : absl::Milliseconds(100)),
      max_(std::max(max, initial_)),
      current_(initial_),
      rng_(seed) {}

Backoff Backoff::FromHints(const v1::ChannelHints& hints, uint64_t seed) {
  absl::Duration initial = DurationFromProto(hints.reconnect_backoff_initial().seconds(),
                                             hints.reconnect_backoff_initial().nanos());
  absl::Duration max = DurationFromProto(hints.reconnect_backoff_max().seconds(),
                                         hints.reconnect_backoff_max().nanos());
  if (initial <= absl::ZeroDuration()) initial = absl::Milliseconds(100);
  if (max <= absl::ZeroDuration()) max = absl::Seconds(5);
  return Backoff(initial, max, seed);
}

absl::Duration Backoff::Next() {
  const absl::Duration d = current_;
  current_ = std::min(current_ * 2, max_);
  return d / 2 + d / 2 * rng_.Uniform();
}

bool OutageLog::Failure(absl::Time now) {
  if (failures_++ == 0) start_ = now;
  attempts_ = failures_;
  if (now - last_logged_ < every_) return false;
  last_logged_ = now;
  return true;
}

bool OutageLog::Success(absl::Time now) {
  if (failures_ == 0) return false;
  attempts_ = failures_;
  duration_ = now - start_;
  failures_ = 0;
  last_logged_ = absl::InfinitePast();
  return true;
}

absl::Duration DurationFromProto(int64_t seconds, int32_t nanos) {
  return absl::Seconds(seconds) + absl::Nanoseconds(nanos);
}

uint64_t JitterSeed() {
  static std::atomic<uint64_t> counter{0};
  const uint64_t now =
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return MixSeed(now ^ (static_cast<uint64_t>(::getpid()) << 32) ^
                 counter.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace proxima
