#include "common/fused/mlp_math.h"

#include <cblas.h>

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

__attribute__((target_clones("avx2", "default"))) void TanhInPlace(float* __restrict y,
                                                                    int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = FastTanh(y[i]);
}
void TanhInPlace(double* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(y[i]);
}

}  // namespace proxima::fused
