#include "eval/metrics.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_set>
#include <utility>

namespace triad {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

double Ratio(double num, double den) { return den == 0 ? 0.0 : num / den; }

// The points sharing one score, in decreasing score order; NaN scores form the
// last group (threshold NaN).
struct Group {
  double threshold;
  uint64_t pos = 0, neg = 0;
};

struct Grouped {
  std::vector<Group> groups;
  uint64_t pos = 0, neg = 0;
  size_t nan = 0;
};

Grouped GroupByScore(const std::vector<double>& scores, const std::vector<int>& labels) {
  assert(scores.size() == labels.size());
  const size_t n = std::min(scores.size(), labels.size());
  // (score, label) pairs sorted directly: far more cache-friendly than sorting
  // indices with an indirect comparison.
  std::vector<std::pair<double, bool>> order;
  order.reserve(n);
  Grouped g;
  uint64_t nan_pos = 0, nan_neg = 0;
  for (size_t i = 0; i < n; ++i) {
    const bool positive = labels[i] != 0;
    (positive ? g.pos : g.neg)++;
    if (std::isnan(scores[i])) {
      ++g.nan;
      (positive ? nan_pos : nan_neg)++;
    } else {
      order.emplace_back(scores[i], positive);
    }
  }
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  size_t distinct = order.empty() ? 0 : 1;
  for (size_t i = 1; i < order.size(); ++i) distinct += order[i].first != order[i - 1].first;
  g.groups.reserve(distinct + 1);
  for (const auto& [score, positive] : order) {
    if (g.groups.empty() || g.groups.back().threshold != score) g.groups.push_back(Group{score});
    (positive ? g.groups.back().pos : g.groups.back().neg)++;
  }
  if (g.nan > 0) {
    Group last{kNaN};
    last.pos = nan_pos;
    last.neg = nan_neg;
    g.groups.push_back(last);
  }
  return g;
}

}  // namespace

double Confusion::precision() const { return Ratio(tp, tp + fp); }
double Confusion::recall() const { return Ratio(tp, tp + fn); }
double Confusion::f1() const {
  // 2PR/(P+R) == 2tp / (2tp + fp + fn); the latter has no rounding issues.
  return Ratio(2.0 * tp, 2.0 * tp + fp + fn);
}
double Confusion::accuracy() const { return Ratio(tp + tn, total()); }
double Confusion::fpr() const { return Ratio(fp, fp + tn); }

Confusion Evaluate(const std::vector<int>& labels, const std::vector<int>& preds) {
  assert(labels.size() == preds.size());
  Confusion c;
  const size_t n = std::min(labels.size(), preds.size());
  for (size_t i = 0; i < n; ++i) {
    const bool l = labels[i] != 0, p = preds[i] != 0;
    if (l && p) ++c.tp;
    else if (!l && p) ++c.fp;
    else if (!l && !p) ++c.tn;
    else ++c.fn;
  }
  return c;
}

size_t CountNaN(const std::vector<double>& scores) {
  return static_cast<size_t>(
      std::count_if(scores.begin(), scores.end(), [](double s) { return std::isnan(s); }));
}

double RocAuc(const std::vector<double>& scores, const std::vector<int>& labels,
              size_t* nan_scores) {
  const Grouped g = GroupByScore(scores, labels);
  if (nan_scores != nullptr) *nan_scores = g.nan;
  if (g.pos == 0 || g.neg == 0) return kNaN;
  // U = sum over positives of (#negatives ranked below + 1/2 #negatives tied).
  // Walk groups from the highest score: negatives not yet seen rank below.
  double u = 0;
  uint64_t neg_above = 0;
  for (const Group& grp : g.groups) {
    const uint64_t neg_below = g.neg - neg_above - grp.neg;
    u += static_cast<double>(grp.pos) * (static_cast<double>(neg_below) + 0.5 * grp.neg);
    neg_above += grp.neg;
  }
  return u / (static_cast<double>(g.pos) * static_cast<double>(g.neg));
}

