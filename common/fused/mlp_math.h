// The forward primitives of the fused MLP engines (proxima::mlp), shared by
// the learner's PPO kernel (learner/fused/ppo_kernel.h) and the actor's fused
// inference (common/fused/policy_forward.h): BLAS GEMM on row-major buffers,
// torch::nn::Linear on the flat parameter buffer of an MlpLayout, and the
// hidden activations.
//
//   Gemm          cblas_{s,d}gemm, row-major (OpenBLAS through libblas.so.3,
//                 one thread when the caller set it so: cpu_threads.h);
//   Linear        y[n, out] = x[n, in] · Wᵀ + b, W [out, in] row-major at
//                 params + layer.weight, exactly the shapes torch's Linear has;
//   TanhInPlace   float: a branch-free vectorized tanh (AVX2 clone where the
//                 CPU has it), within 2e-7 relative of std::tanh everywhere,
//                 NaN stays NaN; double: std::tanh (the float64 equivalence
//                 proofs need the reference function);
//   ReluInPlace   x > 0 ? x : 0 (as the learner's fused kernel always had it:
//                 unlike at::relu, a NaN becomes 0).
//
// No LibTorch, no allocation, no state: thread-safe.
#ifndef PROXIMA_COMMON_FUSED_MLP_MATH_H_
#define PROXIMA_COMMON_FUSED_MLP_MATH_H_

#include <algorithm>
#include <cstdint>

#include "common/fused/mlp_layout.h"

namespace proxima::fused {

// Row-major C[m, n] = alpha · op(A)[m, k] · op(B)[k, n] + beta · C, op(X) = Xᵀ
// when the matching flag is set.
void Gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc);
void Gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int lda,
          const double* b, int ldb, double beta, double* c, int ldc);

// y[n, out] = x[n, in] · Wᵀ + b (torch::nn::Linear), W and b read from the
// flat buffer `params` at `layer`'s offsets.
template <typename T>
void Linear(const T* params, const LinearRef& layer, const T* x, int64_t n, T* y) {
  const T* b = params + layer.bias;
  for (int64_t i = 0; i < n; ++i) std::copy(b, b + layer.out, y + i * layer.out);
  Gemm(false, true, static_cast<int>(n), layer.out, layer.in, T(1), x, layer.in,
       params + layer.weight, layer.in, T(1), y, layer.out);
}

// y ← tanh(y) for n values (see the top of this file for the float one).
void TanhInPlace(float* y, int64_t n);
void TanhInPlace(double* y, int64_t n);

// y ← (y > 0 ? y : 0) for n values.
template <typename T>
void ReluInPlace(T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = y[i] > T(0) ? y[i] : T(0);
}

// The hidden layers' activation.
template <typename T>
void ActivateInPlace(Activation activation, T* y, int64_t n) {
  if (activation == Activation::kTanh) {
    TanhInPlace(y, n);
  } else {
    ReluInPlace(y, n);
  }
}

}  // namespace proxima::fused

#endif  // PROXIMA_COMMON_FUSED_MLP_MATH_H_
