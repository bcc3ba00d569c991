#include "common/fused/mlp_math.h"

#include <cblas.h>

#include <cmath>
#include <cstring>

namespace proxima::fused {
namespace {

CBLAS_TRANSPOSE Trans(bool t) { return t ? CblasTrans : CblasNoTrans; }

}  // namespace

void Gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, Trans(ta), Trans(tb), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void Gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int lda,
          const double* b, int ldb, double beta, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, Trans(ta), Trans(tb), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// float: odd Taylor series below |x| = 0.2, above it sign(x)·(1 − e)/(1 + e)
// with e = exp(−2|x|) by range reduction (e = 2^k·p(r), |r| ≤ ln2/2, p the
// degree-7 Taylor polynomial of exp). Branch-free so the loop vectorizes:
// glibc's tanhf is a scalar call, ~12 ns, and was half of a CartPole
// minibatch step.
__attribute__((target_clones("avx2", "default"))) void TanhInPlace(float* __restrict y,
                                                                    int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = y[i];
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
    y[i] = v != v ? v : t;
  }
}
void TanhInPlace(double* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(y[i]);
}

}  // namespace proxima::fused
