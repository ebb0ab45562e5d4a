#include "eval/report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "eval/svg_plot.h"

namespace triad {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr TimeNs kT0 = 1714521600LL * kNsPerSec;  // 2024-05-01 00:00:00 UTC

size_t Count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1)) ++n;
  return n;
}

Series Sine(const std::string& name, int n, double phase, TimeNs step = 10 * kNsPerSec) {
  Series s{name, {}, {}};
  for (int i = 0; i < n; ++i) {
    s.t.push_back(kT0 + i * step);
    s.v.push_back(std::sin(i * 0.05 + phase));
  }
  return s;
}

// Returns the value of each attribute `attr`="..." inside tags starting with `tag`.
// (std::regex recurses per character and overflows the stack on long attributes.)
std::vector<std::string> Attrs(const std::string& html, const std::string& tag, const std::string& attr) {
  std::vector<std::string> out;
  for (size_t pos = html.find(tag); pos != std::string::npos; pos = html.find(tag, pos + 1)) {
    const size_t close = html.find('>', pos);
    const size_t a = html.find(" " + attr + "=\"", pos);
    if (a == std::string::npos || a > close) continue;
    const size_t b = a + attr.size() + 3;
    out.push_back(html.substr(b, html.find('"', b) - b));
  }
  return out;
}

// All y coordinates of the points="..." attributes of polylines.
std::vector<double> PolylineYs(const std::string& html) {
  std::vector<double> ys;
  for (const std::string& points : Attrs(html, "<polyline", "points")) {
    std::istringstream pts(points);
    std::string xy;
    while (pts >> xy) ys.push_back(std::stod(xy.substr(xy.find(',') + 1)));
  }
  return ys;
}

TEST(HtmlReportTimeline, OnePolylinePerSeries) {
  HtmlReport r("t");
  r.AddTimeline("latency", {Sine("a", 300, 0), Sine("b", 300, 1), Sine("c", 300, 2)}, 0.5, {}, {});
  const std::string html = r.Render();
  EXPECT_EQ(Count(html, "<polyline"), 3u);
  EXPECT_EQ(Count(html, "class=\"thr\""), 1u);
  EXPECT_EQ(Count(html, "class=\"sw-line\""), 3u);  // legend entries
  EXPECT_NE(html.find("<svg"), std::string::npos);
}

TEST(HtmlReportTimeline, NaNMakesGap) {
  Series s = Sine("gappy", 300, 0);
  for (int i = 100; i < 110; ++i) s.v[i] = kNaN;  // one gap -> two polylines
  HtmlReport r("t");
  r.AddTimeline("x", {s, Sine("whole", 300, 1)}, kNaN, {}, {});
  const std::string html = r.Render();
  EXPECT_EQ(Count(html, "<polyline"), 3u);
  EXPECT_EQ(Count(html, "class=\"thr\""), 0u);  // NaN threshold: none drawn
}

TEST(HtmlReportTimeline, BandsAndMarkers) {
  HtmlReport r("t");
  const std::vector<Band> bands = {{kT0 + 600 * kNsPerSec, kT0 + 900 * kNsPerSec, "cpu hog"},
                                   {kT0 + 1800 * kNsPerSec, kT0 + 1900 * kNsPerSec, "net delay"},
                                   {kT0 + 99999 * kNsPerSec, kT0 + 100000 * kNsPerSec, "outside"}};
  const std::vector<Marker> markers = {{kT0 + 650 * kNsPerSec, "alarm 1"},
                                       {kT0 + 1850 * kNsPerSec, "alarm 2"},
                                       {kT0 + 1850 * kNsPerSec, "same pixel"}};
  r.AddTimeline("x", {Sine("a", 300, 0)}, 0.8, bands, markers);
  const std::string html = r.Render();
  EXPECT_EQ(Count(html, "class=\"band\""), 2u);  // the band outside the data range is not drawn
  EXPECT_NE(html.find("cpu hog"), std::string::npos);
  EXPECT_EQ(Count(html, "class=\"marker\""), 2u);  // two alarms on one pixel merge
  EXPECT_NE(html.find("same pixel"), std::string::npos);
  EXPECT_NE(html.find("fault (3)"), std::string::npos);
  EXPECT_NE(html.find("alarm (3)"), std::string::npos);
}

