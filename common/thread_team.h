// ThreadTeam: a fixed team of threads that runs one function over the parts
// of an index range, for loops whose iterations are independent and each cost
// tens of microseconds or more (stepping MuJoCo env columns).
//
// A team of `size` runs the calling thread plus size - 1 workers it owns
// (joined by the destructor; no detached threads). Run(n, fn) splits [0, n)
// into `size` contiguous parts, part k = [k*n/size, (k+1)*n/size), calls
// fn(begin, end) for every non-empty part — part 0 on the calling thread —
// and returns when all have returned. Run() allocates nothing; fn must not
// throw. Run() is not reentrant: one caller at a time.
#ifndef PROXIMA_COMMON_THREAD_TEAM_H_
#define PROXIMA_COMMON_THREAD_TEAM_H_

#include <cstdint>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"

namespace proxima {

class ThreadTeam {
 public:
  // size >= 1; size 1 runs everything on the calling thread.
  explicit ThreadTeam(int size);
  ~ThreadTeam();
  ThreadTeam(const ThreadTeam&) = delete;
  ThreadTeam& operator=(const ThreadTeam&) = delete;

  int size() const { return size_; }
  void Run(int n, absl::FunctionRef<void(int begin, int end)> fn);

 private:
  void Worker(int part);

  const int size_;
  absl::Mutex mu_;
  // The job of generation `generation_`: n_ items, fn_ (valid while a Run
  // is in progress); `pending_` workers have not finished it yet.
  int64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  int n_ ABSL_GUARDED_BY(mu_) = 0;
  const absl::FunctionRef<void(int, int)>* fn_ ABSL_GUARDED_BY(mu_) = nullptr;
  int pending_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_THREAD_TEAM_H_
