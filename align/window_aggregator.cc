#include "align/window_aggregator.h"

#include <fmt/core.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <functional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "align/counter_rate.h"
#include "align/log_key.h"

namespace triad {
namespace {

constexpr TimeNs kMinPlausible = 946684800LL * kNsPerSec;   // 2000-01-01
constexpr TimeNs kMaxPlausible = 7258118400LL * kNsPerSec;  // 2200-01-01
constexpr const char* kUnknownService = "unknown";

bool Plausible(TimeNs t) { return t >= kMinPlausible && t < kMaxPlausible; }

// Linear interpolation between closest ranks. REQUIRES: !v.empty().
double Quantile(std::vector<double>& v, double q) {
  assert(!v.empty());
  std::sort(v.begin(), v.end());
  double pos = q * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, v.size() - 1);
  double frac = pos - static_cast<double>(lo);
  return v[lo] + (v[hi] - v[lo]) * frac;
}

uint64_t SpanKey(const std::string& trace_id, const std::string& span_id) {
  uint64_t h1 = std::hash<std::string>{}(trace_id);
  uint64_t h2 = std::hash<std::string>{}(span_id);
  return h1 ^ (h2 + 0x9e3779b97f4a7c15ULL + (h1 << 6) + (h1 >> 2));
}

struct Cell {
  uint64_t logs = 0, log_errors = 0, log_warns = 0;
  std::map<std::string, uint64_t> templates;
  uint64_t spans = 0, error_spans = 0;
  std::vector<double> served_ms;
  std::map<std::string, std::vector<double>> op_ms;
  std::map<std::string, uint64_t> callees;
  std::map<std::string, std::pair<double, uint64_t>> gauges;  // sum, n
  std::map<std::string, std::pair<double, double>> hist;      // d(sum), d(count)
  std::map<std::string, double> rates;                        // summed over series
};

struct HistPoint {
  TimeNs time;
  double sum;
  double count;
};

struct Series {
  int svc = 0;
  std::string name;
  MetricKind kind = MetricKind::kCounter;
  std::vector<CounterPoint> counter;
  std::vector<HistPoint> hist;
};

struct PendingChild {
  uint64_t parent_key;
  int svc;
  int64_t widx;
};

struct PendingPeer {
  uint64_t span_key;
  int svc;
  int64_t widx;
  std::string peer;
};

}  // namespace

struct WindowAggregator::Impl {
  std::vector<std::string> services;
  std::unordered_map<std::string, int> service_ids;
  std::map<std::pair<int, int64_t>, Cell> cells;
  struct Occupancy {
    uint64_t n = 0;
    TimeNs min = INT64_MAX, max = INT64_MIN;
  };
  std::map<int64_t, Occupancy> records_per_window;
  void Note(int64_t widx, TimeNs t) {
    Occupancy& o = records_per_window[widx];
    ++o.n;
    o.min = std::min(o.min, t);
    o.max = std::max(o.max, t);
  }
  std::vector<std::map<std::string, std::string>> examples;  // per service: key -> example
  std::vector<std::unordered_set<std::string>> ops;          // per service
  std::unordered_map<std::string, Series> series;
  std::unordered_map<uint64_t, int> span_owner;
  std::vector<PendingChild> children;
  std::vector<PendingPeer> peers;
  bool finished = false;

  int Service(const std::string& name) {
    const std::string& n = name.empty() ? std::string(kUnknownService) : name;
    auto it = service_ids.find(n);
    if (it != service_ids.end()) return it->second;
    int id = static_cast<int>(services.size());
    services.push_back(n);
    service_ids.emplace(n, id);
    examples.emplace_back();
    ops.emplace_back();
    return id;
  }
  Cell& At(int svc, int64_t widx) { return cells[{svc, widx}]; }
};

TimeNs WindowStart(TimeNs t, TimeNs window, TimeNs origin) {
  assert(window > 0);
  TimeNs d = t - origin;
  TimeNs k = d / window;
  if (d % window != 0 && d < 0) --k;  // floor division
  return origin + k * window;
}

WindowAggregator::WindowAggregator(AlignOptions opts) : opts_(opts), impl_(new Impl) {
  assert(opts_.window > 0);
}

