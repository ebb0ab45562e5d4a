#include "align/counter_rate.h"

#include <gtest/gtest.h>

namespace triad {
namespace {

TEST(CounterRateTest, DeltaHandlesReset) {
  EXPECT_DOUBLE_EQ(CounterDelta(10, 15), 5);
  EXPECT_DOUBLE_EQ(CounterDelta(10, 10), 0);
  EXPECT_DOUBLE_EQ(CounterDelta(100, 7), 7);  // restart: counted from zero
}

TEST(CounterRateTest, IncreasesSortOutOfOrderAndDropDuplicates) {
  std::vector<CounterPoint> pts = {{30, 130}, {10, 100}, {20, 110}, {20, 110}, {40, 5}};
  auto inc = CounterIncreases(pts);
  ASSERT_EQ(inc.size(), 3u);
  EXPECT_EQ(inc[0].time, 20);
  EXPECT_EQ(inc[0].dt, 10);
  EXPECT_DOUBLE_EQ(inc[0].delta, 10);
  EXPECT_DOUBLE_EQ(inc[1].delta, 20);
  EXPECT_EQ(inc[2].time, 40);
  EXPECT_DOUBLE_EQ(inc[2].delta, 5);  // reset
}

TEST(CounterRateTest, StreamingIgnoresOldSamples) {
  CounterRate r;
  CounterIncrease inc;
  EXPECT_FALSE(r.Add(100, 1, &inc));
  EXPECT_FALSE(r.Add(50, 0, &inc));
  ASSERT_TRUE(r.Add(200, 4, &inc));
  EXPECT_DOUBLE_EQ(inc.delta, 3);
  EXPECT_EQ(inc.dt, 100);
  EXPECT_FALSE(r.Add(300, std::numeric_limits<double>::quiet_NaN(), &inc));
}

}  // namespace
}  // namespace triad
