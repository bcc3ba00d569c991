#include "common/rng.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace proxima {
namespace {

TEST(RngTest, SameSeedSameStream) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.NextU64();
    EXPECT_EQ(x, b.NextU64());
    EXPECT_NE(x, c.NextU64());
  }
}

TEST(RngTest, UniformInRangeWithRightMoments) {
  Rng rng(7);
  double sum = 0, sum2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double u = rng.Uniform(-0.05, 0.05);
    ASSERT_GE(u, -0.05);
    ASSERT_LT(u, 0.05);
    sum += u;
    sum2 += u * u;
  }
  EXPECT_NEAR(sum / n, 0.0, 1e-3);
  EXPECT_NEAR(sum2 / n, 0.01 / 12.0, 2e-5);  // variance of U(a,b) = (b-a)^2/12
}

TEST(RngTest, NormalHasUnitVariance) {
  Rng rng(3);
  double sum = 0, sum2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double z = rng.Normal();
    sum += z;
    sum2 += z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sum2 / n, 1.0, 0.02);
}

TEST(RngTest, UniformIntCoversRangeEvenly) {
  Rng rng(11);
  std::vector<int> counts(3, 0);
  for (int i = 0; i < 30000; ++i) ++counts[rng.UniformInt(3)];
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);
}

}  // namespace
}  // namespace proxima
