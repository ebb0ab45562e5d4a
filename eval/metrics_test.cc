#include "eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace triad {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(MetricsConfusion, HandComputed) {
  // i:      0  1  2  3  4  5  6  7  8  9
  // label:  1  1  1  1  1  0  0  0  0  0
  // pred:   1  1  1  0  0  1  0  0  0  0
  // tp = 3 (0,1,2), fn = 2 (3,4), fp = 1 (5), tn = 4 (6..9)
  const Confusion c = Evaluate({1, 1, 1, 1, 1, 0, 0, 0, 0, 0}, {1, 1, 1, 0, 0, 1, 0, 0, 0, 0});
  EXPECT_EQ(c.tp, 3u);
  EXPECT_EQ(c.fn, 2u);
  EXPECT_EQ(c.fp, 1u);
  EXPECT_EQ(c.tn, 4u);
  EXPECT_DOUBLE_EQ(c.precision(), 0.75);    // 3 / (3 + 1)
  EXPECT_DOUBLE_EQ(c.recall(), 0.6);        // 3 / (3 + 2)
  EXPECT_DOUBLE_EQ(c.f1(), 2.0 / 3.0);      // 2 * .75 * .6 / (.75 + .6) = .9 / 1.35
  EXPECT_DOUBLE_EQ(c.accuracy(), 0.7);      // (3 + 4) / 10
  EXPECT_DOUBLE_EQ(c.fpr(), 0.2);           // 1 / (1 + 4)
}

TEST(MetricsConfusion, UndefinedRatiosAreZero) {
  const Confusion empty = Evaluate({}, {});
  EXPECT_EQ(empty.total(), 0u);
  EXPECT_EQ(empty.precision(), 0);
  EXPECT_EQ(empty.recall(), 0);
  EXPECT_EQ(empty.f1(), 0);
  EXPECT_EQ(empty.accuracy(), 0);
  EXPECT_EQ(empty.fpr(), 0);
  // All negatives, nothing predicted: tn = 3, precision and recall undefined -> 0.
  const Confusion neg = Evaluate({0, 0, 0}, {0, 0, 0});
  EXPECT_EQ(neg.tn, 3u);
  EXPECT_EQ(neg.f1(), 0);
  EXPECT_DOUBLE_EQ(neg.accuracy(), 1.0);
  // Non-zero values count as 1: labels {2, 0}, preds {7, 0} -> tp 1, tn 1.
  const Confusion nz = Evaluate({2, 0}, {7, 0});
  EXPECT_EQ(nz.tp, 1u);
  EXPECT_EQ(nz.tn, 1u);
}

