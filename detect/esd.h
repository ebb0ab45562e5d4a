// S-ESD and S-H-ESD (Hochenbaum, Vallis, Kejariwal, "Automatic Anomaly
// Detection in the Cloud Via Statistical Learning", Twitter 2017): remove the
// seasonal component and the centre of a series, then run the generalized
// ESD test (Rosner 1983) on the residual, with mean/sd (S-ESD) or median/MAD
// (S-H-ESD, robust to the anomalies themselves).
//
// Seasonal component: Twitter uses STL with a periodic seasonal window. Here
// it is the robust equivalent without a trend term: the median of every
// phase (all points i with the same i mod period), centred by subtracting the
// median of the phase medians. Residual = x - seasonal - centre, where the
// centre is the median of x - seasonal (or, with EsdOptions::piecewise > 0, of
// its block of `piecewise` points: Twitter's "long-term" piecewise median).
//
// Generalized ESD: for i = 1..k (k = floor(max_anomalies * n)), R_i =
// max |r - c| / s over the remaining points (c, s = mean and sample sd, or
// median and 1.4826 * MAD; when the MAD is 0 it falls back to 1.2533 * the
// mean absolute deviation from the median, and the test stops when that is 0
// too), the point is removed, and lambda_i = (n-i) t_{p,n-i-1} /
// sqrt((n-i-1+t^2)(n-i+1)) with p = 1 - alpha / (2 (n-i+1)) (two-sided). The
// anomalies are the first j removed points, j the largest i with R_i >
// lambda_i. Points removed are always the minimum or maximum of what remains,
// so the test runs on a sorted array in O(n log n + k log n).
//
// NaN (and infinite) inputs are left out of everything: their residual and
// score are NaN and they are never flagged.
#ifndef TRIAD_DETECT_ESD_H_
#define TRIAD_DETECT_ESD_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "align/log_metric_windows.h"

namespace triad {

struct EsdOptions {
  bool hybrid = true;           // true: S-H-ESD (median/MAD); false: S-ESD (mean/sd)
  int period = 0;               // points per season; < 2 or > n/2 (of valid points): no seasonal part
  double max_anomalies = 0.10;  // at most this fraction of the valid points is flagged (0..0.5)
  double alpha = 0.05;          // significance level of each test
  int piecewise = 0;            // > 0: centre = median of blocks of this many points
};

struct EsdResult {
  std::vector<double> seasonal;  // [n] seasonal component (0 without a period)
  std::vector<double> residual;  // [n] x - seasonal - centre; NaN where x is not finite
  // [n] |residual - c0| / s0 with c0, s0 the centre and scale of all valid
  // residuals (as in the first ESD step): a continuous anomaly score, NaN
  // where x is not finite, 0 everywhere when the residual is constant.
  std::vector<double> score;
  std::vector<size_t> anomalies;  // flagged indices, most extreme first
  std::vector<uint8_t> flag;      // [n] 1 iff flagged
  size_t valid = 0;               // finite inputs
};

// Runs S-ESD / S-H-ESD on `x` (equally spaced points; NaN = missing).
EsdResult SeasonalEsd(const std::vector<double>& x, const EsdOptions& opts);

// Generalized ESD on finite values `v`: returns the indices of the outliers,
// most extreme first. robust selects median/MAD. At most max_outliers.
std::vector<size_t> GeneralizedEsd(const std::vector<double>& v, size_t max_outliers,
                                   double alpha, bool robust);

// Robust seasonal component of `x` by phase medians (see top); all zeros when
// period < 2 or fewer than 2 full periods of points. NaN are ignored.
std::vector<double> SeasonalByPhaseMedians(const std::vector<double>& x, int period);

// Quantile function of Student's t with `df` > 0 degrees of freedom, 0 < p < 1.
double StudentTQuantile(double p, double df);
// Quantile function of the standard normal distribution, 0 < p < 1.
double NormalQuantile(double p);

// Window-level scores of a multivariate series.
struct EsdScores {
  std::vector<double> score;  // [W] max over features of the point score; NaN if none valid
  std::vector<int> flag;      // [W] 1 iff some feature flagged the point
  std::vector<int> top_feature;  // [W] feature with the highest score, -1 if none
  std::vector<int> votes;        // [W] number of features that flagged the point
};

// series: [features][W]. Runs SeasonalEsd per feature; flag[w] = 1 iff at
// least one feature flagged w (with many features this flags most windows:
// see VoteOutlierFlags). REQUIRES: every series has the same length.
EsdScores ScoreSeriesEsd(const std::vector<std::vector<double>>& series, const EsdOptions& opts);

// A label-free multivariate decision: flags the windows whose vote count is
// an upper outlier of the vote counts (generalized ESD with median/MAD on the
// votes, only points above the median flagged), at most max_anomalies of them.
std::vector<int> VoteOutlierFlags(const std::vector<int>& votes, double alpha,
                                  double max_anomalies);

// Window-level S-(H-)ESD for the windows of one scope from
// LogMetricWindowBuilder (sorted by start, equally spaced, same dims): the
// series of feature f holds, per window, the mean of its observed cells
// (mask 1; NaN when none), and ScoreSeriesEsd runs on those. The period is in
// windows. Windows of other scopes than windows[0]'s are a REQUIRES violation.
EsdScores ScoreWindowsEsd(const std::vector<const LogMetricWindow*>& windows,
                          const EsdOptions& opts);

}  // namespace triad

#endif  // TRIAD_DETECT_ESD_H_
