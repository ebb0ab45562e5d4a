#include "detect/esd.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>

namespace triad {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kMadToSd = 1.4826;          // R's mad() constant
constexpr double kMeanAbsDevToSd = 1.2533141373155;  // sqrt(pi/2)

double MedianOf(std::vector<double> v) {
  if (v.empty()) return kNaN;
  const size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + m, v.end());
  double hi = v[m];
  if (v.size() % 2 == 1) return hi;
  double lo = *std::max_element(v.begin(), v.begin() + m);
  return 0.5 * (lo + hi);
}

// Log of the complete beta function.
double LogBeta(double a, double b) { return std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b); }

// Continued fraction of the incomplete beta function (Lentz; Numerical Recipes betacf).
double BetaCf(double a, double b, double x) {
  constexpr double kTiny = 1e-300, kEps = 1e-15;
  const double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 500; ++m) {
    const int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < kEps) break;
  }
  return h;
}

// Regularized incomplete beta I_x(a, b).
double IncBeta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double bt = std::exp(a * std::log(x) + b * std::log1p(-x) - LogBeta(a, b));
  if (x < (a + 1) / (a + b + 2)) return bt * BetaCf(a, b, x) / a;
  return 1 - bt * BetaCf(b, a, 1 - x) / b;
}

// Upper tail P(T > t) of Student's t, t >= 0.
double StudentTUpper(double t, double df) { return 0.5 * IncBeta(df / 2, 0.5, df / (df + t * t)); }

// Sorted view of the finite values for the generalized ESD: the remaining
// points are always v[lo..hi].
class SortedRange {
 public:
  explicit SortedRange(std::vector<double> v) : v_(std::move(v)) {
    std::sort(v_.begin(), v_.end());
    shift_ = v_.empty() ? 0 : v_[v_.size() / 2];
    pre_.assign(v_.size() + 1, 0);
    pre2_.assign(v_.size() + 1, 0);
    for (size_t i = 0; i < v_.size(); ++i) {
      const double d = v_[i] - shift_;
      pre_[i + 1] = pre_[i] + d;
      pre2_[i + 1] = pre2_[i] + d * d;
    }
  }
  double at(size_t i) const { return v_[i]; }

  double Median(size_t lo, size_t hi) const {
    const size_t n = hi - lo + 1;
    if (n % 2 == 1) return v_[lo + n / 2];
    return 0.5 * (v_[lo + n / 2 - 1] + v_[lo + n / 2]);
  }
  double Mean(size_t lo, size_t hi) const {
    return shift_ + (pre_[hi + 1] - pre_[lo]) / static_cast<double>(hi - lo + 1);
  }
  // Sample standard deviation (n - 1).
  double Sd(size_t lo, size_t hi) const {
    const double n = static_cast<double>(hi - lo + 1);
    if (n < 2) return 0;
    const double s = pre_[hi + 1] - pre_[lo], s2 = pre2_[hi + 1] - pre2_[lo];
    const double var = (s2 - s * s / n) / (n - 1);
    return var > 0 ? std::sqrt(var) : 0;
  }
  // Median of |v - med| over [lo, hi].
  double Mad(size_t lo, size_t hi, double med) const {
    // p: last index in [lo, hi] with v <= med. A[j] = med - v[p - j], B[j] = v[p+1+j] - med.
    const size_t ub = static_cast<size_t>(
        std::upper_bound(v_.begin() + lo, v_.begin() + hi + 1, med) - v_.begin());
    const size_t a = ub - lo, b = hi + 1 - ub;
    auto A = [&](size_t j) { return med - v_[ub - 1 - j]; };
    auto B = [&](size_t j) { return v_[ub + j] - med; };
    // k-th smallest (0-based) of the union of sorted A and B.
    auto kth = [&](size_t k) {
      size_t left = k + 1 > b ? k + 1 - b : 0, right = std::min(a, k + 1);
      while (left < right) {  // find i = number taken from A
        const size_t i = (left + right) / 2;
        // taking i from A and k+1-i from B; if A[i] < B[k-i] we need more from A.
        if (i < a && k + 1 - i >= 1 && A(i) < B(k - i)) left = i + 1;
        else right = i;
      }
      const size_t i = left, jb = k + 1 - i;
      double r = -std::numeric_limits<double>::infinity();
      if (i > 0) r = std::max(r, A(i - 1));
      if (jb > 0) r = std::max(r, B(jb - 1));
      return r;
    };
    const size_t n = a + b;
    if (n % 2 == 1) return kth(n / 2);
    return 0.5 * (kth(n / 2 - 1) + kth(n / 2));
  }
  // Mean of |v - med| over [lo, hi].
  double MeanAbsDev(size_t lo, size_t hi, double med) const {
    const size_t ub = static_cast<size_t>(
        std::upper_bound(v_.begin() + lo, v_.begin() + hi + 1, med) - v_.begin());
    const double m = med - shift_;
    const double sl = pre_[ub] - pre_[lo], sr = pre_[hi + 1] - pre_[ub];
    const double nl = static_cast<double>(ub - lo), nr = static_cast<double>(hi + 1 - ub);
    return (m * nl - sl + sr - m * nr) / static_cast<double>(hi - lo + 1);
  }

