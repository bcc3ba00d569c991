#include "common/thread_team.h"

namespace proxima {

ThreadTeam::ThreadTeam(int size) : size_(size < 1 ? 1 : size) {
  workers_.reserve(size_ - 1);
  for (int k = 1; k < size_; ++k) workers_.emplace_back([this, k] { Worker(k); });
}

ThreadTeam::~ThreadTeam() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : workers_) t.join();
}

void ThreadTeam::Run(int n, absl::FunctionRef<void(int begin, int end)> fn) {
  if (size_ == 1 || n <= 1) {
    if (n > 0) fn(0, n);
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    n_ = n;
    fn_ = &fn;
    pending_ = size_ - 1;
    ++generation_;
  }
  if (n / size_ > 0) fn(0, n / size_);
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* pending) { return *pending == 0; }, &pending_));
  fn_ = nullptr;
}

void ThreadTeam::Worker(int part) {
  int64_t seen = 0;
  while (true) {
    int n;
    const absl::FunctionRef<void(int, int)>* fn;
    {
      absl::MutexLock lock(&mu_);
      const auto ready = [&] {
        mu_.AssertHeld();
        return stopping_ || generation_ != seen;
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      seen = generation_;
      n = n_;
      fn = fn_;
    }
    const int begin = static_cast<int>(static_cast<int64_t>(part) * n / size_);
    const int end = static_cast<int>(static_cast<int64_t>(part + 1) * n / size_);
    if (begin < end) (*fn)(begin, end);
    absl::MutexLock lock(&mu_);
    --pending_;
  }
}

}  // namespace proxima
