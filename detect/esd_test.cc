#include "detect/esd.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

namespace triad {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Straightforward O(n k) generalized ESD, the reference for the fast one.
std::vector<size_t> NaiveEsd(const std::vector<double>& v, size_t k, double alpha, bool robust) {
  std::vector<size_t> alive(v.size());
  for (size_t i = 0; i < v.size(); ++i) alive[i] = i;
  std::vector<size_t> removed;
  std::vector<double> R;
  const size_t n = v.size();
  k = std::min(k, n - 3);
  for (size_t i = 1; i <= k; ++i) {
    std::vector<double> x;
    for (size_t j : alive) x.push_back(v[j]);
    double c, s;
    auto median = [](std::vector<double> y) {
      std::sort(y.begin(), y.end());
      const size_t m = y.size();
      return m % 2 ? y[m / 2] : 0.5 * (y[m / 2 - 1] + y[m / 2]);
    };
    if (robust) {
      c = median(x);
      std::vector<double> dev;
      for (double y : x) dev.push_back(std::fabs(y - c));
      s = 1.4826 * median(dev);
      if (!(s > 0)) {
        double sum = 0;
        for (double d : dev) sum += d;
        s = 1.2533141373155 * sum / dev.size();
      }
    } else {
      double sum = 0;
      for (double y : x) sum += y;
      c = sum / x.size();
      double ss = 0;
      for (double y : x) ss += (y - c) * (y - c);
      s = std::sqrt(ss / (x.size() - 1));
    }
    if (!(s > 1e-300)) break;
    size_t best = 0;
    double bd = -1;
    for (size_t a = 0; a < alive.size(); ++a) {
      const double d = std::fabs(v[alive[a]] - c);
      if (d > bd) { bd = d; best = a; }
    }
    R.push_back(bd / s);
    removed.push_back(alive[best]);
    alive.erase(alive.begin() + best);
  }
  size_t num = 0;
  for (size_t i = R.size(); i >= 1; --i) {
    const double ni = n, fi = i;
    const double t = StudentTQuantile(1 - alpha / (2 * (ni - fi + 1)), ni - fi - 1);
    if (R[i - 1] > (ni - fi) * t / std::sqrt((ni - fi - 1 + t * t) * (ni - fi + 1))) {
      num = i;
      break;
    }
  }
  removed.resize(num);
  return removed;
}

TEST(Esd, QuantilesMatchTables) {
  EXPECT_NEAR(NormalQuantile(0.975), 1.959963985, 1e-8);
  EXPECT_NEAR(NormalQuantile(1e-6), -4.753424309, 1e-7);
  EXPECT_NEAR(StudentTQuantile(0.975, 10), 2.228138852, 1e-6);
  EXPECT_NEAR(StudentTQuantile(0.995, 5), 4.032142984, 1e-6);
  EXPECT_NEAR(StudentTQuantile(0.975, 1), 12.70620474, 1e-6);
  EXPECT_NEAR(StudentTQuantile(0.975, 100), 1.983971519, 1e-5);
  EXPECT_NEAR(StudentTQuantile(0.025, 10), -2.228138852, 1e-6);
}

// P(0 < T < t) by Simpson's rule on the density.
double TMass(double t, double df) {
  const double c = std::exp(std::lgamma((df + 1) / 2) - std::lgamma(df / 2)) / std::sqrt(df * M_PI);
  auto f = [&](double x) { return c * std::pow(1 + x * x / df, -(df + 1) / 2); };
  const int n = 200000;
  const double h = t / n;
  double s = f(0) + f(t);
  for (int i = 1; i < n; ++i) s += f(i * h) * (i % 2 ? 4 : 2);
  return s * h / 3;
}

TEST(Esd, TQuantileInvertsTheDistribution) {
  // Both the exact (df < 50) and the Cornish-Fisher (df >= 50) paths, in the
  // far tails the ESD critical values need.
  for (double df : {3.0, 12.0, 49.0, 50.0, 200.0, 30000.0})
    for (double p : {0.975, 0.9999, 1 - 1e-6}) {
      const double t = StudentTQuantile(p, df);
      EXPECT_NEAR(TMass(t, df), p - 0.5, 2e-3 * (1 - p)) << "df " << df << " p " << p;
    }
}

TEST(Esd, FastGeneralizedEsdMatchesNaive) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> g(0, 1);
  for (int trial = 0; trial < 30; ++trial) {
    const size_t n = 40 + trial * 7;
    std::vector<double> v(n);
    for (auto& x : v) x = std::round(g(rng) * 4) / 4;  // ties on purpose
    for (int j = 0; j < trial % 5; ++j) v[(j * 13 + trial) % n] += (j % 2 ? -1 : 1) * (6 + j);
    for (bool robust : {false, true}) {
      auto fast = GeneralizedEsd(v, n / 5, 0.05, robust);
      auto slow = NaiveEsd(v, n / 5, 0.05, robust);
      // Same points (order of ties between equal values may differ).
      std::vector<double> fv, sv;
      for (size_t i : fast) fv.push_back(v[i]);
      for (size_t i : slow) sv.push_back(v[i]);
      std::sort(fv.begin(), fv.end());
      std::sort(sv.begin(), sv.end());
      EXPECT_EQ(fv, sv) << "trial " << trial << " robust " << robust;
    }
  }
}

