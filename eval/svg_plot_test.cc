#include "eval/svg_plot.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace triad::svg {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr TimeNs kMay1 = 1714521600LL * kNsPerSec;  // 2024-05-01 00:00:00 UTC

TEST(SvgPlotEscape, AllSpecialCharacters) {
  EXPECT_EQ(Escape("<script>alert('x')&\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;");
  EXPECT_EQ(Escape("plain text"), "plain text");
  EXPECT_EQ(Escape(std::string("a\x01z", 3)), "a z");  // control char is not valid XML
  EXPECT_EQ(Escape("caf\xc3\xa9"), "caf\xc3\xa9");      // UTF-8 passes through
}

TEST(SvgPlotNum, Formats) {
  EXPECT_EQ(Num(1.5, 2), "1.5");
  EXPECT_EQ(Num(2.0, 2), "2");
  EXPECT_EQ(Num(0.126, 2), "0.13");
  EXPECT_EQ(Num(-0.0001, 2), "0");
  EXPECT_EQ(Num(kNaN), "n/a");
  EXPECT_EQ(Num(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(Num(1234.0, 0), "1234");
}

TEST(SvgPlotSplitRuns, NaNAndInfBreakRuns) {
  // y: 1 NaN 2 3 inf 4 -> runs {0}, {2,3}, {5}.
  const auto runs = SplitRuns({0, 1, 2, 3, 4, 5}, {1, kNaN, 2, 3, std::numeric_limits<double>::infinity(), 4});
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].size(), 1u);
  ASSERT_EQ(runs[1].size(), 2u);
  EXPECT_EQ(runs[1][0].x, 2);
  EXPECT_EQ(runs[1][1].y, 3);
  EXPECT_EQ(runs[2][0].y, 4);
  EXPECT_TRUE(SplitRuns({}, {}).empty());
  EXPECT_TRUE(SplitRuns({1, 2}, {kNaN, kNaN}).empty());
}

TEST(SvgPlotSplitRuns, SortsUnorderedX) {
  const auto runs = SplitRuns({3, 1, 2}, {30, 10, 20});
  ASSERT_EQ(runs.size(), 1u);
  ASSERT_EQ(runs[0].size(), 3u);
  EXPECT_EQ(runs[0][0].y, 10);
  EXPECT_EQ(runs[0][2].y, 30);
}

TEST(SvgPlotDownsample, KeepsSpikeAndDip) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Pt> run;
  for (int i = 0; i < 100000; ++i) run.push_back({static_cast<double>(i), u(rng)});
  run[54321].y = 100;  // one-sample spike
  run[777].y = -50;    // one-sample dip
  const auto out = DownsampleMinMax(run, 0, 99999, 100);
  EXPECT_LE(out.size(), 400u);
  EXPECT_GE(out.size(), 200u);  // at least min and max of each bucket
  auto max_it = std::max_element(out.begin(), out.end(), [](Pt a, Pt b) { return a.y < b.y; });
  auto min_it = std::min_element(out.begin(), out.end(), [](Pt a, Pt b) { return a.y < b.y; });
  EXPECT_EQ(max_it->y, 100);
  EXPECT_EQ(max_it->x, 54321);
  EXPECT_EQ(min_it->y, -50);
  EXPECT_EQ(out.front().x, 0);
  EXPECT_EQ(out.back().x, 99999);
  EXPECT_TRUE(std::is_sorted(out.begin(), out.end(), [](Pt a, Pt b) { return a.x < b.x; }));
  // Every bucket's true maximum is kept, not only the global one.
  for (int b = 0; b < 100; ++b) {
    double true_max = -1e9, kept_max = -1e9;
    for (const Pt& p : run) {
      if (static_cast<int>(p.x / 99999 * 100) == b || (b == 99 && p.x == 99999)) true_max = std::max(true_max, p.y);
    }
    for (const Pt& p : out) {
      if (static_cast<int>(p.x / 99999 * 100) == b || (b == 99 && p.x == 99999)) kept_max = std::max(kept_max, p.y);
    }
    EXPECT_EQ(kept_max, true_max) << "bucket " << b;
  }
}

TEST(SvgPlotDownsample, ShortRunUnchanged) {
  const std::vector<Pt> run = {{0, 1}, {1, 5}, {2, 3}};
  const auto out = DownsampleMinMax(run, 0, 2, 10);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].y, 5);
}