TEST(HtmlReportTimeline, DownsamplingKeepsTheMaximum) {
  // 200k points of noise in [0, 1] and a single spike to 10. The y axis becomes
  // [0, 10] (ticks 0 2 .. 10), so the spike must be drawn on the top grid line.
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> u(0, 1);
  Series s{"noisy", {}, {}};
  for (int i = 0; i < 200000; ++i) {
    s.t.push_back(kT0 + i * kNsPerSec);
    s.v.push_back(u(rng));
  }
  s.v[123457] = 10;
  HtmlReport r("t");
  r.AddTimeline("x", {s}, kNaN, {}, {});
  const std::string html = r.Render();
  const std::vector<double> ys = PolylineYs(html);
  EXPECT_LT(ys.size(), 4u * 1000u);  // bounded by 4 points per pixel column
  EXPECT_GT(ys.size(), 100u);
  // Top grid line: the smallest y1 of the grid lines.
  double top_grid = 1e9;
  for (const std::string& y1 : Attrs(html, "<line class=\"grid\"", "y1")) top_grid = std::min(top_grid, std::stod(y1));
  EXPECT_DOUBLE_EQ(*std::min_element(ys.begin(), ys.end()), top_grid);
  EXPECT_LT(html.size(), 400000u);  // not one point per sample
}

TEST(HtmlReportEscape, ScriptIsEscapedEverywhere) {
  const std::string evil = "<script>alert('x')</script>";
  HtmlReport r(evil);
  r.AddHeading(evil);
  r.AddParagraph(evil);
  r.AddTable({evil}, {{evil, "1"}});
  r.AddTimeline(evil, {Series{evil, {kT0, kT0 + kNsPerSec}, {1, 2}}}, 1.5, {{kT0, kT0 + 1, evil}},
                {{kT0, evil}});
  r.AddSmallMultiples(evil, {ServicePanel{evil, {Series{evil, {kT0}, {1}}}, 1, {}, {}}});
  r.AddCurve(evil, {{0, 0, 0}, {0, 1, 1}}, evil, evil, 0.5);
  r.AddScatter(evil, {1, 2}, {3, 4}, {evil, "b"});
  r.AddHeatmap(evil, {evil}, {kT0}, {{1}});
  const std::string html = r.Render();
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("alert('x')"), std::string::npos);
  EXPECT_GE(Count(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), 12u);
}