  // Centre and scale of [lo, hi]; scale 0 means "cannot test".
  void CentreScale(size_t lo, size_t hi, bool robust, double* c, double* s) const {
    if (robust) {
      *c = Median(lo, hi);
      *s = kMadToSd * Mad(lo, hi, *c);
      if (!(*s > 0)) *s = kMeanAbsDevToSd * MeanAbsDev(lo, hi, *c);
    } else {
      *c = Mean(lo, hi);
      *s = Sd(lo, hi);
    }
    if (!(*s > 1e-300)) *s = 0;
  }

 private:
  std::vector<double> v_;
  double shift_ = 0;
  std::vector<double> pre_, pre2_;
};

}  // namespace

double NormalQuantile(double p) {
  assert(p > 0 && p < 1);
  // Acklam's rational approximation, refined by one Halley step.
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double plow = 0.02425, phigh = 1 - plow;
  double x;
  if (p < plow) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= phigh) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  // Halley refinement.
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  x = x - u / (1 + x * u / 2);
  return x;
}

double StudentTQuantile(double p, double df) {
  assert(p > 0 && p < 1 && df > 0);
  if (p == 0.5) return 0;
  if (p < 0.5) return -StudentTQuantile(1 - p, df);
  const double q = 1 - p;  // upper tail
  if (df >= 50) {
    // Cornish-Fisher expansion (Hill 1970 / Abramowitz-Stegun 26.7.5).
    const double z = NormalQuantile(p), z2 = z * z;
    const double g1 = (z2 + 1) * z / 4;
    const double g2 = ((5 * z2 + 16) * z2 + 3) * z / 96;
    const double g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384;
    const double g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160;
    return z + g1 / df + g2 / (df * df) + g3 / (df * df * df) + g4 / (df * df * df * df);
  }
  if (df == 1) return std::tan(M_PI * (p - 0.5));
  if (df == 2) return (2 * p - 1) / std::sqrt(2 * p * (1 - p));
  // Bracket and bisect on the upper tail (monotone decreasing in t).
  double lo = 0, hi = 1;
  while (StudentTUpper(hi, df) > q && hi < 1e300) hi *= 2;
  for (int it = 0; it < 200 && hi - lo > 1e-12 * hi; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (StudentTUpper(mid, df) > q) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

std::vector<size_t> GeneralizedEsd(const std::vector<double>& v, size_t max_outliers,
                                   double alpha, bool robust) {
  const size_t n = v.size();
  std::vector<size_t> out;
  if (n < 3 || max_outliers == 0) return out;
  // Sort indices by value; the range [lo, hi] of the order holds the remaining points.
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  SortedRange sr(v);
  size_t lo = 0, hi = n - 1;
  std::vector<size_t> removed;
  std::vector<double> R;
  const size_t k = std::min(max_outliers, n - 3);
  for (size_t i = 1; i <= k; ++i) {
    double c, s;
    sr.CentreScale(lo, hi, robust, &c, &s);
    if (s == 0) break;
    const double dlo = c - sr.at(lo), dhi = sr.at(hi) - c;
    if (dhi >= dlo) {
      R.push_back(dhi / s);
      removed.push_back(order[hi]);
      --hi;
    } else {
      R.push_back(dlo / s);
      removed.push_back(order[lo]);
      ++lo;
    }
  }
  // Largest i with R_i > lambda_i.
  size_t num = 0;
  for (size_t i = R.size(); i >= 1; --i) {
    const double ni = static_cast<double>(n), fi = static_cast<double>(i);
    const double p = 1 - alpha / (2 * (ni - fi + 1));
    const double t = StudentTQuantile(p, ni - fi - 1);
    const double lambda = (ni - fi) * t / std::sqrt((ni - fi - 1 + t * t) * (ni - fi + 1));
    if (R[i - 1] > lambda) {
      num = i;
      break;
    }
  }
  out.assign(removed.begin(), removed.begin() + num);
  return out;
}

std::vector<double> SeasonalByPhaseMedians(const std::vector<double>& x, int period) {
  std::vector<double> seasonal(x.size(), 0.0);
  if (period < 2 || x.size() < 2 * static_cast<size_t>(period)) return seasonal;
  std::vector<double> phase_med(period, kNaN);
  std::vector<double> buf;
  for (int ph = 0; ph < period; ++ph) {
    buf.clear();
    for (size_t i = ph; i < x.size(); i += period)
      if (std::isfinite(x[i])) buf.push_back(x[i]);
    phase_med[ph] = MedianOf(buf);
  }
  buf.clear();
  for (double m : phase_med)
    if (std::isfinite(m)) buf.push_back(m);
  if (buf.empty()) return seasonal;
  const double centre = MedianOf(buf);
  for (size_t i = 0; i < x.size(); ++i) {
    const double m = phase_med[i % period];
    seasonal[i] = std::isfinite(m) ? m - centre : 0.0;
  }
  return seasonal;
}

EsdResult SeasonalEsd(const std::vector<double>& x, const EsdOptions& opts) {
  const size_t n = x.size();
  EsdResult r;
  r.residual.assign(n, kNaN);
  r.score.assign(n, kNaN);
  r.flag.assign(n, 0);
  std::vector<size_t> idx;
  for (size_t i = 0; i < n; ++i)
    if (std::isfinite(x[i])) idx.push_back(i);
  r.valid = idx.size();
  const bool seasonal_ok = opts.period >= 2 && r.valid >= 2 * static_cast<size_t>(opts.period);
  r.seasonal = seasonal_ok ? SeasonalByPhaseMedians(x, opts.period) : std::vector<double>(n, 0.0);
  if (idx.empty()) return r;

  // De-seasonalised values and the centre (global or piecewise median).
  std::vector<double> ds(n, kNaN);
  for (size_t i : idx) ds[i] = x[i] - r.seasonal[i];
  if (opts.piecewise > 0) {
    const size_t block = static_cast<size_t>(opts.piecewise);
    std::vector<double> buf;
    for (size_t b0 = 0; b0 < n; b0 += block) {
      size_t b1 = std::min(n, b0 + block);
      if (n - b1 < block / 2) b1 = n;  // a short tail joins the last block
      buf.clear();
      for (size_t i = b0; i < b1; ++i)
        if (std::isfinite(ds[i])) buf.push_back(ds[i]);
      const double med = MedianOf(buf);
      for (size_t i = b0; i < b1; ++i)
        if (std::isfinite(ds[i])) r.residual[i] = ds[i] - med;
      if (b1 == n) break;
    }
  } else {
    std::vector<double> buf;
    for (size_t i : idx) buf.push_back(ds[i]);
    const double med = MedianOf(buf);
    for (size_t i : idx) r.residual[i] = ds[i] - med;
  }

  std::vector<double> res;
  res.reserve(idx.size());
  for (size_t i : idx) res.push_back(r.residual[i]);

  // Continuous score from the first step's centre and scale.
  {
    SortedRange sr(res);
    double c = 0, s = 0;
    sr.CentreScale(0, res.size() - 1, opts.hybrid, &c, &s);
    for (size_t i : idx) {
      const double d = std::fabs(r.residual[i] - c);
      r.score[i] = s > 0 ? d / s : (d > 0 ? std::numeric_limits<double>::max() : 0.0);
    }
  }
  const double frac = std::clamp(opts.max_anomalies, 0.0, 0.5);
  const size_t k = static_cast<size_t>(std::floor(frac * static_cast<double>(res.size())));
  for (size_t j : GeneralizedEsd(res, k, opts.alpha, opts.hybrid)) {
    r.anomalies.push_back(idx[j]);
    r.flag[idx[j]] = 1;
  }
  return r;
}

EsdScores ScoreSeriesEsd(const std::vector<std::vector<double>>& series, const EsdOptions& opts) {
  EsdScores out;
  const size_t W = series.empty() ? 0 : series[0].size();
  out.score.assign(W, kNaN);
  out.flag.assign(W, 0);
  out.top_feature.assign(W, -1);
  out.votes.assign(W, 0);
  for (size_t f = 0; f < series.size(); ++f) {
    assert(series[f].size() == W);
    EsdResult r = SeasonalEsd(series[f], opts);
    for (size_t w = 0; w < W; ++w) {
      if (r.flag[w]) {
        out.flag[w] = 1;
        ++out.votes[w];
      }
      const double s = r.score[w];
      if (std::isnan(s)) continue;
      if (std::isnan(out.score[w]) || s > out.score[w]) {
        out.score[w] = s;
        out.top_feature[w] = static_cast<int>(f);
      }
    }
  }
  return out;
}

std::vector<int> VoteOutlierFlags(const std::vector<int>& votes, double alpha,
                                  double max_anomalies) {
  std::vector<int> flags(votes.size(), 0);
  std::vector<double> v(votes.begin(), votes.end());
  if (v.empty()) return flags;
  const double med = MedianOf(v);
  const size_t k = static_cast<size_t>(
      std::floor(std::clamp(max_anomalies, 0.0, 0.5) * static_cast<double>(v.size())));
  for (size_t i : GeneralizedEsd(v, k, alpha, /*robust=*/true))
    if (v[i] > med) flags[i] = 1;
  return flags;
}

EsdScores ScoreWindowsEsd(const std::vector<const LogMetricWindow*>& windows,
                          const EsdOptions& opts) {
  if (windows.empty()) return {};
  const int d = windows[0]->dims;
  const size_t W = windows.size();
  std::vector<std::vector<double>> series(d, std::vector<double>(W, kNaN));
  for (size_t w = 0; w < W; ++w) {
    const LogMetricWindow& win = *windows[w];
    assert(win.scope == windows[0]->scope && win.dims == d);
    for (int f = 0; f < d; ++f) {
      double sum = 0;
      int cnt = 0;
      for (int t = 0; t < win.steps; ++t) {
        const size_t c = static_cast<size_t>(t) * d + f;
        if (win.mask[c] && std::isfinite(win.values[c])) {
          sum += win.values[c];
          ++cnt;
        }
      }
      if (cnt > 0) series[f][w] = sum / cnt;
    }
  }
  return ScoreSeriesEsd(series, opts);
}

}  // namespace triad