double PrAuc(const std::vector<double>& scores, const std::vector<int>& labels,
             size_t* nan_scores) {
  const Grouped g = GroupByScore(scores, labels);
  if (nan_scores != nullptr) *nan_scores = g.nan;
  if (g.pos == 0) return kNaN;
  double ap = 0, prev_recall = 0;
  uint64_t tp = 0, fp = 0;
  for (const Group& grp : g.groups) {
    tp += grp.pos;
    fp += grp.neg;
    const double recall = static_cast<double>(tp) / g.pos;
    const double precision = static_cast<double>(tp) / (tp + fp);
    ap += (recall - prev_recall) * precision;
    prev_recall = recall;
  }
  return ap;
}

std::vector<CurvePoint> RocCurve(const std::vector<double>& scores,
                                 const std::vector<int>& labels) {
  const Grouped g = GroupByScore(scores, labels);
  std::vector<CurvePoint> out;
  if (g.pos == 0 || g.neg == 0) return out;
  out.reserve(g.groups.size() + 1);
  out.push_back({kInf, 0.0, 0.0});
  uint64_t tp = 0, fp = 0;
  for (const Group& grp : g.groups) {
    tp += grp.pos;
    fp += grp.neg;
    out.push_back({grp.threshold, static_cast<double>(fp) / g.neg,
                   static_cast<double>(tp) / g.pos});
  }
  return out;
}

std::vector<CurvePoint> PrCurve(const std::vector<double>& scores,
                                const std::vector<int>& labels) {
  const Grouped g = GroupByScore(scores, labels);
  std::vector<CurvePoint> out;
  if (g.pos == 0) return out;
  out.reserve(g.groups.size() + 1);
  out.push_back({kInf, 0.0, 1.0});
  uint64_t tp = 0, fp = 0;
  for (const Group& grp : g.groups) {
    tp += grp.pos;
    fp += grp.neg;
    out.push_back({grp.threshold, static_cast<double>(tp) / g.pos,
                   static_cast<double>(tp) / (tp + fp)});
  }
  return out;
}

BestF1 BestF1OverThresholds(const std::vector<double>& scores, const std::vector<int>& labels) {
  const Grouped g = GroupByScore(scores, labels);
  BestF1 best;
  best.threshold = kInf;
  best.nan_scores = g.nan;
  uint64_t tp = 0, fp = 0;
  for (const Group& grp : g.groups) {
    if (std::isnan(grp.threshold)) break;  // score >= t never holds for NaN
    tp += grp.pos;
    fp += grp.neg;
    Confusion c;
    c.tp = tp;
    c.fp = fp;
    c.fn = g.pos - tp;
    const double f1 = c.f1();
    if (f1 > best.f1) {
      best.f1 = f1;
      best.precision = c.precision();
      best.recall = c.recall();
      best.threshold = grp.threshold;
    }
  }
  return best;
}