TEST(HtmlReportStructure, SelfContained) {
  HtmlReport r("Run 1");
  r.AddTimeline("x", {Sine("a", 100, 0)}, 0.5, {}, {});
  r.AddCurve("roc", {{1, 0, 0}, {0.5, 0.2, 0.8}, {0, 1, 1}}, "FPR", "TPR", 0.8, {true});
  const std::string html = r.Render();
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(html.find("<style>"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  // The only URL is the SVG namespace.
  EXPECT_EQ(Count(html, "http"), Count(html, "xmlns=\"http://www.w3.org/2000/svg\""));
  // Clip path ids are unique across sections.
  EXPECT_NE(html.find("id=\"p0\""), std::string::npos);
  EXPECT_NE(html.find("id=\"p1\""), std::string::npos);
  EXPECT_EQ(r.sections(), 2u);
}

TEST(HtmlReportTable, NumericCellsRightAligned) {
  HtmlReport r("t");
  r.AddTable({"model", "F1", "delay"}, {{"iforest", "0.75", "12s"}, {"lstm", "n/a"}});
  const std::string html = r.Render();
  EXPECT_EQ(Count(html, "<td class=\"num\">"), 3u);  // 0.75, 12s, n/a
  EXPECT_NE(html.find("<td>iforest</td>"), std::string::npos);
  EXPECT_EQ(Count(html, "<tr>"), 3u);  // header + 2 rows (ragged row accepted)
}

TEST(HtmlReportCurve, AucAndChanceLine) {
  const std::vector<double> s = {0.1, 0.4, 0.35, 0.8};
  const std::vector<int> l = {0, 0, 1, 1};
  HtmlReport r("t");
  r.AddCurve("ROC", RocCurve(s, l), "false positive rate", "true positive rate", RocAuc(s, l), {true});
  CurveOptions pr;
  pr.baseline_y = 0.5;
  pr.auc_name = "AP";
  r.AddCurve("PR", PrCurve(s, l), "recall", "precision", PrAuc(s, l), pr);
  r.AddCurve("empty", {}, "x", "y", kNaN);
  const std::string html = r.Render();
  EXPECT_NE(html.find("AUC = 0.75"), std::string::npos);
  EXPECT_NE(html.find("AP = 0.833"), std::string::npos);
  EXPECT_NE(html.find("AUC = n/a"), std::string::npos);
  EXPECT_EQ(Count(html, "<polyline"), 2u);
  EXPECT_EQ(Count(html, "class=\"chance\""), 2u);
  EXPECT_NE(html.find("one class is absent"), std::string::npos);
}

TEST(HtmlReportScatter, GroupsLegendAndDedup) {
  std::vector<double> xs, ys;
  std::vector<std::string> g;
  for (int i = 0; i < 1000; ++i) {  // 1000 identical points: one circle
    xs.push_back(1);
    ys.push_back(1);
    g.push_back("normal");
  }
  xs.insert(xs.end(), {5, 6, kNaN});
  ys.insert(ys.end(), {5, 6, 1});
  g.insert(g.end(), {"fault", "other", "fault"});
  HtmlReport r("t");
  r.AddScatter("emb", xs, ys, g);
  const std::string html = r.Render();
  EXPECT_EQ(Count(html, "class=\"dots\""), 3u);
  EXPECT_EQ(Count(html, "<circle"), 3u);
  EXPECT_NE(html.find("normal (1000)"), std::string::npos);
  EXPECT_NE(html.find("fault (1)"), std::string::npos);
  EXPECT_NE(html.find("1 non-finite points not drawn"), std::string::npos);
}

TEST(HtmlReportHeatmap, DenseColumnsKeepMaximumAndNaNIsGrey) {
  // 3 rows x 5000 columns (more than pixels); row 1 has one spike to the global max.
  const int cols = 5000;
  std::vector<TimeNs> t;
  for (int c = 0; c < cols; ++c) t.push_back(kT0 + c * kNsPerSec);
  std::vector<std::vector<double>> v(3, std::vector<double>(cols, 0.0));
  v[1][2345] = 9;
  for (int c = 100; c < 200; ++c) v[2][c] = kNaN;  // ~18 whole pixel columns without data
  HtmlReport r("t");
  r.AddHeatmap("scores", {"frontend", "cart", "db"}, t, v);
  const std::string html = r.Render();
  EXPECT_EQ(Count(html, "fill=\"" + svg::SequentialColor(1) + "\""), 1u);  // the spike survives
  EXPECT_GE(Count(html, "fill=\"" + svg::SequentialColor(kNaN) + "\""), 1u);
  EXPECT_NE(html.find(">cart</text>"), std::string::npos);
  // Runs of one colour are merged: far fewer rects than cells.
  EXPECT_LT(Count(html, "class=\"cell\""), 30u);
}

TEST(HtmlReportHeatmap, MissingValuesAndEmpty) {
  HtmlReport r("t");
  // Row 2 has no values at all; row 1 is short.
  r.AddHeatmap("ragged", {"a", "b", "c"}, {kT0, kT0 + kNsPerSec, kT0 + 2 * kNsPerSec}, {{1, 2, 3}, {4}});
  r.AddHeatmap("empty", {}, {}, {});
  const std::string html = r.Render();
  EXPECT_NE(html.find(">c</text>"), std::string::npos);
  EXPECT_GE(Count(html, svg::SequentialColor(kNaN)), 2u);
}

TEST(HtmlReportLineChart, CategoricalLinesWithGapsAndMarkers) {
  HtmlReport r("t");
  // F1 over 4 batch sizes, recall with a gap at the third value.
  r.AddLineChart("batch <sweep>", "batch size", {"16", "32", "64", "128"}, "metric",
                 {{"F1", {0.5, 0.7, 0.6, 0.8}}, {"R", {0.4, 0.9, kNaN, 0.7}}}, 0, 1);
  const std::string html = r.Render();
  EXPECT_NE(html.find("batch &lt;sweep&gt;"), std::string::npos);
  EXPECT_NE(html.find(">128</text>"), std::string::npos);
  // F1: one run of 4 points; R: two runs (the NaN splits it), 3 points.
  EXPECT_EQ(Count(html, "<polyline class=\"series\""), 3u);
  EXPECT_EQ(Count(html, "<circle"), 7u);
  // Equal spacing: the x of the 4 F1 points are evenly spread.
  const auto cx = Attrs(html, "<circle", "cx");
  ASSERT_GE(cx.size(), 4u);
  const double d1 = std::stod(cx[1]) - std::stod(cx[0]), d3 = std::stod(cx[3]) - std::stod(cx[2]);
  EXPECT_GT(d1, 10);
  EXPECT_NEAR(d1, d3, 0.2);
  // Higher values are drawn higher (smaller y).
  const auto cy = Attrs(html, "<circle", "cy");
  EXPECT_LT(std::stod(cy[1]), std::stod(cy[0]));
  r.AddLineChart("empty", "x", {}, "y", {});  // no crash
}

TEST(HtmlReportSmallMultiples, OneRowPerService) {
  std::vector<ServicePanel> panels;
  for (int i = 0; i < 4; ++i) {
    ServicePanel p;
    p.name = "svc-" + std::to_string(i);
    p.series = {Sine("score", 200, i)};
    p.threshold = 0.5 + 0.1 * i;
    if (i == 2) p.bands = {{kT0 + 300 * kNsPerSec, kT0 + 600 * kNsPerSec, "fault"}};
    if (i == 2) p.markers = {{kT0 + 320 * kNsPerSec, "alarm"}};
    panels.push_back(p);
  }
  HtmlReport r("t");
  r.AddSmallMultiples("per service", panels);
  const std::string html = r.Render();
  EXPECT_EQ(Count(html, "class=\"row-label\""), 4u);
  EXPECT_EQ(Count(html, "<polyline"), 4u);
  EXPECT_EQ(Count(html, "class=\"thr\""), 4u);
  EXPECT_EQ(Count(html, "class=\"band\""), 1u);
  EXPECT_EQ(Count(html, "class=\"marker\""), 1u);
  EXPECT_NE(html.find("svc-3"), std::string::npos);
}

TEST(HtmlReportEdge, EmptyInputsDoNotCrash) {
  HtmlReport r("");
  r.AddTimeline("", {}, kNaN, {}, {});
  r.AddTimeline("only bands", {}, 1, {{kT0, kT0 + kNsPerSec, "b"}}, {});
  r.AddTimeline("one point", {Series{"p", {kT0}, {1}}}, kNaN, {}, {});
  r.AddTimeline("mismatched", {Series{"m", {kT0, kT0 + 1}, {1}}}, kNaN, {}, {});
  r.AddSmallMultiples("", {});
  r.AddScatter("", {}, {}, {});
  r.AddTable({}, {});
  const std::string html = r.Render();
  EXPECT_NE(html.find("</html>"), std::string::npos);
  EXPECT_EQ(html.find("nan"), std::string::npos);  // no NaN leaks into coordinates
  EXPECT_EQ(html.find("inf\""), std::string::npos);
}

TEST(HtmlReportFile, WriteFileToTempDir) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / "triad_report_test";
  fs::create_directories(dir);
  const fs::path path = dir / "r.html";
  HtmlReport r("file");
  r.AddParagraph("hello");
  ASSERT_TRUE(r.WriteFile(path.string()).ok());
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  EXPECT_EQ(buf.str(), r.Render());
  const Status bad = r.WriteFile((dir / "no_such_dir" / "r.html").string());
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.code(), Status::Code::kIOError);
  fs::remove_all(dir);
}

