#include "common/policy/cpu_threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

namespace proxima {

void ConfigureCpuThreads(int threads) {
  if (threads < 1) threads = 1;
  at::set_num_threads(threads);
  using SetThreads = void (*)(int);
  if (auto* set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set(threads);
  }
}

}  // namespace proxima
