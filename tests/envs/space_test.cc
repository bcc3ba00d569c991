#include <cmath>
#include <limits>
#include <vector>

#include "common/envs/env.h"
#include "gtest/gtest.h"

namespace proxima {
namespace {

TEST(SpaceTest, DiscreteContainsOnlyIntegerIndicesBelowN) {
  const Space s = Space::Discrete(3);
  EXPECT_TRUE(s.is_discrete());
  EXPECT_EQ(s.flat_dim(), 1);
  for (float a : {0.0f, 1.0f, 2.0f}) EXPECT_TRUE(s.Contains({a})) << a;
  for (float a :
       {-1.0f, 3.0f, 0.5f, 1.999f, std::nanf(""), std::numeric_limits<float>::infinity()}) {
    EXPECT_FALSE(s.Contains({a})) << a;
  }
  const std::vector<float> two = {0.0f, 1.0f};
  EXPECT_FALSE(s.Contains(two));
  EXPECT_FALSE(s.Contains({}));
  EXPECT_EQ(s.DebugString(), "Discrete(3)");
}

TEST(SpaceTest, BoxContainsRespectsInclusiveBoundsPerDimension) {
  const Space s = Space::Box({-1.0f, 0.0f}, {1.0f, 0.5f});
  EXPECT_FALSE(s.is_discrete());
  EXPECT_EQ(s.flat_dim(), 2);
  EXPECT_TRUE(s.Contains({-1.0f, 0.0f}));
  EXPECT_TRUE(s.Contains({1.0f, 0.5f}));
  EXPECT_TRUE(s.Contains({0.3f, 0.25f}));
  EXPECT_FALSE(s.Contains({1.0001f, 0.25f}));
  EXPECT_FALSE(s.Contains({0.0f, -0.0001f}));
  EXPECT_FALSE(s.Contains({0.0f, 0.5001f}));
  EXPECT_FALSE(s.Contains({std::nanf(""), 0.1f}));
  EXPECT_FALSE(s.Contains({0.0f}));
  EXPECT_FALSE(s.Contains({0.0f, 0.1f, 0.2f}));
  EXPECT_NE(s.DebugString().find("Box("), std::string::npos);
  EXPECT_NE(s.DebugString().find("0.5"), std::string::npos);
}

TEST(SpaceTest, BoxWithHugeBoundsRejectsInfinity) {
  const float fmax = std::numeric_limits<float>::max();
  const Space s = Space::Box({-fmax}, {fmax});
  EXPECT_TRUE(s.Contains({1e30f}));
  EXPECT_FALSE(s.Contains({std::numeric_limits<float>::infinity()}));
}

TEST(SpaceTest, DiscreteActionIndexRoundsAndClamps) {
  EXPECT_EQ(DiscreteActionIndex(0.0f, 3), 0);
  EXPECT_EQ(DiscreteActionIndex(1.0f, 3), 1);
  EXPECT_EQ(DiscreteActionIndex(2.0f, 3), 2);
  EXPECT_EQ(DiscreteActionIndex(0.9999f, 3), 1);
  EXPECT_EQ(DiscreteActionIndex(7.0f, 3), 2);
  EXPECT_EQ(DiscreteActionIndex(-4.0f, 3), 0);
  EXPECT_EQ(DiscreteActionIndex(std::nanf(""), 3), 0);
}

}  // namespace
}  // namespace proxima