std::vector<int> PointAdjust(const std::vector<int>& labels, const std::vector<int>& preds) {
  assert(labels.size() == preds.size());
  const size_t n = std::min(labels.size(), preds.size());
  std::vector<int> out(preds.begin(), preds.begin() + n);
  size_t i = 0;
  while (i < n) {
    if (labels[i] == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    bool hit = false;
    while (j < n && labels[j] != 0) hit |= preds[j++] != 0;
    if (hit) std::fill(out.begin() + i, out.begin() + j, 1);
    i = j;
  }
  return out;
}

double EventResult::recall() const { return Ratio(detected, events); }

double EventResult::mean_delay_s() const {
  if (delays_s.empty()) return kNaN;
  return std::accumulate(delays_s.begin(), delays_s.end(), 0.0) / delays_s.size();
}

double EventResult::median_delay_s() const {
  if (delays_s.empty()) return kNaN;
  std::vector<double> d = delays_s;
  std::sort(d.begin(), d.end());
  const size_t m = d.size() / 2;
  return d.size() % 2 == 1 ? d[m] : 0.5 * (d[m - 1] + d[m]);
}

EventResult EvaluateEvents(const std::vector<TimeRange>& events, const std::vector<Alarm>& alarms,
                           TimeNs grace) {
  if (grace < 0) grace = 0;
  std::vector<TimeNs> times;
  times.reserve(alarms.size());
  for (const Alarm& a : alarms) times.push_back(a.time);
  std::sort(times.begin(), times.end());

  // Effective windows [start, end + grace), saturating instead of overflowing.
  auto window_end = [grace](const TimeRange& r) {
    const TimeNs end = std::max(r.start, r.end);
    return end > std::numeric_limits<TimeNs>::max() - grace ? std::numeric_limits<TimeNs>::max()
                                                            : end + grace;
  };

  EventResult res;
  res.events = events.size();
  for (const TimeRange& r : events) {
    const TimeNs wend = window_end(r);
    auto it = std::lower_bound(times.begin(), times.end(), r.start);
    if (it != times.end() && *it < wend) {
      ++res.detected;
      res.delays_s.push_back(static_cast<double>(*it - r.start) / kNsPerSec);
    }
  }

  // False alarms: merge the windows, then sweep the sorted alarm times.
  std::vector<std::pair<TimeNs, TimeNs>> windows;
  windows.reserve(events.size());
  for (const TimeRange& r : events) {
    const TimeNs wend = window_end(r);
    if (wend > r.start) windows.emplace_back(r.start, wend);
  }
  std::sort(windows.begin(), windows.end());
  std::vector<std::pair<TimeNs, TimeNs>> merged;
  for (const auto& w : windows) {
    if (!merged.empty() && w.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, w.second);
    } else {
      merged.push_back(w);
    }
  }
  size_t k = 0;
  for (TimeNs t : times) {
    while (k < merged.size() && merged[k].second <= t) ++k;
    if (k == merged.size() || t < merged[k].first) ++res.false_alarms;
  }
  return res;
}

double TopKAccuracy(const std::vector<std::vector<std::string>>& ranked,
                    const std::vector<std::vector<std::string>>& truth, int k) {
  assert(ranked.size() == truth.size());
  const size_t n = std::min(ranked.size(), truth.size());
  if (n == 0 || k <= 0) return 0;
  size_t hits = 0;
  for (size_t i = 0; i < n; ++i) {
    const std::unordered_set<std::string> t(truth[i].begin(), truth[i].end());
    const size_t lim = std::min(ranked[i].size(), static_cast<size_t>(k));
    for (size_t j = 0; j < lim; ++j) {
      if (t.count(ranked[i][j]) > 0) {
        ++hits;
        break;
      }
    }
  }
  return static_cast<double>(hits) / n;
}

