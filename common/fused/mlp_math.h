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
#include <cmath>
#include <cstdint>
#include <cstring>

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

// tanh(v) in float: odd Taylor series below |v| = 0.2, above it
// sign(v)·(1 − e)/(1 + e) with e = exp(−2|v|) by range reduction
// (e = 2^k·p(r), |r| ≤ ln2/2, p the degree-7 Taylor polynomial of exp).
// Branch-free so that loops over it vectorize (glibc's tanhf is a scalar
// call, ~12 ns, and was half of a CartPole minibatch step). Inline so that a
// caller can compile it into its own loop and CPU clone.
inline float FastTanh(float v) {
  const float ax = std::fabs(v);
  const float z = -2.0f * (ax < 9.0f ? ax : 9.0f);
  const float kf = (z * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round(z/ln2)
  const float r = z - kf * 0.693145751953125f - kf * 1.42860682030941723212e-6f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(kf) + 127) << 23;  // 2^k, k in [-26, 0]
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  const float e = p * scale;
  const float large = (1.0f - e) / (1.0f + e);
  const float x2 = ax * ax;
  const float small =
      ax + ax * x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315 + x2 * (62.0f / 2835))));
  const float t = std::copysign(ax < 0.2f ? small : large, v);
  return v != v ? v : t;
}

// y ← tanh(y) for n values (FastTanh, with an AVX2 clone where the CPU has
// it).
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
