// ThreadSanitizer support for Debian's uninstrumented Abseil synchronization
// (PROXIMA_SANITIZE=thread only; cmake/Sanitizers.cmake links it into every
// executable).
//
// TSan learns happens-before from instrumented code and from the libc and
// pthread functions it intercepts. absl::Mutex, absl::CondVar and
// absl::Notification are implemented in libabsl_synchronization.so with
// atomics and futexes that TSan never sees, so every field an absl::Mutex
// guards would look racy. The linker's --wrap routes our calls to those
// functions to the __wrap_ functions below, which call the real one
// (__real_) and tell TSan what it did: __tsan_release(addr) before a lock is
// given up (Unlock, the wait in Await and CondVar::Wait, Notify) and
// __tsan_acquire(addr) after one is taken (Lock, LockWhen, a successful
// TryLock, the return from a wait, an observed notification). That is all a
// race detector needs; lock-order (deadlock) checking is not provided.
//
// The executables wrap the calls of our own (instrumented) code, and
// tests/sanitize/build_tsan_grpc.sh links this file into its TSan build of
// Debian's gRPC so that gRPC's calls are wrapped too. The symbol
// names are Debian's Abseil ABI (inline namespace absl::debian3): a different
// Abseil build fails to link here rather than silently losing the
// annotations. CMake wraps every symbol named __wrap_<mangled> in this file.
#include <atomic>
#include <cstddef>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

extern "C" {
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
}

namespace {

void Acquire(const void* addr) { __tsan_acquire(const_cast<void*>(addr)); }
void Release(const void* addr) { __tsan_release(const_cast<void*>(addr)); }

// Acquires `addr` when it goes out of scope, i.e. after the call it guards
// has returned (nothing if `addr` is null).
struct AcquireOnReturn {
  const void* addr;
  ~AcquireOnReturn() {
    if (addr != nullptr) Acquire(addr);
  }
};

// Every wrapper below is one of these: calls real(args...) and tells TSan
// what it did, a release of `released` just before the call and an acquire of
// `acquired` just after it (either nothing when null).
template <typename R, typename... P, typename... A>
R Bracket(const void* released, const void* acquired, R (*real)(P...), A&&... args) {
  if (released != nullptr) Release(released);
  AcquireOnReturn acquire{acquired};
  return real(std::forward<A>(args)...);
}

// For the calls that may fail to take `addr` (TryLock, timed waits): an
// acquire only if `taken`.
bool AcquiredIf(const void* addr, bool taken) {
  if (taken) Acquire(addr);
  return taken;
}

// Notification::HasBeenNotified() passes the address of the notified flag,
// which follows the Mutex; the annotations use the Notification's address.
static_assert(sizeof(absl::Notification) == 2 * sizeof(absl::Mutex),
              "absl::Notification is not {Mutex, atomic<bool>}");
const void* NotificationOf(const std::atomic<bool>* flag) {
  return reinterpret_cast<const char*>(flag) - sizeof(absl::Mutex);
}

// Abseil evaluates a LockWhen/Await condition with the mutex held but inside
// the real call, out of the wrappers' sight: before the wrapper's Acquire,
// and possibly just before the library releases the mutex to block.
// AcquiringCondition wraps the caller's condition so that every evaluation is
// bracketed by an acquire and a release of the mutex in TSan's view.
struct AcquiringCondition {
  const absl::Mutex* mu;
  const absl::Condition* cond;

  static bool Eval(AcquiringCondition* c) {
    Acquire(c->mu);
    const bool r = c->cond->Eval();
    Release(c->mu);
    return r;
  }
  absl::Condition Get() { return absl::Condition(&AcquiringCondition::Eval, this); }
};

// LockWhen* and Await*: real(mu, c, rest...) waits until `c` holds and
// returns with `mu` held. Await* gives up the lock it holds while it waits
// (`released` is mu), LockWhen* holds none (`released` is null).
template <typename R, typename... Rest>
R WhenCondition(const void* released, R (*real)(absl::Mutex*, const absl::Condition&, Rest...),
                absl::Mutex* mu, const absl::Condition& c, Rest... rest) {
  AcquiringCondition cond{mu, &c};
  return Bracket(released, mu, real, mu, cond.Get(), rest...);
}

}  // namespace

using absl::Condition;
using absl::CondVar;
using absl::Duration;
using absl::Mutex;
using absl::Notification;
using absl::Time;

