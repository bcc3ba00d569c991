#include "tests/learner/same_updater_state.h"

#include <ATen/ATen.h>

#include <cstring>

namespace proxima::testing {

::testing::AssertionResult SameBits(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) {
    return ::testing::AssertionFailure() << "dtype/shape " << a.toString() << a.sizes()
                                         << " vs " << b.toString() << b.sizes();
  }
  const at::Tensor ca = a.detach().cpu().contiguous(), cb = b.detach().cpu().contiguous();
  if (std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.nbytes()) != 0) {
    return ::testing::AssertionFailure()
           << "bytes differ; max |a - b| = "
           << (ca.to(at::kDouble) - cb.to(at::kDouble)).abs().max().item<double>();
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult SameBits(double a, double b) {
  if (std::memcmp(&a, &b, sizeof(a)) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << a << " vs " << b;
}

void ExpectSameUpdaterState(PpoUpdater& a, PpoUpdater& b) {
  const auto pa = a.model()->named_parameters(), pb = b.model()->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].key(), pb[i].key());
    EXPECT_TRUE(SameBits(pa[i].value(), pb[i].value())) << "parameter " << pa[i].key();
  }
  EXPECT_TRUE(SameBits(a.adam_exp_avg(), b.adam_exp_avg())) << "Adam exp_avg";
  EXPECT_TRUE(SameBits(a.adam_exp_avg_sq(), b.adam_exp_avg_sq())) << "Adam exp_avg_sq";
  EXPECT_EQ(a.adam_steps(), b.adam_steps()) << "Adam step";
  EXPECT_TRUE(SameBits(a.shuffle_rng_state(), b.shuffle_rng_state())) << "shuffle generator";
  EXPECT_TRUE(SameBits(a.kl_beta(), b.kl_beta())) << "KL beta";
  ASSERT_EQ(a.obs_stats().dim(), b.obs_stats().dim());
  for (int i = 0; i < a.obs_stats().dim(); ++i) {
    EXPECT_TRUE(SameBits(a.obs_stats().mean()[i], b.obs_stats().mean()[i])) << "obs mean " << i;
    EXPECT_TRUE(SameBits(a.obs_stats().var()[i], b.obs_stats().var()[i])) << "obs var " << i;
  }
  EXPECT_TRUE(SameBits(a.obs_stats().count(), b.obs_stats().count())) << "obs count";
}

}  // namespace proxima::testing
