#include "detect/pipeline.h"

#include <gtest/gtest.h>

namespace triad {
namespace {

TEST(PipelineTest, ParseDuration) {
  TimeNs d = 0;
  ASSERT_TRUE(ParseDuration("30s", &d));
  EXPECT_EQ(d, 30 * kNsPerSec);
  ASSERT_TRUE(ParseDuration("30", &d));
  EXPECT_EQ(d, 30 * kNsPerSec);
  ASSERT_TRUE(ParseDuration("1.5m", &d));
  EXPECT_EQ(d, 90 * kNsPerSec);
  ASSERT_TRUE(ParseDuration("500ms", &d));
  EXPECT_EQ(d, 500 * kNsPerMs);
  ASSERT_TRUE(ParseDuration("2h", &d));
  EXPECT_EQ(d, 7200 * kNsPerSec);
  EXPECT_FALSE(ParseDuration("", &d));
  EXPECT_FALSE(ParseDuration("zz", &d));
  EXPECT_FALSE(ParseDuration("10parsecs", &d));
  EXPECT_FALSE(ParseDuration("0", &d));
  EXPECT_FALSE(ParseDuration("-5s", &d));
}

WindowScore S(const std::string& svc, int i, double score, bool anomaly) {
  WindowScore s;
  s.service = svc;
  s.start = i * 30 * kNsPerSec;
  s.end = s.start + 30 * kNsPerSec;
  s.score = score;
  s.anomaly = anomaly;
  return s;
}

TEST(PipelineTest, GroupIncidentsMergesConsecutiveWindows) {
  std::vector<WindowScore> v = {S("a", 0, 9, true),  S("a", 1, 12, true), S("a", 2, 1, false),
                                S("a", 3, 8, true),  S("b", 1, 20, true), S("b", 5, 0, false)};
  auto inc = GroupIncidents(v);
  ASSERT_EQ(inc.size(), 3u);
  EXPECT_EQ(inc[0].service, "b");
  EXPECT_DOUBLE_EQ(inc[0].max_score, 20);
  EXPECT_EQ(inc[1].service, "a");
  EXPECT_EQ(inc[1].windows, 2u);
  EXPECT_DOUBLE_EQ(inc[1].max_score, 12);
  EXPECT_EQ(inc[1].end - inc[1].start, 60 * kNsPerSec);
  EXPECT_EQ(inc[2].windows, 1u);
}

TEST(PipelineTest, DropPartialEdgeWindows) {
  std::vector<WindowFeatures> ws(4);
  for (int i = 0; i < 4; ++i) {
    ws[i].service = "a";
    ws[i].start = i * 30 * kNsPerSec;
    ws[i].end = ws[i].start + 30 * kNsPerSec;
  }
  // Data from 20 s to 95 s: windows [0,30) and [90,120) are partial.
  auto kept = DropPartialEdgeWindows(ws, 20 * kNsPerSec, 95 * kNsPerSec, 3 * kNsPerSec);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].start, 30 * kNsPerSec);
  EXPECT_EQ(kept[1].start, 60 * kNsPerSec);
  // Within the slack counts as complete.
  kept = DropPartialEdgeWindows(ws, 1 * kNsPerSec, 119 * kNsPerSec, 3 * kNsPerSec);
  EXPECT_EQ(kept.size(), 4u);
}

}  // namespace
}  // namespace triad
