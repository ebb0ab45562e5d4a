#include "eval/trace_report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace triad {
namespace {

size_t Count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

TEST(TraceEvalReport, LinePlotDrawsOnePointPerFiniteValueAndEscapes) {
  TraceEvalReport r("<eval> & co");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  r.AddLinePlot("acc by length", "trace length", "accuracy",
                {{"sad<1>", {4, 5, 6}, {0.5, nan, 1.0}}, {"multimodal", {6, 4}, {0.2, 0.9}}}, 0, 1);
  const std::string h = r.Render();
  EXPECT_EQ(Count(h, "<circle"), 4u);   // the NaN point is skipped
  EXPECT_EQ(Count(h, "<polyline"), 2u);
  EXPECT_NE(h.find("sad&lt;1&gt;"), std::string::npos);
  EXPECT_EQ(h.find("sad<1>"), std::string::npos);
  EXPECT_NE(h.find("&lt;eval&gt; &amp; co"), std::string::npos);
  EXPECT_NE(h.find("trace length"), std::string::npos);
}

TEST(TraceEvalReport, BarChartAndTable) {
  TraceEvalReport r("t");
  r.AddBarChart("overall", "accuracy", {"k=1", "k=3", "k=5"}, {"sad", "dense"},
                {{0.5, 0.9, 1.0}, {0.1, std::numeric_limits<double>::quiet_NaN(), 0.4}}, 0, 1);
  r.AddTable({"model", "acc"}, {{"sad", "0.95"}, {"x<y", "n/a"}});
  const std::string h = r.Render();
  EXPECT_EQ(Count(h, "<rect x=") - 1, 5u);  // minus the frame; NaN bar skipped
  EXPECT_EQ(Count(h, "<td class=\"n\">"), 1u);
  EXPECT_NE(h.find("x&lt;y"), std::string::npos);
  EXPECT_EQ(r.sections(), 2u);
}

TEST(TraceEvalReport, AccuracySeriesFollowsInjectionAccuracy) {
  InjectionAccuracy acc;
  InjectedAnomaly a;
  a.kind = InjectionKind::kReplace;
  a.clean_length = 5;
  a.position = 2;
  acc.Add(a, 3, true);
  acc.Add(a, 3, false);
  a.clean_length = 7;
  a.position = 4;
  acc.Add(a, 3, true);
  XYSeries by_len = AccuracySeries("m", acc, InjectionKind::kReplace, 3, false);
  ASSERT_EQ(by_len.x.size(), 2u);
  EXPECT_EQ(by_len.x[0], 5);
  EXPECT_DOUBLE_EQ(by_len.y[0], 0.5);
  EXPECT_DOUBLE_EQ(by_len.y[1], 1.0);
  XYSeries by_pos = AccuracySeries("m", acc, InjectionKind::kReplace, 3, true);
  ASSERT_EQ(by_pos.x.size(), 2u);
  EXPECT_EQ(by_pos.x[1], 4);
  EXPECT_TRUE(AccuracySeries("m", acc, InjectionKind::kReplace, 1, true).x.empty());
}

TEST(TraceEvalReport, WriteFileRoundTripsAndReportsErrors) {
  TraceEvalReport r("t");
  r.AddParagraph("hello");
  const auto path = std::filesystem::temp_directory_path() /
                    ("trace_report_test_" + std::to_string(::getpid()) + ".html");
  ASSERT_TRUE(r.WriteFile(path.string()).ok());
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), r.Render());
  std::filesystem::remove(path);
  EXPECT_FALSE(r.WriteFile("/nonexistent_dir_x/y.html").ok());
}

}  // namespace
}  // namespace triad