std::vector<double> SeasonalSeries(size_t n, int period, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, 0.3);
  std::vector<double> x(n);
  for (size_t i = 0; i < n; ++i)
    x[i] = 50 + 10 * std::sin(2 * M_PI * static_cast<double>(i % period) / period) + g(rng);
  return x;
}

TEST(Esd, SHEsdFindsInjectedSpikesInSeasonalSeries) {
  const int period = 48;
  auto x = SeasonalSeries(48 * 10, period, 1);
  const std::vector<size_t> spikes = {37, 150, 301, 420};
  // Spikes of 4 units: far smaller than the seasonal swing (20), so they
  // are only visible once the seasonal part is removed.
  for (size_t i : spikes) x[i] += (i % 2 ? 4.0 : -4.0);
  EsdOptions o;
  o.period = period;
  o.max_anomalies = 0.05;
  EsdResult r = SeasonalEsd(x, o);
  std::vector<size_t> got = r.anomalies;
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, spikes);
  // Without the seasonal part the spikes drown in the seasonal swing.
  o.period = 0;
  EsdResult flat = SeasonalEsd(x, o);
  size_t hits = 0;
  for (size_t i : spikes) hits += flat.flag[i];
  EXPECT_LT(hits, spikes.size());
  // S-ESD (mean/sd) also finds these isolated spikes.
  o.period = period;
  o.hybrid = false;
  EsdResult s = SeasonalEsd(x, o);
  for (size_t i : spikes) EXPECT_TRUE(s.flag[i]) << i;
  // Scores rank the spikes on top.
  std::vector<size_t> order(x.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return r.score[a] > r.score[b]; });
  std::vector<size_t> top(order.begin(), order.begin() + 4);
  std::sort(top.begin(), top.end());
  EXPECT_EQ(top, spikes);
}

TEST(Esd, HybridResistsAnomalyClusterThatMasksMeanSd) {
  // Many large outliers inflate the sd so that S-ESD's first steps fail the
  // test (masking); the median/MAD of S-H-ESD is not affected.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> g(0, 1);
  std::vector<double> x(200);
  for (auto& v : x) v = g(rng);
  for (int i = 0; i < 30; ++i) x[100 + i] = 12 + 0.1 * i;
  EsdOptions o;
  o.max_anomalies = 0.2;
  EsdResult h = SeasonalEsd(x, o);
  size_t hits = 0;
  for (int i = 0; i < 30; ++i) hits += h.flag[100 + i];
  EXPECT_EQ(hits, 30u);
  o.hybrid = false;
  EsdResult s = SeasonalEsd(x, o);
  size_t shits = 0;
  for (int i = 0; i < 30; ++i) shits += s.flag[100 + i];
  EXPECT_LE(shits, hits);
}

