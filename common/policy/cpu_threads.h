// Thread settings for CPU inference and training.
//
// Debian's LibTorch calls whichever libblas.so.3 the alternatives system picks
// (deploy/install-deps.sh selects OpenBLAS). OpenBLAS starts one thread per
// core by default; for our small GEMMs those threads mostly spin and contend
// with env stepping and the other processes of a cluster (2.7× slower CartPole
// training on 2 cores, docs/benchmarks.md). ConfigureCpuThreads sets LibTorch's
// intra-op pool and, when the loaded BLAS is OpenBLAS, its pool to `threads`.
#ifndef PROXIMA_COMMON_POLICY_CPU_THREADS_H_
#define PROXIMA_COMMON_POLICY_CPU_THREADS_H_

namespace proxima {

void ConfigureCpuThreads(int threads);

}  // namespace proxima

#endif  // PROXIMA_COMMON_POLICY_CPU_THREADS_H_