WindowAggregator::~WindowAggregator() = default;

static int64_t WindowIndex(TimeNs t, const AlignOptions& o) {
  return (WindowStart(t, o.window, o.origin) - o.origin) / o.window;
}

void WindowAggregator::OnSpan(Span&& s) {
  assert(!impl_->finished);
  if (!Plausible(s.start)) {
    stats_.Skip("align", 0, fmt::format("span {} of '{}': implausible start time {} ns", s.span_id,
                                        s.service, s.start));
    return;
  }
  ++stats_.records;
  int svc = impl_->Service(s.service);
  int64_t widx = WindowIndex(s.start, opts_);
  impl_->Note(widx, s.start);
  Cell& c = impl_->At(svc, widx);
  ++c.spans;
  if (s.is_error()) ++c.error_spans;
  bool served = s.kind == SpanKind::kServer || s.kind == SpanKind::kConsumer ||
                s.kind == SpanKind::kUnspecified;
  if (served && s.end >= s.start) {
    double ms = static_cast<double>(s.end - s.start) / kNsPerMs;
    c.served_ms.push_back(ms);
    std::string op = MaskLogKey(s.name, 100);
    auto& known = impl_->ops[svc];
    if (!known.count(op)) {
      if (known.size() >= opts_.max_operations) {
        op = "<other>";
      } else {
        known.insert(op);
      }
    }
    c.op_ms[op].push_back(ms);
  }
  if (!s.span_id.empty()) impl_->span_owner[SpanKey(s.trace_id, s.span_id)] = svc;
  if (!s.parent_span_id.empty())
    impl_->children.push_back({SpanKey(s.trace_id, s.parent_span_id), svc, widx});
  if ((s.kind == SpanKind::kClient || s.kind == SpanKind::kProducer) && !s.peer.empty() &&
      s.peer != impl_->services[svc])
    impl_->peers.push_back({SpanKey(s.trace_id, s.span_id), svc, widx, s.peer});
}

void WindowAggregator::OnLog(LogRecord&& l) {
  assert(!impl_->finished);
  TimeNs t = l.time != 0 ? l.time : l.observed_time;
  if (!Plausible(t)) {
    stats_.Skip("align", 0, fmt::format("log of '{}': implausible time {} ns", l.service, t));
    return;
  }
  ++stats_.records;
  int svc = impl_->Service(l.service);
  int64_t widx = WindowIndex(t, opts_);
  impl_->Note(widx, t);
  Cell& c = impl_->At(svc, widx);
  ++c.logs;
  int sev = l.severity_number != 0 ? l.severity_number : SeverityFromText(l.severity_text);
  if (IsErrorSeverity(sev)) {
    ++c.log_errors;
  } else if (sev >= 13 && sev <= 16) {
    ++c.log_warns;
  }
  std::string key = MaskLogKey(l.body);
  auto& ex = impl_->examples[svc];
  if (!ex.count(key)) {
    std::string e = l.body.substr(0, 300);
    for (char& ch : e)
      if (ch == '\n' || ch == '\r') ch = ' ';
    ex.emplace(key, std::move(e));
  }
  ++c.templates[key];
}

void WindowAggregator::OnMetric(MetricSample&& m) {
  assert(!impl_->finished);
  if (!Plausible(m.time)) {
    stats_.Skip("align", 0,
                fmt::format("metric {} of '{}': implausible time {} ns", m.name, m.service, m.time));
    return;
  }
  if (!std::isfinite(m.value)) {
    stats_.Skip("align", 0, fmt::format("metric {} of '{}': non-finite value", m.name, m.service));
    return;
  }
  ++stats_.records;
  const std::string& sname = !m.service.empty() ? m.service : m.instance;
  int svc = impl_->Service(sname);
  int64_t widx = WindowIndex(m.time, opts_);
  impl_->Note(widx, m.time);
  if (m.kind == MetricKind::kGauge) {
    auto& g = impl_->At(svc, widx).gauges[m.name];
    g.first += m.value;
    ++g.second;
    return;
  }
  Series& s = impl_->series[MetricSeriesKey(m)];
  s.svc = svc;
  s.name = m.name;
  s.kind = m.kind;
  impl_->At(svc, widx);  // the window exists even if no rate can be computed yet
  if (m.kind == MetricKind::kCounter) {
    s.counter.push_back({m.time, m.value});
  } else {
    s.hist.push_back({m.time, m.value, static_cast<double>(m.count)});
  }
}