TEST(Esd, NaNIsLeftOutAndConstantSeriesHasNoAnomaly) {
  std::vector<double> x(100, 5.0);
  x[10] = kNaN;
  x[20] = std::numeric_limits<double>::infinity();
  EsdResult r = SeasonalEsd(x, {});
  EXPECT_EQ(r.valid, 98u);
  EXPECT_TRUE(r.anomalies.empty());
  EXPECT_TRUE(std::isnan(r.score[10]));
  EXPECT_TRUE(std::isnan(r.score[20]));
  EXPECT_EQ(r.score[0], 0.0);
  // A single spike in an otherwise constant series: MAD is 0, the fallback scale finds it.
  x[50] = 9;
  r = SeasonalEsd(x, {});
  ASSERT_EQ(r.anomalies.size(), 1u);
  EXPECT_EQ(r.anomalies[0], 50u);
  EXPECT_FALSE(r.flag[10]);
  // Empty and tiny inputs.
  EXPECT_TRUE(SeasonalEsd({}, {}).anomalies.empty());
  EXPECT_TRUE(SeasonalEsd({1.0, 100.0}, {}).anomalies.empty());
}

TEST(Esd, SeasonalMediansAreCentredAndNeedTwoPeriods) {
  std::vector<double> x;
  for (int i = 0; i < 40; ++i) x.push_back(i % 4 == 0 ? 10.0 : 0.0);
  auto s = SeasonalByPhaseMedians(x, 4);
  EXPECT_DOUBLE_EQ(s[0], 10.0);
  EXPECT_DOUBLE_EQ(s[1], 0.0);
  auto none = SeasonalByPhaseMedians(std::vector<double>(7, 1.0), 4);
  EXPECT_EQ(none, std::vector<double>(7, 0.0));
}

TEST(Esd, PiecewiseMedianFollowsLevelShift) {
  // A level shift halfway: a global median makes half the series look
  // anomalous; piecewise medians do not.
  std::mt19937_64 rng(5);
  std::normal_distribution<double> g(0, 1);
  std::vector<double> x(400);
  for (size_t i = 0; i < x.size(); ++i) x[i] = (i < 200 ? 0 : 40) + g(rng);
  x[300] += 10;
  EsdOptions o;
  o.piecewise = 200;
  EsdResult r = SeasonalEsd(x, o);
  ASSERT_FALSE(r.anomalies.empty());
  EXPECT_EQ(r.anomalies[0], 300u);
  EXPECT_LE(r.anomalies.size(), 3u);
}

TEST(Esd, WindowScoresTakeMaxOverFeatures) {
  std::vector<std::vector<double>> series(2, std::vector<double>(60));
  std::mt19937_64 rng(9);
  std::normal_distribution<double> g(0, 1);
  for (auto& s : series)
    for (auto& v : s) v = g(rng);
  series[1][17] = 25;
  series[0][40] = kNaN;
  series[1][40] = kNaN;
  EsdScores sc = ScoreSeriesEsd(series, {});
  ASSERT_EQ(sc.score.size(), 60u);
  EXPECT_EQ(sc.flag[17], 1);
  EXPECT_EQ(sc.top_feature[17], 1);
  EXPECT_TRUE(std::isnan(sc.score[40]));
  EXPECT_EQ(sc.top_feature[40], -1);
  size_t best = std::max_element(sc.score.begin(), sc.score.begin() + 40) - sc.score.begin();
  EXPECT_EQ(best, 17u);
  EXPECT_EQ(sc.votes[17], 1);
  EXPECT_EQ(sc.votes[40], 0);
}

TEST(Esd, VoteOutliersFlagOnlyUnusuallyManyVotes) {
  std::vector<int> votes(100, 1);
  for (size_t i = 0; i < votes.size(); i += 3) votes[i] = 2;
  votes[10] = 30;
  votes[11] = 25;
  votes[12] = 0;  // a low count is never an anomaly
  auto f = VoteOutlierFlags(votes, 0.05, 0.1);
  std::vector<size_t> got;
  for (size_t i = 0; i < f.size(); ++i)
    if (f[i]) got.push_back(i);
  EXPECT_EQ(got, (std::vector<size_t>{10, 11}));
}

}  // namespace
}  // namespace triad