TEST(MetricsRocAuc, HandComputed) {
  // Positives {0.35, 0.8}, negatives {0.1, 0.4}. Pairs (pos > neg):
  // 0.35>0.1 yes, 0.35>0.4 no, 0.8>0.1 yes, 0.8>0.4 yes -> 3 / 4 = 0.75.
  EXPECT_DOUBLE_EQ(RocAuc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 0.75);
  // Perfect ranking and inverted ranking.
  EXPECT_DOUBLE_EQ(RocAuc({0.1, 0.2, 0.8, 0.9}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(RocAuc({0.9, 0.8, 0.2, 0.1}, {0, 0, 1, 1}), 0.0);
}

TEST(MetricsRocAuc, TiesCountHalf) {
  // Positives {0.5, 0.9}, negatives {0.5, 0.5}.
  // 0.5 vs 0.5 -> 1/2, twice = 1; 0.9 beats both = 2; U = 3 -> 3 / (2 * 2) = 0.75.
  EXPECT_DOUBLE_EQ(RocAuc({0.5, 0.5, 0.5, 0.9}, {1, 0, 0, 1}), 0.75);
  // All scores equal: every pair ties -> 0.5.
  EXPECT_DOUBLE_EQ(RocAuc({1, 1, 1, 1}, {1, 0, 1, 0}), 0.5);
}

TEST(MetricsRocAuc, NaNScoresRankLowestAndAreCounted) {
  // scores NaN 0.2 0.9 NaN, labels 1 0 1 0. Positives {NaN, 0.9}, negatives {0.2, NaN}.
  // NaN vs 0.2 -> 0, NaN vs NaN -> 1/2, 0.9 vs 0.2 -> 1, 0.9 vs NaN -> 1: U = 2.5 -> 2.5/4.
  size_t nan = 0;
  EXPECT_DOUBLE_EQ(RocAuc({kNaN, 0.2, 0.9, kNaN}, {1, 0, 1, 0}, &nan), 0.625);
  EXPECT_EQ(nan, 2u);
  // NaN ranks even below -inf: positive -inf beats negative NaN -> 1.0.
  EXPECT_DOUBLE_EQ(RocAuc({-kInf, kNaN}, {1, 0}), 1.0);
  EXPECT_EQ(CountNaN({kNaN, 1, kNaN, kNaN}), 3u);
}

TEST(MetricsRocAuc, UndefinedIsNaN) {
  EXPECT_TRUE(std::isnan(RocAuc({}, {})));
  EXPECT_TRUE(std::isnan(RocAuc({0.1, 0.2}, {1, 1})));
  EXPECT_TRUE(std::isnan(RocAuc({0.1, 0.2}, {0, 0})));
  EXPECT_TRUE(RocCurve({0.1, 0.2}, {1, 1}).empty());
}

TEST(MetricsRocAuc, RandomScoresGiveOneHalf) {
  // Scores independent of labels: the expected AUC is 0.5; with 10k per class its
  // standard deviation is ~sqrt((P+N+1)/(12PN)) ~ 0.004, so 0.03 is > 7 sigma.
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> s;
  std::vector<int> l;
  for (int i = 0; i < 20000; ++i) {
    s.push_back(u(rng));
    l.push_back(i % 2);
  }
  EXPECT_NEAR(RocAuc(s, l), 0.5, 0.03);
  // AP of a random scorer is about the prevalence (0.5 here).
  EXPECT_NEAR(PrAuc(s, l), 0.5, 0.03);
}

TEST(MetricsRocCurve, PointsAndTrapezoidMatchAuc) {
  // Descending: 0.8(+) 0.4(-) 0.35(+) 0.1(-); P = N = 2.
  // thr 0.8: tp1 fp0 -> (0, .5); 0.4: tp1 fp1 -> (.5, .5); 0.35: (.5, 1); 0.1: (1, 1).
  const auto c = RocCurve({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1});
  ASSERT_EQ(c.size(), 5u);
  EXPECT_TRUE(std::isinf(c[0].threshold));
  EXPECT_EQ(c[0].x, 0);
  EXPECT_EQ(c[0].y, 0);
  EXPECT_DOUBLE_EQ(c[1].threshold, 0.8);
  EXPECT_DOUBLE_EQ(c[1].y, 0.5);
  EXPECT_DOUBLE_EQ(c[2].x, 0.5);
  EXPECT_DOUBLE_EQ(c[2].y, 0.5);
  EXPECT_DOUBLE_EQ(c[3].y, 1.0);
  EXPECT_DOUBLE_EQ(c[4].x, 1.0);
  double area = 0;
  for (size_t i = 1; i < c.size(); ++i) area += (c[i].x - c[i - 1].x) * (c[i].y + c[i - 1].y) / 2;
  EXPECT_DOUBLE_EQ(area, 0.75);
  // NaN scores: the last point has threshold NaN and reaches (1, 1).
  const auto cn = RocCurve({0.5, kNaN}, {1, 0});
  ASSERT_EQ(cn.size(), 3u);
  EXPECT_TRUE(std::isnan(cn.back().threshold));
  EXPECT_EQ(cn.back().x, 1.0);
}

TEST(MetricsPrAuc, HandComputed) {
  // Descending: 0.8(+) 0.4(-) 0.35(+) 0.1(-); P = 2.
  // thr 0.8: R .5 P 1   -> (.5 - 0) * 1   = .5
  // thr 0.4: R .5 P .5  -> 0
  // thr .35: R 1  P 2/3 -> (1 - .5) * 2/3 = 1/3
  // thr 0.1: R 1        -> 0                 AP = 5/6 (sklearn: 0.8333)
  EXPECT_DOUBLE_EQ(PrAuc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 5.0 / 6.0);
  // Ties: 0.9(+), then {0.5: 1 pos, 2 neg}.
  // thr 0.9: R .5 P 1 -> .5; thr 0.5: tp 2 fp 2 R 1 P .5 -> .5 * .5 = .25. AP = .75.
  EXPECT_DOUBLE_EQ(PrAuc({0.5, 0.5, 0.5, 0.9}, {1, 0, 0, 1}), 0.75);
  EXPECT_TRUE(std::isnan(PrAuc({0.1, 0.2}, {0, 0})));
  EXPECT_TRUE(std::isnan(PrAuc({}, {})));
  EXPECT_DOUBLE_EQ(PrAuc({0.1, 0.2}, {1, 1}), 1.0);  // no negatives: precision is 1
  // NaN positive is found last: 0.9(-) then NaN(+): R 1 P .5 -> AP .5.
  size_t nan = 0;
  EXPECT_DOUBLE_EQ(PrAuc({0.9, kNaN}, {0, 1}, &nan), 0.5);
  EXPECT_EQ(nan, 1u);
}

TEST(MetricsPrCurve, Points) {
  const auto c = PrCurve({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1});
  ASSERT_EQ(c.size(), 5u);
  EXPECT_EQ(c[0].x, 0);  // (recall 0, precision 1) anchor
  EXPECT_EQ(c[0].y, 1);
  EXPECT_DOUBLE_EQ(c[3].threshold, 0.35);
  EXPECT_DOUBLE_EQ(c[3].x, 1.0);
  EXPECT_DOUBLE_EQ(c[3].y, 2.0 / 3.0);
  EXPECT_TRUE(PrCurve({0.1}, {0}).empty());
}

TEST(MetricsBestF1, HandComputed) {
  // Descending 0.9(+) 0.8(-) 0.7(+) 0.6(+) 0.5(-); P = 3. F1 = 2tp / (2tp + fp + fn):
  // thr .9: tp1 fp0 fn2 -> 2/4 = .5     thr .8: tp1 fp1 fn2 -> 2/5 = .4
  // thr .7: tp2 fp1 fn1 -> 4/6 = .667   thr .6: tp3 fp1 fn0 -> 6/7 = .857 (best)
  // thr .5: tp3 fp2 fn0 -> 6/8 = .75
  const BestF1 b = BestF1OverThresholds({0.9, 0.8, 0.7, 0.6, 0.5}, {1, 0, 1, 1, 0});
  EXPECT_DOUBLE_EQ(b.f1, 6.0 / 7.0);
  EXPECT_DOUBLE_EQ(b.threshold, 0.6);
  EXPECT_DOUBLE_EQ(b.precision, 0.75);
  EXPECT_DOUBLE_EQ(b.recall, 1.0);
  // The threshold really yields that F1 with score >= threshold.
  std::vector<double> s = {0.9, 0.8, 0.7, 0.6, 0.5};
  std::vector<int> pred;
  for (double x : s) pred.push_back(x >= b.threshold);
  EXPECT_DOUBLE_EQ(Evaluate({1, 0, 1, 1, 0}, pred).f1(), b.f1);
}

TEST(MetricsBestF1, EdgeCases) {
  const BestF1 none = BestF1OverThresholds({0.3, 0.4}, {0, 0});
  EXPECT_EQ(none.f1, 0);
  EXPECT_TRUE(std::isinf(none.threshold));
  const BestF1 empty = BestF1OverThresholds({}, {});
  EXPECT_EQ(empty.f1, 0);
  // NaN never predicted positive: positives {NaN, 0.2}, negative 0.9.
  // thr .9: tp0 -> 0; thr .2: tp1 fp1 fn1 -> 2/4 = .5. NaN counted.
  const BestF1 n = BestF1OverThresholds({kNaN, 0.2, 0.9}, {1, 1, 0});
  EXPECT_DOUBLE_EQ(n.f1, 0.5);
  EXPECT_DOUBLE_EQ(n.threshold, 0.2);
  EXPECT_EQ(n.nan_scores, 1u);
  // Ties move together: {0.5: +,-}: tp1 fp1 fn0 -> 2/3.
  EXPECT_DOUBLE_EQ(BestF1OverThresholds({0.5, 0.5}, {1, 0}).f1, 2.0 / 3.0);
}

TEST(MetricsPointAdjust, HandComputed) {
  // labels: 0 1 1 1 0 0 1 1 0   (segments [1,3] and [6,7])
  // preds:  0 0 1 0 1 0 0 0 0   (hit in segment 1 at 2; false alarm at 4)
  // adjusted: segment 1 fully detected; segment 2 untouched; 4 stays.
  const std::vector<int> labels = {0, 1, 1, 1, 0, 0, 1, 1, 0};
  const std::vector<int> preds = {0, 0, 1, 0, 1, 0, 0, 0, 0};
  const std::vector<int> adj = PointAdjust(labels, preds);
  EXPECT_EQ(adj, (std::vector<int>{0, 1, 1, 1, 1, 0, 0, 0, 0}));
  // Raw: tp 1, fp 1, fn 4 -> F1 = 2/(2+1+4) = 2/7. Adjusted: tp 3, fp 1, fn 2 -> 6/9.
  EXPECT_DOUBLE_EQ(Evaluate(labels, preds).f1(), 2.0 / 7.0);
  EXPECT_DOUBLE_EQ(Evaluate(labels, adj).f1(), 2.0 / 3.0);
  // Segment running to the end of the series.
  EXPECT_EQ(PointAdjust({0, 1, 1}, {0, 0, 1}), (std::vector<int>{0, 1, 1}));
  EXPECT_TRUE(PointAdjust({}, {}).empty());
}

TEST(MetricsPointAdjust, InflatesF1OfSparseRandomAlarms) {
  // 10 anomalous segments of 100 points in 10000 (10%), alarms drawn at random with
  // p = 0.02 independently of the labels. Unadjusted: precision ~0.1, recall ~0.02,
  // F1 ~0.03. Adjusted: each segment is hit with p = 1 - 0.98^100 ~ 0.87, so recall
  // ~0.87 and precision ~870 / (870 + 180) ~ 0.83: F1 ~ 0.85 for a useless detector.
  // This is why the adjusted F1 is never reported alone.
  std::mt19937 rng(7);
  std::bernoulli_distribution alarm(0.02);
  std::vector<int> labels(10000, 0), preds(10000, 0);
  for (int seg = 0; seg < 10; ++seg) {
    for (int i = 0; i < 100; ++i) labels[seg * 1000 + 450 + i] = 1;
  }
  for (int& p : preds) p = alarm(rng);
  const double raw = Evaluate(labels, preds).f1();
  const double adjusted = Evaluate(labels, PointAdjust(labels, preds)).f1();
  EXPECT_LT(raw, 0.1);
  EXPECT_GT(adjusted, 0.5);
  EXPECT_GT(adjusted, 5 * raw);
}

TEST(MetricsEvents, RecallDelayFalseAlarms) {
  // Events [10,20) [30,40) [100,110) s; alarms at 12 15 41 50 105 s.
  // grace 2 s: windows [10,22) [30,42) [100,112):
  //   event 1 first alarm 12 -> delay 2; event 2: 41 -> delay 11; event 3: 105 -> 5.
  //   false alarms: 50 only. mean = 18/3 = 6, median = 5.
  const TimeNs s = kNsPerSec;
  const std::vector<TimeRange> ev = {{10 * s, 20 * s}, {30 * s, 40 * s}, {100 * s, 110 * s}};
  std::vector<Alarm> al;
  for (int t : {50, 12, 105, 15, 41}) al.push_back({t * s, 1.0, "svc"});  // unsorted on purpose
  const EventResult r = EvaluateEvents(ev, al, 2 * s);
  EXPECT_EQ(r.events, 3u);
  EXPECT_EQ(r.detected, 3u);
  EXPECT_DOUBLE_EQ(r.recall(), 1.0);
  EXPECT_EQ(r.delays_s, (std::vector<double>{2, 11, 5}));
  EXPECT_DOUBLE_EQ(r.mean_delay_s(), 6.0);
  EXPECT_DOUBLE_EQ(r.median_delay_s(), 5.0);
  EXPECT_EQ(r.false_alarms, 1u);
  // grace 0: 41 is past [30,40) -> event 2 missed (recall 2/3), false alarms 41 and 50.
  // delays {2, 5}: mean 3.5, median (2 + 5) / 2 = 3.5.
  const EventResult r0 = EvaluateEvents(ev, al);
  EXPECT_EQ(r0.detected, 2u);
  EXPECT_DOUBLE_EQ(r0.recall(), 2.0 / 3.0);
  EXPECT_EQ(r0.false_alarms, 2u);
  EXPECT_DOUBLE_EQ(r0.median_delay_s(), 3.5);
}

TEST(MetricsEvents, EdgeCases) {
  const TimeNs s = kNsPerSec;
  // No events: every alarm is false; delays undefined (NaN), recall 0.
  const EventResult none = EvaluateEvents({}, {{1 * s, 1, ""}, {2 * s, 1, ""}});
  EXPECT_EQ(none.false_alarms, 2u);
  EXPECT_EQ(none.recall(), 0);
  EXPECT_TRUE(std::isnan(none.mean_delay_s()));
  EXPECT_TRUE(std::isnan(none.median_delay_s()));
  // Alarm before the start does not count; end is exclusive.
  const EventResult edge = EvaluateEvents({{10 * s, 20 * s}}, {{9 * s, 1, ""}, {20 * s, 1, ""}});
  EXPECT_EQ(edge.detected, 0u);
  EXPECT_EQ(edge.false_alarms, 2u);
  // Alarm exactly at start: delay 0. Overlapping events both detected by one alarm.
  const EventResult ov = EvaluateEvents({{10 * s, 20 * s}, {5 * s, 15 * s}}, {{10 * s, 1, ""}});
  EXPECT_EQ(ov.detected, 2u);
  EXPECT_EQ(ov.delays_s, (std::vector<double>{0, 5}));
  EXPECT_EQ(ov.false_alarms, 0u);
  // Inverted range is empty without grace, [start, start + grace) with it.
  EXPECT_EQ(EvaluateEvents({{10 * s, 5 * s}}, {{10 * s, 1, ""}}).detected, 0u);
  EXPECT_EQ(EvaluateEvents({{10 * s, 5 * s}}, {{10 * s, 1, ""}}, s).detected, 1u);
}

TEST(MetricsTopK, HandComputed) {
  // Truth "a" sits at rank 1, 2 and 3 in the three cases.
  const std::vector<std::vector<std::string>> ranked = {{"a", "b", "c"}, {"c", "a", "b"}, {"b", "c", "a"}};
  const std::vector<std::vector<std::string>> truth = {{"a"}, {"a"}, {"a"}};
  EXPECT_DOUBLE_EQ(TopKAccuracy(ranked, truth, 1), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(TopKAccuracy(ranked, truth, 2), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(TopKAccuracy(ranked, truth, 3), 1.0);
  EXPECT_DOUBLE_EQ(TopKAccuracy(ranked, truth, 10), 1.0);  // k past the list
  EXPECT_EQ(TopKAccuracy(ranked, truth, 0), 0);
  EXPECT_EQ(TopKAccuracy({}, {}, 1), 0);
  // Any of several root causes counts; an empty truth is a miss: 1 of 2.
  EXPECT_DOUBLE_EQ(TopKAccuracy({{"x", "y"}, {"x"}}, {{"z", "y"}, {}}, 2), 0.5);
}

}  // namespace
}  // namespace triad

namespace triad {
namespace {

TEST(RangePrAucTest, PerfectScoreIsOneAndNoPositiveIsNaN) {
  std::vector<int> labels = {0, 0, 1, 1, 0, 0, 0, 1, 0, 0};
  std::vector<double> perfect(labels.begin(), labels.end());
  EXPECT_DOUBLE_EQ(RangePrAuc(perfect, labels, 0), 1.0);
  EXPECT_TRUE(std::isnan(RangePrAuc(perfect, std::vector<int>(10, 0), 0)));
  EXPECT_TRUE(std::isnan(VusPr(perfect, std::vector<int>(10, 0), 3)));
}

TEST(RangePrAucTest, BufferZeroByHand) {
  // Two ranges: {1} and {4, 5}. Scores rank 4 > 0 > 1 > rest.
  std::vector<int> labels = {0, 1, 0, 0, 1, 1, 0, 0};
  std::vector<double> s = {0.8, 0.7, 0.1, 0.2, 0.9, 0.3, 0.0, 0.05};
  // Distinct thresholds in decreasing order: 0.9 0.8 0.7 0.3 0.2 0.1 0.05 0.0; P = 3.
  //  t=.9: tp 1, k 1, existence 1/2 -> r = 1/3 * 1/2 = 1/6, p = 1
  //  t=.8: tp 1, k 2 -> r 1/6, p 1/2
  //  t=.7: tp 2, k 3, existence 1 -> r 2/3, p 2/3
  //  t=.3: tp 3, k 4 -> r 1, p 3/4
  //  then r stays 1 (zero-width trapezoids).
  const double want = (1.0 / 6) * (1 + 1) / 2 + 0 + (2.0 / 3 - 1.0 / 6) * (2.0 / 3 + 0.5) / 2 +
                      (1 - 2.0 / 3) * (0.75 + 2.0 / 3) / 2;
  EXPECT_NEAR(RangePrAuc(s, labels, 0), want, 1e-12);
  EXPECT_NEAR(RangePrAuc(s, labels, 1), want, 1e-12);  // buffer 1 adds no slope
  // NaN scores are never predicted: a NaN on a normal point changes nothing
  // here except that it is not a threshold.
  s[6] = std::nan("");
  EXPECT_NEAR(RangePrAuc(s, labels, 0), want, 1e-12);
}

TEST(RangePrAucTest, BufferRewardsNearMisses) {
  // The detector fires one point before each anomaly: PR-AUC at buffer 0 is
  // poor; a buffer gives partial credit for the slope point.
  std::vector<int> labels(200, 0);
  std::vector<double> s(200, 0.0);
  for (int start : {30, 90, 150}) {
    for (int i = start; i < start + 6; ++i) labels[i] = 1;
    s[start - 1] = 1.0;
  }
  for (int i = 0; i < 200; ++i) s[i] += 0.001 * ((i * 37) % 11);  // distinct low noise
  const double b0 = RangePrAuc(s, labels, 0), b6 = RangePrAuc(s, labels, 6);
  EXPECT_GT(b6, b0 + 0.1) << b0 << " " << b6;
  // VUS-PR is the mean over buffers 0..max.
  double mean = 0;
  for (int b = 0; b <= 6; ++b) mean += RangePrAuc(s, labels, b);
  EXPECT_NEAR(VusPr(s, labels, 6), mean / 7, 1e-12);
  // Random-looking scores stay low (no point-adjustment-style inflation).
  std::vector<double> noise(200);
  for (int i = 0; i < 200; ++i) noise[i] = double((i * 7919) % 200) / 200.0;
  EXPECT_LT(VusPr(noise, labels, 6), 0.3);
}

}  // namespace
}  // namespace triad
