// Evaluation metrics every detector of Triad reports with: point-wise
// confusion counts, threshold-free ranking scores (ROC-AUC, average
// precision), curves, the best F1 over thresholds, point adjustment, event
// (range) level recall with detection delay, and top-k root-cause accuracy.
//
// Conventions:
//  - Labels and predictions are 0/1; any non-zero value counts as 1.
//  - Scores: higher = more anomalous. NaN scores rank BELOW every other score
//    (including -inf): a detector that produced no score has not flagged the
//    point. They are counted (see CountNaN and the *nan_scores out-params) so
//    that a broken scorer does not hide behind a good-looking number.
//  - Ties between scores are never broken arbitrarily: tied points move across
//    a threshold together.
//
// POINT ADJUSTMENT WARNING: PointAdjust (Xu et al. 2018) marks a whole
// anomalous segment as detected if any single point of it is. It inflates F1
// enormously (sparse random alarms reach a high adjusted F1 on long segments;
// see metrics_test.cc), so an adjusted F1 must ALWAYS be reported beside the
// unadjusted one, never alone.
#ifndef TRIAD_EVAL_METRICS_H_
#define TRIAD_EVAL_METRICS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "triad/telemetry.h"

namespace triad {

// Point-wise confusion counts.
struct Confusion {
  uint64_t tp = 0, fp = 0, tn = 0, fn = 0;

  // Each ratio returns 0 when its denominator is 0.
  double precision() const;  // tp / (tp + fp)
  double recall() const;     // tp / (tp + fn)
  double f1() const;         // 2PR / (P + R)
  double accuracy() const;   // (tp + tn) / total
  double fpr() const;        // fp / (fp + tn)
  uint64_t total() const { return tp + fp + tn + fn; }
};

// REQUIRES: labels.size() == preds.size().
Confusion Evaluate(const std::vector<int>& labels, const std::vector<int>& preds);

// Returns the number of NaN entries of `scores`.
size_t CountNaN(const std::vector<double>& scores);

// Area under the ROC curve = Mann-Whitney U / (P * N), tied scores counted as
// 1/2 (average ranks). Returns NaN if either class is absent (or input empty).
// If nan_scores is non-null, *nan_scores is set to the number of NaN scores.
// REQUIRES: scores.size() == labels.size().
double RocAuc(const std::vector<double>& scores, const std::vector<int>& labels,
              size_t* nan_scores = nullptr);

// Average precision, sklearn's step-wise definition:
//   AP = sum_n (R_n - R_{n-1}) * P_n
// over the distinct thresholds in decreasing order (R_0 = 0). No
// interpolation. Returns NaN if there is no positive label.
// REQUIRES: scores.size() == labels.size().
double PrAuc(const std::vector<double>& scores, const std::vector<int>& labels,
             size_t* nan_scores = nullptr);

struct CurvePoint {
  double threshold = 0;  // predict positive iff score >= threshold
  double x = 0, y = 0;
};

// ROC curve (x = FPR, y = TPR), one point per distinct score in decreasing
// order, preceded by (threshold = +inf, 0, 0). If NaN scores exist, the last
// point (1, 1) has threshold NaN and stands for "flag everything, NaN
// included". Returns an empty vector if either class is absent.
std::vector<CurvePoint> RocCurve(const std::vector<double>& scores,
                                 const std::vector<int>& labels);

// Precision/recall curve (x = recall, y = precision), one point per distinct
// score in decreasing order, preceded by (threshold = +inf, recall 0,
// precision 1). NaN scores form a last point with threshold NaN. Returns an
// empty vector if there is no positive label.
std::vector<CurvePoint> PrCurve(const std::vector<double>& scores,
                                const std::vector<int>& labels);

struct BestF1 {
  double f1 = 0, precision = 0, recall = 0;
  // Predictions are score >= threshold. +inf when no threshold gives F1 > 0.
  double threshold = 0;
  size_t nan_scores = 0;  // NaN scores (never predicted positive)
};

// Returns the F1-maximising threshold among the distinct non-NaN scores (the
// highest such threshold on ties of F1).
BestF1 BestF1OverThresholds(const std::vector<double>& scores, const std::vector<int>& labels);

// Point adjustment (Xu et al. 2018): for every maximal run of consecutive
// label-1 points, if any prediction in the run is 1, all predictions of the run
// become 1. Predictions outside anomalous runs are unchanged.
// ALWAYS report the adjusted F1 beside the unadjusted one (see top of file).
// REQUIRES: labels.size() == preds.size().
std::vector<int> PointAdjust(const std::vector<int>& labels, const std::vector<int>& preds);

// Range-based area under the PR curve (Paparrizos et al., "Volume Under the
// Surface", VLDB 2022) for one buffer size `buffer` (points):
//  - labels become continuous: every maximal run [s, e] of label-1 points
//    keeps 1, and for buffer > 1 gains slopes of buffer / 2 points on both
//    sides, value sqrt(1 - d / buffer) at distance d from the run (overlaps
//    add, clipped to 1); the extended runs are the "ranges";
//  - thresholds: `thresholds` scores sampled evenly from the scores sorted in
//    decreasing order (all distinct scores when fewer); predict score >= t;
//  - TP = sum of continuous labels of the predicted points, P = (number of
//    label-1 points + sum of continuous labels) / 2, existence = fraction of
//    ranges with a predicted point, recall = min(TP / P, 1) * existence,
//    precision = TP / predicted;
//  - area by the trapezoidal rule over (recall, precision) from (0, 1).
// NaN scores are never predicted. Returns NaN if there is no positive label.
// REQUIRES: scores.size() == labels.size(), buffer >= 0, thresholds >= 2.
double RangePrAuc(const std::vector<double>& scores, const std::vector<int>& labels, int buffer,
                  int thresholds = 250);

// VUS-PR: the mean of RangePrAuc over buffer sizes 0..max_buffer (the volume
// under the range-PR surface). Robust to small misalignments between labels
// and scores, and NOT inflated like point adjustment. NaN without positives.
// REQUIRES: as RangePrAuc, max_buffer >= 0.
double VusPr(const std::vector<double>& scores, const std::vector<int>& labels, int max_buffer,
             int thresholds = 250);

// Half-open time range [start, end). A range with end < start is treated as
// empty: [start, start).
struct TimeRange {
  TimeNs start = 0, end = 0;
};

struct Alarm {
  TimeNs time = 0;
  double score = 0;
  std::string service;
};

struct EventResult {
  size_t events = 0, detected = 0;
  double recall() const;  // detected / events; 0 when there is no event
  // Per detected event (in the order of `events`): time of its first alarm in
  // [start, end + grace) minus start, in seconds (>= 0).
  std::vector<double> delays_s;
  double mean_delay_s() const;    // NaN when no event was detected
  double median_delay_s() const;  // NaN when no event was detected
  size_t false_alarms = 0;        // alarms that fall in no [start, end + grace)
};

// Event/range-level recall and detection delay. An alarm may detect several
// overlapping events. grace < 0 is treated as 0.
EventResult EvaluateEvents(const std::vector<TimeRange>& events, const std::vector<Alarm>& alarms,
                           TimeNs grace = 0);

// Top-k root-cause accuracy: the fraction of cases whose first k ranked
// suspects contain at least one true root cause. A case with empty truth
// counts as a miss. Returns 0 when there is no case or k <= 0.
// REQUIRES: ranked.size() == truth.size().
double TopKAccuracy(const std::vector<std::vector<std::string>>& ranked,
                    const std::vector<std::vector<std::string>>& truth, int k);

}  // namespace triad

#endif  // TRIAD_EVAL_METRICS_H_
