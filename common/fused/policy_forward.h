// PolicyForward: the policy half of the MLP actor-critic — the policy trunk
// (the shared trunk when there is one) and the policy head — evaluated in
// float without LibTorch, for the actor's fused inference engine
// (common/policy/policy_inference.h). It returns the distribution parameters:
// Categorical logits or the diagonal Gaussian's mean; the value half is not
// evaluated (an actor needs no values).
//
// The arithmetic is torch::nn::Linear's (x·Wᵀ + b) with tanh or ReLU between
// the layers, in float with a different summation order (and FMA where the
// CPU has it), and the fast tanh of mlp_math.h: results agree with LibTorch's
// to float rounding, not bit for bit (policy_inference_test bounds it).
//
// SetParams packs the policy layers out of the flat parameter buffer
// (MlpLayout order) into this object's own buffers, each weight transposed to
// [in, out] with out padded to a multiple of 8 floats (zeros), so that the
// small-batch kernel is a broadcast-multiply-add over whole vectors. Run()
// uses that hand kernel (tiles of 4 rows × 16 outputs, an AVX+FMA clone
// where the CPU has one) below blas_min_rows() rows and cblas_sgemm on the
// same packed weights for a layer that is both that tall and wide (at least
// blas_min_weights() = in × out): measured on this 2-core AVX-512 Xeon, the
// hand loop beats OpenBLAS on 64x64 layers at every batch up to 4096, and
// OpenBLAS wins on 256x256 ones from about 8 rows (docs/benchmarks.md section 2).
//
// Allocation-free after Create (SetParams and Run only write the buffers
// sized there). Thread-compatible: Run writes the object's workspace.
#ifndef PROXIMA_COMMON_FUSED_POLICY_FORWARD_H_
#define PROXIMA_COMMON_FUSED_POLICY_FORWARD_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/fused/mlp_layout.h"

namespace proxima::fused {

class PolicyForward {
 public:
  // A layer runs on BLAS when n >= blas_min_rows and in × out >=
  // blas_min_weights (out padded to a multiple of 8); on the hand loop else.
  static constexpr int kDefaultBlasMinRows = 8;
  static constexpr int64_t kDefaultBlasMinWeights = 128 * 128;

  // A forward for batches of up to `max_batch` rows of `layout`'s network.
  // Error when max_batch < 1 or the layout is empty.
  static absl::StatusOr<PolicyForward> Create(const MlpLayout& layout, int max_batch);

  const MlpLayout& layout() const { return layout_; }
  int max_batch() const { return max_batch_; }

  // Copies the policy layers (trunk and head; log_std and the value half are
  // not read) of `params`, layout().total floats in MlpLayout order.
  void SetParams(const float* params);

  // obs [n, obs_dim] row-major (normalized) → out [n, action_dim] row-major:
  // logits or Gaussian means. n must be in [1, max_batch] (unchecked: the
  // caller sized it). Zeros until SetParams has run.
  void Run(const float* obs, int n, float* out);

  // The crossover to BLAS (tests set it to run either path everywhere).
  int blas_min_rows() const { return blas_min_rows_; }
  int64_t blas_min_weights() const { return blas_min_weights_; }
  void set_blas_crossover(int min_rows, int64_t min_weights) {
    blas_min_rows_ = min_rows;
    blas_min_weights_ = min_weights;
  }

 private:
  struct Layer {
    int in = 0;        // real input width (rows of the packed weight)
    int out = 0;       // real output width
    int padded = 0;    // out rounded up to a multiple of 8
    int64_t src_weight = 0, src_bias = 0;  // offsets in the flat buffer
    std::vector<float> weight_t;  // [in, padded], zero-padded columns
    std::vector<float> bias;      // [padded], zero-padded
    std::vector<float> act;       // [max_batch, padded] the layer's output
  };

  PolicyForward(const MlpLayout& layout, int max_batch);

  MlpLayout layout_;
  int max_batch_;
  int blas_min_rows_ = kDefaultBlasMinRows;
  int64_t blas_min_weights_ = kDefaultBlasMinWeights;
  std::vector<Layer> layers_;  // hidden layers, then the policy head
};

}  // namespace proxima::fused

#endif  // PROXIMA_COMMON_FUSED_POLICY_FORWARD_H_