namespace {

// Sorted (decreasing) non-NaN scores, their label weights in the same order,
// and the sampled thresholds, shared by every buffer size.
struct RangeCurveInput {
  std::vector<size_t> order;       // indices of non-NaN scores, decreasing score
  std::vector<double> thresholds;  // decreasing
};

RangeCurveInput PrepareRange(const std::vector<double>& scores, int thresholds) {
  RangeCurveInput in;
  for (size_t i = 0; i < scores.size(); ++i)
    if (!std::isnan(scores[i])) in.order.push_back(i);
  std::stable_sort(in.order.begin(), in.order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  const size_t m = in.order.size();
  if (m == 0) return in;
  std::vector<double> distinct;
  for (size_t k = 0; k < m; ++k)
    if (distinct.empty() || scores[in.order[k]] != distinct.back()) distinct.push_back(scores[in.order[k]]);
  if (distinct.size() <= static_cast<size_t>(thresholds)) {
    in.thresholds = distinct;
  } else {
    for (int j = 0; j < thresholds; ++j) {
      const size_t k = static_cast<size_t>(static_cast<double>(j) * static_cast<double>(m - 1) /
                                           static_cast<double>(thresholds - 1));
      in.thresholds.push_back(scores[in.order[k]]);
    }
  }
  return in;
}

double RangePrAucPrepared(const std::vector<double>& scores, const std::vector<int>& labels,
                          int buffer, const RangeCurveInput& in) {
  const size_t n = labels.size();
  std::vector<double> cont(n, 0.0);
  double positives = 0;
  for (size_t i = 0; i < n; ++i)
    if (labels[i] != 0) {
      cont[i] = 1.0;
      positives += 1;
    }
  if (positives == 0) return std::numeric_limits<double>::quiet_NaN();
  if (buffer > 1) {
    const size_t slope = static_cast<size_t>(buffer / 2);
    std::vector<double> add(n, 0.0);
    for (size_t i = 0; i < n;) {
      if (labels[i] == 0) {
        ++i;
        continue;
      }
      size_t e = i;
      while (e + 1 < n && labels[e + 1] != 0) ++e;
      for (size_t x = e + 1; x < std::min(e + slope, n); ++x)
        add[x] += std::sqrt(1.0 - static_cast<double>(x - e) / buffer);
      for (size_t x = i > slope ? i - slope : 0; x < i; ++x)
        add[x] += std::sqrt(1.0 - static_cast<double>(i - x) / buffer);
      i = e + 1;
    }
    for (size_t i = 0; i < n; ++i) cont[i] = std::min(1.0, cont[i] + add[i]);
  }
  double cont_sum = 0;
  for (double c : cont) cont_sum += c;
  const double p = 0.5 * (positives + cont_sum);
  // Ranges (runs of cont > 0) and the highest score inside each.
  std::vector<double> range_max;
  for (size_t i = 0; i < n;) {
    if (cont[i] <= 0) {
      ++i;
      continue;
    }
    double mx = -std::numeric_limits<double>::infinity();
    bool any = false;
    for (; i < n && cont[i] > 0; ++i)
      if (!std::isnan(scores[i])) {
        mx = any ? std::max(mx, scores[i]) : scores[i];
        any = true;
      }
    range_max.push_back(any ? mx : std::numeric_limits<double>::quiet_NaN());
  }
  // Prefix sums of cont over the decreasing-score order.
  std::vector<double> tp_prefix(in.order.size() + 1, 0.0);
  for (size_t k = 0; k < in.order.size(); ++k) tp_prefix[k + 1] = tp_prefix[k] + cont[in.order[k]];
  double prev_r = 0, prev_p = 1, area = 0;
  for (double t : in.thresholds) {
    // Predicted: the prefix of scores >= t.
    const size_t k = static_cast<size_t>(
        std::partition_point(in.order.begin(), in.order.end(), [&](size_t i) { return scores[i] >= t; }) -
        in.order.begin());
    const double tp = tp_prefix[k];
    size_t hit = 0;
    for (double mx : range_max) hit += !std::isnan(mx) && mx >= t;
    const double existence = range_max.empty() ? 0.0 : static_cast<double>(hit) / range_max.size();
    const double recall = std::min(tp / p, 1.0) * existence;
    const double precision = k > 0 ? tp / static_cast<double>(k) : 0.0;
    area += (recall - prev_r) * (precision + prev_p) / 2;
    prev_r = recall;
    prev_p = precision;
  }
  return area;
}

}  // namespace

double RangePrAuc(const std::vector<double>& scores, const std::vector<int>& labels, int buffer,
                  int thresholds) {
  assert(scores.size() == labels.size() && buffer >= 0 && thresholds >= 2);
  return RangePrAucPrepared(scores, labels, buffer, PrepareRange(scores, thresholds));
}

double VusPr(const std::vector<double>& scores, const std::vector<int>& labels, int max_buffer,
             int thresholds) {
  assert(scores.size() == labels.size() && max_buffer >= 0 && thresholds >= 2);
  const RangeCurveInput in = PrepareRange(scores, thresholds);
  double sum = 0;
  for (int b = 0; b <= max_buffer; ++b) {
    const double a = RangePrAucPrepared(scores, labels, b, in);
    if (std::isnan(a)) return a;
    sum += a;
  }
  return sum / (max_buffer + 1);
}

}  // namespace triad
