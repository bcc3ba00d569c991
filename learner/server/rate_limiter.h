// TokenBucket: the per-actor chunk rate limit of the learner
// (--max-chunks-per-second, docs/learner.md "Limits").
//
// A bucket holds up to `burst` tokens and refills at `rate` tokens per
// second. Every chunk read from an actor takes one token, even when none is
// left: the bucket then goes into debt (at most one token, because the
// learner reads nothing more from that actor until the debt is repaid).
// Take() says how long to wait before the next read: zero while tokens
// remain, otherwise the time the refill needs to pay the debt back. So an
// actor may send `burst` chunks at once and `rate` chunks per second on
// average; one that sends faster is slowed by backpressure (its next chunk
// is not read until the wait is over), never rejected.
//
// Not thread-safe: the learner keeps one bucket per actor under its own
// mutex. Time is passed in, so tests need no clock.
#ifndef PROXIMA_LEARNER_SERVER_RATE_LIMITER_H_
#define PROXIMA_LEARNER_SERVER_RATE_LIMITER_H_

#include <chrono>

namespace proxima {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // rate > 0 tokens per second, burst >= 1 tokens; starts full at `now`.
  TokenBucket(double rate, double burst, Clock::time_point now);

  // Takes one token at `now` and returns how long the caller should wait
  // before taking the next one (zero when a token is left). `now` must not
  // go backwards.
  Clock::duration Take(Clock::time_point now);

  // Tokens left at `now` (negative while in debt).
  double Available(Clock::time_point now) const;

  double rate() const { return rate_; }
  double burst() const { return burst_; }

 private:
  void Refill(Clock::time_point now);

  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

// The burst of --max-chunks-per-second = r: one second's worth, at least 1.
double DefaultChunkBurst(double rate);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_RATE_LIMITER_H_
