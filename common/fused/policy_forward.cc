#include "common/fused/policy_forward.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/fused/mlp_math.h"

namespace proxima::fused {
namespace {

// Eight floats (one AVX register); GCC lowers it to two SSE registers in the
// default clone. Loads and stores go through memcpy: no alignment assumed.
typedef float V8 __attribute__((vector_size(32)));

inline V8 Load(const float* p) {
  V8 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void Store(float* p, V8 v) { std::memcpy(p, &v, sizeof(v)); }

// y[R rows, 8·NV columns] = b + x[R rows, in] · wt[in, 8·NV columns], the
// accumulators held in registers across the whole reduction.
template <int R, int NV>
__attribute__((always_inline)) inline void Tile(const float* x, int ldx, int in, const float* wt,
                                                int ldw, const float* b, float* y, int ldy) {
  V8 acc[R][NV];
  for (int v = 0; v < NV; ++v) {
    const V8 bv = Load(b + 8 * v);
    for (int r = 0; r < R; ++r) acc[r][v] = bv;
  }
  for (int i = 0; i < in; ++i) {
    V8 w[NV];
    for (int v = 0; v < NV; ++v) w[v] = Load(wt + static_cast<int64_t>(i) * ldw + 8 * v);
    for (int r = 0; r < R; ++r) {
      const float xr = x[static_cast<int64_t>(r) * ldx + i];
      for (int v = 0; v < NV; ++v) acc[r][v] += xr * w[v];
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < NV; ++v) Store(y + static_cast<int64_t>(r) * ldy + 8 * v, acc[r][v]);
  }
}

// R rows: tiles of 8/R vectors (8 accumulator chains, enough to hide the FMA
// latency; 6 for R = 3), then single vectors for the rest of the width.
template <int R>
__attribute__((always_inline)) inline void RowBlock(const float* x, int ldx, int in,
                                                    const float* wt, int padded, const float* b,
                                                    float* y) {
  constexpr int kNv = R == 1 ? 8 : R == 2 ? 4 : 2;
  int o = 0;
  for (; o + 8 * kNv <= padded; o += 8 * kNv) {
    Tile<R, kNv>(x, ldx, in, wt + o, padded, b + o, y + o, padded);
  }
  for (; o < padded; o += 8) Tile<R, 1>(x, ldx, in, wt + o, padded, b + o, y + o, padded);
}

// y[n, padded] = b + x[n, in] · wt[in, padded] (padded a multiple of 8). The
// "fma" clone (which implies AVX) is picked by CPU feature; an "arch=" clone
// would be picked by CPU model and miss every newer one.
__attribute__((target_clones("fma", "default"))) void DenseSmall(
    const float* x, int ldx, int n, int in, const float* wt, int padded, const float* b,
    float* y) {
  int r = 0;
  for (; r + 4 <= n; r += 4) {
    RowBlock<4>(x + static_cast<int64_t>(r) * ldx, ldx, in, wt, padded, b,
                y + static_cast<int64_t>(r) * padded);
  }
  const float* xr = x + static_cast<int64_t>(r) * ldx;
  float* yr = y + static_cast<int64_t>(r) * padded;
  switch (n - r) {
    case 3: RowBlock<3>(xr, ldx, in, wt, padded, b, yr); break;
    case 2: RowBlock<2>(xr, ldx, in, wt, padded, b, yr); break;
    case 1: RowBlock<1>(xr, ldx, in, wt, padded, b, yr); break;
    default: break;
  }
}

// y ← tanh(y): mlp_math.h's FastTanh in this file's own loop, so that the
// "fma" clone contracts its polynomials (the learner's TanhInPlace keeps
// separate multiplies and adds).
__attribute__((target_clones("fma", "default"))) void TanhRows(float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = FastTanh(y[i]);
}

// The same product on BLAS: the bias rows first, then C += A·B.
void DenseBlas(const float* x, int ldx, int n, int in, const float* wt, int padded,
               const float* b, float* y) {
  for (int r = 0; r < n; ++r) std::copy(b, b + padded, y + static_cast<int64_t>(r) * padded);
  Gemm(false, false, n, padded, in, 1.0f, x, ldx, wt, padded, 1.0f, y, padded);
}

}  // namespace

PolicyForward::PolicyForward(const MlpLayout& layout, int max_batch)
    : layout_(layout), max_batch_(max_batch) {
  std::vector<LinearRef> refs = layout_.policy_trunk;
  refs.push_back(layout_.policy_head);
  for (const LinearRef& ref : refs) {
    Layer l;
    l.in = ref.in;
    l.out = ref.out;
    l.padded = (ref.out + 7) / 8 * 8;
    l.src_weight = ref.weight;
    l.src_bias = ref.bias;
    l.weight_t.assign(static_cast<size_t>(l.in) * l.padded, 0.0f);
    l.bias.assign(l.padded, 0.0f);
    l.act.assign(static_cast<size_t>(max_batch) * l.padded, 0.0f);
    layers_.push_back(std::move(l));
  }
}

absl::StatusOr<PolicyForward> PolicyForward::Create(const MlpLayout& layout, int max_batch) {
  if (max_batch < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("fused policy forward: max_batch must be >= 1 (got ", max_batch, ")"));
  }
  if (layout.hidden_sizes.empty() || layout.total == 0) {
    return absl::InvalidArgumentError("fused policy forward: empty layout (use MakeMlpLayout)");
  }
  return PolicyForward(layout, max_batch);
}

void PolicyForward::SetParams(const float* params) {
  for (Layer& l : layers_) {
    const float* w = params + l.src_weight;  // [out, in]
    for (int o = 0; o < l.out; ++o) {
      for (int i = 0; i < l.in; ++i) {
        l.weight_t[static_cast<size_t>(i) * l.padded + o] = w[static_cast<int64_t>(o) * l.in + i];
      }
    }
    std::copy(params + l.src_bias, params + l.src_bias + l.out, l.bias.begin());
  }
}

void PolicyForward::Run(const float* obs, int n, float* out) {
  const bool tall = n >= blas_min_rows_;
  const float* x = obs;
  int ldx = layout_.obs_dim;
  const size_t hidden = layers_.size() - 1;
  for (size_t k = 0; k < layers_.size(); ++k) {
    Layer& l = layers_[k];
    if (tall && int64_t{l.in} * l.padded >= blas_min_weights_) {
      DenseBlas(x, ldx, n, l.in, l.weight_t.data(), l.padded, l.bias.data(), l.act.data());
    } else {
      DenseSmall(x, ldx, n, l.in, l.weight_t.data(), l.padded, l.bias.data(), l.act.data());
    }
    // The padding columns stay 0 through either activation.
    if (k < hidden) {
      const int64_t count = int64_t{n} * l.padded;
      if (layout_.activation == Activation::kTanh) {
        TanhRows(l.act.data(), count);
      } else {
        ReluInPlace(l.act.data(), count);
      }
    }
    x = l.act.data();
    ldx = l.padded;
  }
  const Layer& head = layers_.back();
  for (int r = 0; r < n; ++r) {
    std::copy(head.act.data() + static_cast<int64_t>(r) * head.padded,
              head.act.data() + static_cast<int64_t>(r) * head.padded + head.out,
              out + static_cast<int64_t>(r) * head.out);
  }
}

}  // namespace proxima::fused