TEST(SvgPlotTicks, NiceNumbers) {
  double step = 0;
  // (1 - 0) / 5 = 0.2 -> step 0.2: 0 .2 .4 .6 .8 1.
  auto t = NiceTicks(0, 1, 5, &step);
  ASSERT_EQ(t.size(), 6u);
  EXPECT_NEAR(step, 0.2, 1e-12);
  EXPECT_NEAR(t[3], 0.6, 1e-12);
  // (12.2 + 3.7) / 5 = 3.18 -> step 5; inside [-3.7, 12.2]: 0 5 10.
  t = NiceTicks(-3.7, 12.2, 5, &step);
  EXPECT_EQ(t, (std::vector<double>{0, 5, 10}));
  EXPECT_TRUE(NiceTicks(kNaN, 1, 5).empty());
  EXPECT_EQ(NiceTicks(2, 2, 5).size(), 1u);
}

TEST(SvgPlotTicks, NiceRange) {
  // (0.87 - 0.13) / 5 = 0.148 -> step 0.2 -> [0, 1].
  double lo = 0.13, hi = 0.87;
  NiceRange(&lo, &hi, 5);
  EXPECT_NEAR(lo, 0.0, 1e-12);
  EXPECT_NEAR(hi, 1.0, 1e-12);
  // Degenerate 3..3 -> 2.7..3.3 -> step 0.2 (0.12 rounded up) -> [2.6, 3.4].
  lo = hi = 3;
  NiceRange(&lo, &hi, 5);
  EXPECT_NEAR(lo, 2.6, 1e-9);
  EXPECT_NEAR(hi, 3.4, 1e-9);
  lo = 0;
  hi = 10;
  NiceRange(&lo, &hi, 5);  // already round
  EXPECT_EQ(lo, 0);
  EXPECT_EQ(hi, 10);
}

TEST(SvgPlotTicks, FormatTick) {
  EXPECT_EQ(FormatTick(2000, 1000), "2k");
  EXPECT_EQ(FormatTick(1500000, 500000), "1.5M");
  EXPECT_EQ(FormatTick(3e9, 1e9), "3G");
  EXPECT_EQ(FormatTick(0.25, 0.05), "0.25");
  EXPECT_EQ(FormatTick(0, 1000), "0");
  EXPECT_EQ(FormatTick(40, 20), "40");
  EXPECT_EQ(FormatTick(500000, 500000), "500k");
  EXPECT_EQ(FormatTick(1200, 200), "1.2k");
  EXPECT_EQ(FormatTick(1001, 1), "1001");  // 1.001k would need 3 decimals
}

TEST(SvgPlotTime, TicksAreRoundUtc) {
  // 10:07 .. 11:07 with ~6 ticks: 3600 s / 6 = 600 s -> 10-minute step: 10:10 .. 11:00.
  const TimeNs lo = kMay1 + (10 * 3600 + 7 * 60) * kNsPerSec;
  const auto t = TimeTicks(lo, lo + 3600 * kNsPerSec, 6);
  ASSERT_EQ(t.size(), 6u);
  EXPECT_EQ(t[0].label, "10:10");
  EXPECT_EQ(t[5].label, "11:00");
  EXPECT_EQ(t[1].t - t[0].t, 600 * kNsPerSec);
  // 90 s range -> seconds shown (step 15 s for target 6).
  const auto s = TimeTicks(kMay1, kMay1 + 90 * kNsPerSec, 6);
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s[1].label, "00:00:15");
  // Three days -> dates.
  const auto d = TimeTicks(kMay1, kMay1 + 3 * 86400 * kNsPerSec, 4);
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(d[0].label, "05-01");
  EXPECT_EQ(d[1].label, "05-02");
}

TEST(SvgPlotTime, FormatUtc) {
  EXPECT_EQ(FormatUtc(kMay1), "2024-05-01 00:00:00");
  EXPECT_EQ(FormatUtc(kMay1 + 5 * kNsPerMs), "2024-05-01 00:00:00.005");
  EXPECT_EQ(FormatUtc(-kNsPerSec), "1969-12-31 23:59:59");
}

TEST(SvgPlotColor, PaletteAndScale) {
  EXPECT_STREQ(PaletteColor(0), "#0072B2");
  EXPECT_STREQ(PaletteColor(8), PaletteColor(0));  // cycles
  EXPECT_EQ(SequentialColor(0), "#ffffcc");
  EXPECT_EQ(SequentialColor(1), "#800026");
  EXPECT_EQ(SequentialColor(7), "#800026");  // clamped
  EXPECT_EQ(SequentialColor(kNaN), "#e6e6e6");
  EXPECT_NE(SequentialColor(0.5), SequentialColor(0.6));
}

}  // namespace
}  // namespace triad::svg