extern "C" {

// ---- absl::Mutex ------------------------------------------------------------
// Lock and ReaderLock take the lock; Unlock and ReaderUnlock give it up.
void __real__ZN4absl7debian35Mutex4LockEv(Mutex* mu);
void __wrap__ZN4absl7debian35Mutex4LockEv(Mutex* mu) {
  Bracket(nullptr, mu, __real__ZN4absl7debian35Mutex4LockEv, mu);
}

void __real__ZN4absl7debian35Mutex10ReaderLockEv(Mutex* mu);
void __wrap__ZN4absl7debian35Mutex10ReaderLockEv(Mutex* mu) {
  Bracket(nullptr, mu, __real__ZN4absl7debian35Mutex10ReaderLockEv, mu);
}

bool __real__ZN4absl7debian35Mutex7TryLockEv(Mutex* mu);
bool __wrap__ZN4absl7debian35Mutex7TryLockEv(Mutex* mu) {
  return AcquiredIf(mu, __real__ZN4absl7debian35Mutex7TryLockEv(mu));
}

bool __real__ZN4absl7debian35Mutex13ReaderTryLockEv(Mutex* mu);
bool __wrap__ZN4absl7debian35Mutex13ReaderTryLockEv(Mutex* mu) {
  return AcquiredIf(mu, __real__ZN4absl7debian35Mutex13ReaderTryLockEv(mu));
}

void __real__ZN4absl7debian35Mutex6UnlockEv(Mutex* mu);
void __wrap__ZN4absl7debian35Mutex6UnlockEv(Mutex* mu) {
  Bracket(mu, nullptr, __real__ZN4absl7debian35Mutex6UnlockEv, mu);
}

void __real__ZN4absl7debian35Mutex12ReaderUnlockEv(Mutex* mu);
void __wrap__ZN4absl7debian35Mutex12ReaderUnlockEv(Mutex* mu) {
  Bracket(mu, nullptr, __real__ZN4absl7debian35Mutex12ReaderUnlockEv, mu);
}

// LockWhen* take the lock once the condition holds; Await* give up the lock
// they hold while they wait. The *WithTimeout / *WithDeadline variants hold
// the lock on return whatever they return.
void __real__ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE(Mutex* mu, const Condition& c);
void __wrap__ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE(Mutex* mu, const Condition& c) {
  WhenCondition(nullptr, __real__ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE, mu, c);
}

void __real__ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE(Mutex* mu, const Condition& c);
void __wrap__ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE(Mutex* mu,
                                                                     const Condition& c) {
  WhenCondition(nullptr, __real__ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE, mu, c);
}

bool __real__ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    Mutex* mu, const Condition& c, Duration d);
bool __wrap__ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    Mutex* mu, const Condition& c, Duration d) {
  return WhenCondition(
      nullptr, __real__ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE,
      mu, c, d);
}

bool __real__ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    Mutex* mu, const Condition& c, Time t);
bool __wrap__ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    Mutex* mu, const Condition& c, Time t) {
  return WhenCondition(
      nullptr, __real__ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE, mu,
      c, t);
}

void __real__ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(Mutex* mu, const Condition& c);
void __wrap__ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(Mutex* mu, const Condition& c) {
  WhenCondition(mu, __real__ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE, mu, c);
}

bool __real__ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    Mutex* mu, const Condition& c, Duration d);
bool __wrap__ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    Mutex* mu, const Condition& c, Duration d) {
  return WhenCondition(
      mu, __real__ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE, mu, c,
      d);
}

bool __real__ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    Mutex* mu, const Condition& c, Time t);
bool __wrap__ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    Mutex* mu, const Condition& c, Time t) {
  return WhenCondition(
      mu, __real__ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE, mu, c, t);
}

// absl::ReleasableMutexLock::Release() unlocks inside the library (gRPC calls
// it); its only member is the Mutex pointer, read before the real call clears
// it.
static_assert(sizeof(absl::ReleasableMutexLock) == sizeof(Mutex*),
              "absl::ReleasableMutexLock is not {Mutex*}");
void __real__ZN4absl7debian319ReleasableMutexLock7ReleaseEv(absl::ReleasableMutexLock* l);
void __wrap__ZN4absl7debian319ReleasableMutexLock7ReleaseEv(absl::ReleasableMutexLock* l) {
  Bracket(*reinterpret_cast<Mutex* const*>(l), nullptr,
          __real__ZN4absl7debian319ReleasableMutexLock7ReleaseEv, l);
}

// ---- absl::CondVar ----------------------------------------------------------
// The waits give up the mutex and hold it again on return, whatever they return.
void __real__ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(CondVar* cv, Mutex* mu);
void __wrap__ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(CondVar* cv, Mutex* mu) {
  Bracket(mu, mu, __real__ZN4absl7debian37CondVar4WaitEPNS0_5MutexE, cv, mu);
}

bool __real__ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE(CondVar* cv,
                                                                                 Mutex* mu,
                                                                                 Duration d);
bool __wrap__ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE(CondVar* cv,
                                                                                 Mutex* mu,
                                                                                 Duration d) {
  return Bracket(mu, mu,
                 __real__ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE, cv,
                 mu, d);
}

bool __real__ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE(CondVar* cv,
                                                                              Mutex* mu, Time t);
bool __wrap__ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE(CondVar* cv,
                                                                              Mutex* mu, Time t) {
  return Bracket(mu, mu, __real__ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE,
                 cv, mu, t);
}

// ---- absl::Notification -----------------------------------------------------
// Notify releases the Notification; seeing it notified acquires it.
void __real__ZN4absl7debian312Notification6NotifyEv(Notification* n);
void __wrap__ZN4absl7debian312Notification6NotifyEv(Notification* n) {
  Bracket(n, nullptr, __real__ZN4absl7debian312Notification6NotifyEv, n);
}

void __real__ZNK4absl7debian312Notification19WaitForNotificationEv(const Notification* n);
void __wrap__ZNK4absl7debian312Notification19WaitForNotificationEv(const Notification* n) {
  Bracket(nullptr, n, __real__ZNK4absl7debian312Notification19WaitForNotificationEv, n);
}

bool __real__ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE(
    const Notification* n, Duration d);
bool __wrap__ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE(
    const Notification* n, Duration d) {
  return AcquiredIf(
      n,
      __real__ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE(n, d));
}

bool __real__ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE(
    const Notification* n, Time t);
bool __wrap__ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE(
    const Notification* n, Time t) {
  return AcquiredIf(
      n, __real__ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE(n, t));
}

bool __real__ZN4absl7debian312Notification23HasBeenNotifiedInternalEPKSt6atomicIbE(
    const std::atomic<bool>* flag);
bool __wrap__ZN4absl7debian312Notification23HasBeenNotifiedInternalEPKSt6atomicIbE(
    const std::atomic<bool>* flag) {
  return AcquiredIf(
      NotificationOf(flag),
      __real__ZN4absl7debian312Notification23HasBeenNotifiedInternalEPKSt6atomicIbE(flag));
}

}  // extern "C"