std::vector<WindowFeatures> WindowAggregator::Finish() {
  Impl& im = *impl_;
  assert(!im.finished);
  im.finished = true;

  // 1. Clock skew: keep the largest cluster of occupied windows.
  int64_t keep_lo = 0, keep_hi = -1;
  if (!im.records_per_window.empty()) {
    int64_t gap_windows = opts_.max_gap > 0 ? std::max<int64_t>(1, opts_.max_gap / opts_.window)
                                            : INT64_MAX;
    struct Cluster {
      int64_t lo, hi;
      uint64_t n;
    };
    std::vector<Cluster> clusters;
    for (const auto& [w, o] : im.records_per_window) {
      if (clusters.empty() || w - clusters.back().hi > gap_windows) {
        clusters.push_back({w, w, o.n});
      } else {
        clusters.back().hi = w;
        clusters.back().n += o.n;
      }
    }
    size_t best = 0;
    for (size_t i = 1; i < clusters.size(); ++i)
      if (clusters[i].n > clusters[best].n) best = i;
    keep_lo = clusters[best].lo;
    keep_hi = clusters[best].hi;
    min_time_ = im.records_per_window.at(keep_lo).min;
    max_time_ = im.records_per_window.at(keep_hi).max;
    for (size_t i = 0; i < clusters.size(); ++i) {
      if (i == best) continue;
      const Cluster& c = clusters[i];
      stats_.Skip("align", 0,
                  fmt::format("{} records in windows starting at {} ns lie more than {} s away "
                              "from the rest of the data (clock skew?)",
                              c.n, opts_.origin + c.lo * opts_.window,
                              opts_.max_gap / kNsPerSec));
      stats_.skipped += c.n - 1;
      stats_.records -= std::min(stats_.records, c.n);
    }
  }
  auto kept = [&](int64_t w) { return w >= keep_lo && w <= keep_hi; };

  // 2. Counters and histograms -> rates and means.
  for (auto& [key, s] : im.series) {
    if (s.kind == MetricKind::kCounter) {
      std::vector<CounterPoint> pts;
      for (const auto& p : s.counter)
        if (kept(WindowIndex(p.time, opts_))) pts.push_back(p);
      std::map<int64_t, std::pair<double, double>> per_window;  // delta, dt seconds
      for (const CounterIncrease& inc : CounterIncreases(std::move(pts))) {
        auto& pw = per_window[WindowIndex(inc.time, opts_)];
        pw.first += inc.delta;
        pw.second += static_cast<double>(inc.dt) / kNsPerSec;
      }
      for (const auto& [w, d] : per_window)
        if (d.second > 0) im.At(s.svc, w).rates[s.name] += d.first / d.second;
    } else {
      std::vector<HistPoint> pts;
      for (const auto& p : s.hist)
        if (kept(WindowIndex(p.time, opts_))) pts.push_back(p);
      std::stable_sort(pts.begin(), pts.end(),
                       [](const HistPoint& a, const HistPoint& b) { return a.time < b.time; });
      for (size_t i = 1; i < pts.size(); ++i) {
        const HistPoint& a = pts[i - 1];
        const HistPoint& b = pts[i];
        if (b.time == a.time) continue;
        double dsum, dcount;
        if (b.count < a.count || b.sum < a.sum) {  // reset
          dsum = b.sum;
          dcount = b.count;
        } else {
          dsum = b.sum - a.sum;
          dcount = b.count - a.count;
        }
        auto& h = im.At(s.svc, WindowIndex(b.time, opts_)).hist[s.name];
        h.first += dsum;
        h.second += dcount;
      }
    }
  }
  im.series.clear();

  // 3. Call edges.
  std::unordered_set<uint64_t> remote_parents;
  for (const PendingChild& ch : im.children) {
    auto it = im.span_owner.find(ch.parent_key);
    if (it == im.span_owner.end() || it->second == ch.svc || !kept(ch.widx)) continue;
    ++im.At(it->second, ch.widx).callees[im.services[ch.svc]];
    remote_parents.insert(ch.parent_key);
  }
  for (const PendingPeer& p : im.peers) {
    if (remote_parents.count(p.span_key) || !kept(p.widx)) continue;
    ++im.At(p.svc, p.widx).callees[p.peer];
  }
  im.children.clear();
  im.peers.clear();
  im.span_owner.clear();

  // 4. Features.
  std::vector<WindowFeatures> out;
  for (auto& [k, c] : im.cells) {
    if (!kept(k.second)) continue;
    WindowFeatures w;
    w.service = im.services[k.first];
    w.start = opts_.origin + k.second * opts_.window;
    w.end = w.start + opts_.window;
    auto& f = w.features;
    if (c.logs > 0) {
      f["log:count"] = static_cast<double>(c.logs);
      f["log:error"] = static_cast<double>(c.log_errors);
      f["log:warn"] = static_cast<double>(c.log_warns);
      const auto& ex = im.examples[k.first];
      for (const auto& [key, n] : c.templates) {
        w.templates[key] = n;
        auto it = ex.find(key);
        if (it != ex.end()) w.template_examples[key] = it->second;
      }
    }
    if (c.spans > 0) {
      f["trace:spans"] = static_cast<double>(c.spans);
      f["trace:error_ratio"] = static_cast<double>(c.error_spans) / static_cast<double>(c.spans);
    }
    if (!c.served_ms.empty()) {
      f["trace:p50_ms"] = Quantile(c.served_ms, 0.50);
      f["trace:p95_ms"] = Quantile(c.served_ms, 0.95);
      f["trace:p99_ms"] = Quantile(c.served_ms, 0.99);
    }
    for (auto& [op, v] : c.op_ms) {
      f["op:" + op + ":p50_ms"] = Quantile(v, 0.50);
      f["op:" + op + ":p95_ms"] = Quantile(v, 0.95);
    }
    for (const auto& [name, g] : c.gauges)
      f["metric:" + name] = g.first / static_cast<double>(g.second);
    for (const auto& [name, r] : c.rates) f["metric:" + name + ":rate"] = r;
    for (const auto& [name, h] : c.hist)
      if (h.second > 0) f["metric:" + name + ":mean"] = h.first / h.second;
    w.callees = std::move(c.callees);
    if (f.empty() && w.callees.empty()) continue;  // e.g. only a counter's first sample
    out.push_back(std::move(w));
  }
  im.cells.clear();
  std::sort(out.begin(), out.end(), [](const WindowFeatures& a, const WindowFeatures& b) {
    return a.start != b.start ? a.start < b.start : a.service < b.service;
  });
  return out;
}

std::vector<WindowFeatures> DropPartialEdgeWindows(std::vector<WindowFeatures> windows,
                                                   TimeNs min_time, TimeNs max_time,
                                                   TimeNs slack) {
  std::vector<WindowFeatures> out;
  for (auto& w : windows)
    if (w.start >= min_time - slack && w.end <= max_time + slack) out.push_back(std::move(w));
  return out;
}

std::string MetricSeriesKey(const MetricSample& m) {
  std::string key = !m.service.empty() ? m.service : m.instance;
  key += '\x1f';
  key += m.instance;
  key += '\x1f';
  key += m.name;
  for (const auto& kv : m.labels) {
    key += '\x1f';
    key += kv.first;
    key += '=';
    key += kv.second;
  }
  key += m.kind == MetricKind::kCounter ? "\x1f" "c" : "\x1f" "h";
  return key;
}

bool PlausibleEventTime(TimeNs t) { return Plausible(t); }

std::vector<WindowFeatures> WindowsInRange(const std::vector<WindowFeatures>& windows,
                                           TimeNs from, TimeNs to) {
  std::vector<WindowFeatures> out;
  for (const auto& w : windows)
    if (w.start >= from && w.start < to) out.push_back(w);
  return out;
}

}  // namespace triad