// Builds a report with every kind of section, as a model's evaluation would.
// Set TRIAD_SAMPLE_REPORT=/path/r.html to keep it for a visual check.
TEST(HtmlReportSample, FullReport) {
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(0, 1);
  const TimeNs step = 15 * kNsPerSec;
  const int n = 2880;  // 12 h at 15 s
  const std::vector<std::string> services = {"frontend", "checkout", "payment", "cart", "product-catalog"};
  const std::vector<Band> faults = {{kT0 + 3 * 3600 * kNsPerSec, kT0 + (3 * 3600 + 1200) * kNsPerSec, "payment: cpu hog"},
                                    {kT0 + 8 * 3600 * kNsPerSec, kT0 + (8 * 3600 + 600) * kNsPerSec, "cart: net delay"}};
  std::vector<ServicePanel> panels;
  std::vector<std::vector<double>> heat;
  std::vector<TimeNs> col_t;
  for (int i = 0; i < n; ++i) col_t.push_back(kT0 + i * step);
  std::vector<Marker> alarms;
  std::vector<double> all_scores;
  std::vector<int> all_labels;
  for (size_t s = 0; s < services.size(); ++s) {
    ServicePanel p;
    p.name = services[s];
    p.threshold = 4;
    Series sc{"anomaly score", {}, {}};
    for (int i = 0; i < n; ++i) {
      const TimeNs t = kT0 + i * step;
      double v = std::fabs(noise(rng)) + 0.3 * std::sin(i / 200.0 + s);
      int label = 0;
      for (const Band& b : faults) {
        const bool hit = (s == 2 && b.label[0] == 'p') || (s == 3 && b.label[0] == 'c');
        if (hit && t >= b.start && t < b.end) {
          v += 4 + noise(rng);
          label = 1;
        }
      }
      if (i % 700 == 350) v = kNaN;  // scrape gaps
      sc.t.push_back(t);
      sc.v.push_back(v);
      all_scores.push_back(v);
      all_labels.push_back(label);
      if (v > p.threshold) {
        p.markers.push_back({t, services[s] + " score " + svg::Num(v, 2)});
        alarms.push_back({t, services[s]});
      }
    }
    if (s == 2) p.bands = {faults[0]};
    if (s == 3) p.bands = {faults[1]};
    heat.push_back(sc.v);
    p.series = {sc};
    panels.push_back(p);
  }
  HtmlReport r("Triad evaluation: sample run <demo>");
  r.AddParagraph("Synthetic scores for 5 services over 12 h; two injected faults. "
                 "Point-adjusted F1 is shown beside the unadjusted F1, never alone.");
  r.AddHeading("Summary");
  const BestF1 best = BestF1OverThresholds(all_scores, all_labels);
  std::vector<int> preds;
  for (double v : all_scores) preds.push_back(v >= best.threshold);
  const Confusion raw = Evaluate(all_labels, preds);
  const Confusion adj = Evaluate(all_labels, PointAdjust(all_labels, preds));
  r.AddTable({"metric", "value"},
             {{"ROC-AUC", svg::Num(RocAuc(all_scores, all_labels), 3)},
              {"AP (PR-AUC)", svg::Num(PrAuc(all_scores, all_labels), 3)},
              {"best F1", svg::Num(raw.f1(), 3)},
              {"F1 point-adjusted", svg::Num(adj.f1(), 3)},
              {"threshold", svg::Num(best.threshold, 3)},
              {"NaN scores", std::to_string(CountNaN(all_scores))}});
  r.AddHeading("Timeline");
  Series pay = panels[2].series[0], chk = panels[1].series[0];
  pay.name = "payment score";
  chk.name = "checkout score";
  r.AddTimeline("payment vs checkout anomaly score", {pay, chk}, 4, faults, panels[2].markers);
  r.AddSmallMultiples("Per-service anomaly scores", panels);
  r.AddHeatmap("Anomaly score swimlanes", services, col_t, heat);
  r.AddHeading("Ranking quality");
  CurveOptions roc;
  roc.diagonal = true;
  r.AddCurve("ROC", RocCurve(all_scores, all_labels), "false positive rate", "true positive rate",
             RocAuc(all_scores, all_labels), roc);
  CurveOptions pr;
  pr.auc_name = "AP";
  pr.baseline_y =  // prevalence: the AP of a random scorer
      static_cast<double>(std::count(all_labels.begin(), all_labels.end(), 1)) / all_labels.size();
  r.AddCurve("Precision-recall", PrCurve(all_scores, all_labels), "recall", "precision",
             PrAuc(all_scores, all_labels), pr);
  std::vector<double> ex, ey;
  std::vector<std::string> eg;
  for (int i = 0; i < 600; ++i) {
    const int c = i % 3;
    ex.push_back(noise(rng) + 4 * c);
    ey.push_back(noise(rng) + (c == 1 ? 3 : 0));
    eg.push_back(c == 0 ? "normal" : c == 1 ? "cpu hog" : "net delay");
  }
  r.AddHeading("Embeddings");
  r.AddScatter("Window embeddings (2-D)", ex, ey, eg);

  const std::string html = r.Render();
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("&lt;demo&gt;"), std::string::npos);
  EXPECT_GT(Count(html, "<polyline"), 10u);
  const char* keep = std::getenv("TRIAD_SAMPLE_REPORT");
  const std::string path =
      keep != nullptr ? std::string(keep) : (std::filesystem::path(::testing::TempDir()) / "triad_sample.html").string();
  ASSERT_TRUE(r.WriteFile(path).ok());
  if (keep == nullptr) std::filesystem::remove(path);
}

}  // namespace
}  // namespace triad
