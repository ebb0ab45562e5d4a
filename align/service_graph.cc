#include "align/service_graph.h"

#include <fmt/core.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "align/window_aggregator.h"
#include "ingest/dataset_csv.h"

namespace triad {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::string ServiceOf(const std::string& service, const std::string& instance) {
  if (!service.empty()) return service;
  if (!instance.empty()) return ServiceFromPodName(instance);
  return "unknown";
}

bool IsServed(SpanKind k) {
  return k == SpanKind::kServer || k == SpanKind::kConsumer || k == SpanKind::kUnspecified;
}

// Linear interpolation between closest ranks of a sorted, non-empty vector.
double SortedQuantile(const std::vector<double>& sorted, double q) {
  assert(!sorted.empty());
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

// First grid point origin + k*step that is >= t.
TimeNs CeilToGrid(TimeNs t, TimeNs step, TimeNs origin) {
  const TimeNs s = WindowStart(t, step, origin);
  return s == t ? s : s + step;
}

struct SpanRec {
  std::string trace_id, span_id, parent_span_id;
  std::string service;
  std::string peer;
  TimeNs start = 0;
  double ms = 0;
  SpanKind kind = SpanKind::kUnspecified;
  bool error = false;
};

}  // namespace

std::string ServiceGraphStats::Summary() const {
  return fmt::format(
      "{} spans ({} served), {} logs, {} metric samples; {} missing parents, {} duplicate span "
      "ids, {} self-calls, {} peer calls, {} out of range",
      spans, served_spans, logs, metric_samples, missing_parent, duplicate_span_id, self_calls,
      peer_calls, out_of_range);
}

int ServiceGraphSeries::ServiceIndex(std::string_view name) const {
  auto it = std::lower_bound(services.begin(), services.end(), name);
  return it != services.end() && *it == name ? static_cast<int>(it - services.begin()) : -1;
}

int ServiceGraphSeries::ColumnIndex(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return static_cast<int>(i);
  return -1;
}

std::string ServiceGraphSeries::ColumnName(int v, int f) const {
  const std::string& c = columns[f];
  if (c.rfind("log:top", 0) == 0 && v >= 0 && v < static_cast<int>(slot_templates.size())) {
    const int k = std::atoi(c.c_str() + 7) - 1;
    if (k >= 0 && k < static_cast<int>(slot_templates[v].size())) {
      const uint32_t id = slot_templates[v][k];
      auto it = template_text.find(id);
      if (id != 0 && it != template_text.end()) return c + " [" + it->second + "]";
    }
  }
  return c;
}

struct ServiceGraphBuilder::Impl {
  std::unique_ptr<LogMetricWindowBuilder> lm;
  std::vector<SpanRec> spans;
  ReadStats span_skips;
  TimeNs span_min = std::numeric_limits<TimeNs>::max();
  TimeNs span_max = std::numeric_limits<TimeNs>::min();
};

ServiceGraphBuilder::ServiceGraphBuilder(ServiceGraphOptions opts, DrainConfig drain)
    : opts_(opts), impl_(std::make_unique<Impl>()) {
  assert(opts_.step > 0 && opts_.top_templates >= 0);
  LogMetricOptions lo;
  lo.tau = opts_.step;
  lo.step = opts_.step;
  lo.origin = opts_.origin;
  lo.from = opts_.from;
  lo.to = opts_.to;
  lo.metric_steps = 1;
  lo.max_log_len = std::numeric_limits<size_t>::max();
  lo.counter_rates = opts_.counter_rates;
  lo.per_service = true;
  lo.system = false;
  impl_->lm = std::make_unique<LogMetricWindowBuilder>(lo, drain);
}

ServiceGraphBuilder::~ServiceGraphBuilder() = default;

void ServiceGraphBuilder::SetParser(std::unique_ptr<DrainParser> parser, bool learn) {
  impl_->lm->SetParser(std::move(parser), learn);
}

void ServiceGraphBuilder::OnLog(LogRecord&& log) { impl_->lm->OnLog(std::move(log)); }

void ServiceGraphBuilder::OnMetric(MetricSample&& sample) {
  impl_->lm->OnMetric(std::move(sample));
}

void ServiceGraphBuilder::OnSpan(Span&& s) {
  Impl& im = *impl_;
  if (s.start == 0) {
    im.span_skips.Skip("span:" + s.trace_id, im.spans.size() + im.span_skips.skipped + 1,
                       "span without a start time");
    return;
  }
  ++im.span_skips.records;
  SpanRec r;
  r.trace_id = std::move(s.trace_id);
  r.span_id = std::move(s.span_id);
  r.parent_span_id = std::move(s.parent_span_id);
  r.service = ServiceOf(s.service, s.instance);
  r.peer = std::move(s.peer);
  r.start = s.start;
  r.ms = static_cast<double>(std::max<TimeNs>(0, s.duration())) / kNsPerMs;
  r.kind = s.kind;
  r.error = s.is_error();
  im.span_min = std::min(im.span_min, r.start);
  im.span_max = std::max(im.span_max, r.start);
  im.spans.push_back(std::move(r));
}

ReadStats ServiceGraphBuilder::read_stats() const {
  ReadStats r = impl_->lm->read_stats();
  r.Merge(impl_->span_skips);
  return r;
}

Status ServiceGraphBuilder::Build(ServiceGraphSeries* out) {
  Impl& im = *impl_;
  const TimeNs step = opts_.step;
  std::vector<LogMetricWindow> wins = im.lm->Build();
  const LogMetricStats& ls = im.lm->stats();
  ServiceGraphStats st;
  st.spans = im.spans.size();
  st.logs = ls.logs;
  st.metric_samples = ls.metric_samples;
  st.out_of_range = ls.out_of_range;

  // Time grid.
  TimeNs first, last;  // step starts, inclusive
  if (opts_.to > opts_.from) {
    first = CeilToGrid(opts_.from, step, opts_.origin);
    last = CeilToGrid(opts_.to, step, opts_.origin) - step;
  } else {
    TimeNs lo = im.span_min, hi = im.span_max;
    for (const auto& w : wins) {
      if (w.log_count == 0 && w.metric_samples == 0) continue;
      lo = std::min(lo, w.start);
      hi = std::max(hi, w.start);
    }
    if (lo > hi) return Status::InvalidArgument("service graph: no record with a time");
    first = WindowStart(lo, step, opts_.origin);
    last = WindowStart(hi, step, opts_.origin);
  }
  if (last < first) return Status::InvalidArgument("service graph: empty time range");
  const int steps = static_cast<int>((last - first) / step + 1);
  auto step_of = [&](TimeNs t) -> int {
    if (t < first || t >= last + step) return -1;
    return static_cast<int>((t - first) / step);
  };

  // Services and columns.
  std::set<std::string> svc_set;
  for (const auto& s : im.spans) svc_set.insert(s.service);
  for (const auto& w : wins) svc_set.insert(w.scope);
  std::set<std::string> metric_names;
  const MetricSchema& schema = im.lm->schema();
  for (const auto& [scope, feats] : schema.features) {
    svc_set.insert(scope);
    metric_names.insert(feats.begin(), feats.end());
  }
  ServiceGraphSeries s;
  s.start = first;
  s.step = step;
  s.steps = steps;
  s.services.assign(svc_set.begin(), svc_set.end());
  for (const auto& m : metric_names) s.columns.push_back("metric:" + m);
  const int c_log_count = static_cast<int>(s.columns.size());
  s.columns.push_back("log:count");
  s.columns.push_back("log:error_rate");
  const int K = opts_.top_templates;
  for (int k = 1; k <= K; ++k) s.columns.push_back(fmt::format("log:top{}", k));
  s.columns.push_back("log:other");
  const int c_span = static_cast<int>(s.columns.size());
  for (const char* c : {"span:count", "span:error_rate", "span:p50_ms", "span:p95_ms", "span:mean_ms"})
    s.columns.push_back(c);
  const int N = s.num_services(), d = s.dims();
  s.x.assign(static_cast<size_t>(steps) * N * d, kNaN);
  s.mask.assign(s.x.size(), 0);
  auto set = [&](int t, int v, int f, double value) {
    s.x[s.Index(t, v, f)] = static_cast<float>(value);
    s.mask[s.Index(t, v, f)] = 1;
  };

  // Template slots: the service's K most frequent templates over the input.
  std::vector<std::map<uint32_t, uint64_t>> tcount(N);
  std::vector<uint64_t> nlogs(N, 0);
  for (const auto& w : wins) {
    const int v = s.ServiceIndex(w.scope);
    for (uint32_t id : w.templates) ++tcount[v][id];
    nlogs[v] += w.log_count;
  }
  s.slot_templates.assign(N, std::vector<uint32_t>(K, 0));
  std::vector<std::unordered_map<uint32_t, int>> slot_of(N);
  for (int v = 0; v < N; ++v) {
    std::vector<std::pair<uint64_t, uint32_t>> ranked;
    for (const auto& [id, n] : tcount[v])
      if (id != 0) ranked.push_back({n, id});
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    for (int k = 0; k < K && k < static_cast<int>(ranked.size()); ++k) {
      const uint32_t id = ranked[k].second;
      s.slot_templates[v][k] = id;
      slot_of[v][id] = k;
      if (id <= im.lm->parser().num_templates()) s.template_text[id] = im.lm->parser().TemplateText(id);
    }
  }

  // Logs and metrics from the per-step windows.
  for (int v = 0; v < N; ++v) {
    if (nlogs[v] == 0) continue;
    for (int t = 0; t < steps; ++t)
      for (int f = c_log_count; f < c_span; ++f)
        if (f != c_log_count + 1) set(t, v, f, 0);
  }
  for (const auto& w : wins) {
    const int t = step_of(w.start);
    if (t < 0) continue;
    const int v = s.ServiceIndex(w.scope);
    auto fit = schema.features.find(w.scope);
    if (fit != schema.features.end()) {
      for (int f = 0; f < w.dims; ++f) {
        if (!w.observed(0, f) || !std::isfinite(w.value(0, f))) continue;
        set(t, v, s.ColumnIndex("metric:" + fit->second[f]), w.value(0, f));
      }
    }
    if (w.log_count == 0) continue;
    set(t, v, c_log_count, static_cast<double>(w.log_count));
    set(t, v, c_log_count + 1, static_cast<double>(w.error_logs) / static_cast<double>(w.log_count));
    for (uint32_t id : w.templates) {
      auto it = slot_of[v].find(id);
      const int f = it == slot_of[v].end() ? c_log_count + 2 + K : c_log_count + 2 + it->second;
      s.x[s.Index(t, v, f)] += 1;
    }
  }

  // Span statistics of served spans.
  std::vector<int> span_svc(im.spans.size()), span_step(im.spans.size());
  std::vector<std::vector<double>> lat(static_cast<size_t>(steps) * N);
  std::vector<uint64_t> errs(lat.size(), 0);
  std::vector<bool> serves(N, false);
  for (size_t i = 0; i < im.spans.size(); ++i) {
    const SpanRec& r = im.spans[i];
    span_svc[i] = s.ServiceIndex(r.service);
    span_step[i] = step_of(r.start);
    if (span_step[i] < 0) ++st.out_of_range;
    if (!IsServed(r.kind)) continue;
    ++st.served_spans;
    serves[span_svc[i]] = true;
    if (span_step[i] < 0) continue;
    const size_t cell = static_cast<size_t>(span_step[i]) * N + span_svc[i];
    lat[cell].push_back(r.ms);
    errs[cell] += r.error ? 1 : 0;
  }
  for (int t = 0; t < steps; ++t) {
    for (int v = 0; v < N; ++v) {
      if (!serves[v]) continue;
      std::vector<double>& l = lat[static_cast<size_t>(t) * N + v];
      set(t, v, c_span, static_cast<double>(l.size()));
      if (l.empty()) continue;
      std::sort(l.begin(), l.end());
      double sum = 0;
      for (double ms : l) sum += ms;
      const double n = static_cast<double>(l.size());
      set(t, v, c_span + 1, static_cast<double>(errs[static_cast<size_t>(t) * N + v]) / n);
      set(t, v, c_span + 2, SortedQuantile(l, 0.5));
      set(t, v, c_span + 3, SortedQuantile(l, 0.95));
      set(t, v, c_span + 4, sum / n);
    }
  }

  // Call graph: parents looked up within the trace.
  std::unordered_map<std::string, size_t> by_id;
  by_id.reserve(im.spans.size());
  auto key = [](const std::string& trace, const std::string& span) {
    std::string k;
    k.reserve(trace.size() + span.size() + 1);
    k.append(trace).push_back('\0');
    k.append(span);
    return k;
  };
  for (size_t i = 0; i < im.spans.size(); ++i) {
    if (im.spans[i].span_id.empty()) continue;
    if (!by_id.emplace(key(im.spans[i].trace_id, im.spans[i].span_id), i).second)
      ++st.duplicate_span_id;
  }
  std::vector<std::map<std::pair<int, int>, double>> calls(steps);
  std::vector<bool> has_remote_child(im.spans.size(), false);
  for (size_t i = 0; i < im.spans.size(); ++i) {
    const SpanRec& r = im.spans[i];
    if (r.parent_span_id.empty()) continue;
    auto it = by_id.find(key(r.trace_id, r.parent_span_id));
    if (it == by_id.end()) {
      ++st.missing_parent;
      continue;
    }
    const int u = span_svc[it->second], v = span_svc[i];
    if (u == v) {
      ++st.self_calls;
      if (!opts_.keep_self_calls) continue;
    } else {
      has_remote_child[it->second] = true;
    }
    if (span_step[i] >= 0) calls[span_step[i]][{u, v}] += 1;
  }
  if (opts_.peer_edges) {
    for (size_t i = 0; i < im.spans.size(); ++i) {
      const SpanRec& r = im.spans[i];
      if (r.kind != SpanKind::kClient || r.peer.empty() || has_remote_child[i]) continue;
      const int v = s.ServiceIndex(r.peer);
      if (v < 0 || v == span_svc[i] || span_step[i] < 0) continue;
      ++st.peer_calls;
      calls[span_step[i]][{span_svc[i], v}] += 1;
    }
  }
  s.edges.resize(steps);
  for (int t = 0; t < steps; ++t)
    for (const auto& [uv, n] : calls[t]) s.edges[t].push_back({uv.first, uv.second, n});

  stats_ = st;
  *out = std::move(s);
  return Status::OK();
}

std::vector<float> NormalizedAdjacency(const std::vector<CallEdge>& edges, int n,
                                       const AggregationOptions& opts) {
  using Dir = AggregationOptions::Direction;
  std::vector<double> w(static_cast<size_t>(n) * n, 0.0);
  for (const CallEdge& e : edges) {
    assert(e.caller >= 0 && e.caller < n && e.callee >= 0 && e.callee < n);
    const double c = opts.weighted ? e.calls : 1.0;
    if (opts.direction != Dir::kCallees) w[static_cast<size_t>(e.callee) * n + e.caller] += c;
    if (opts.direction != Dir::kCallers) w[static_cast<size_t>(e.caller) * n + e.callee] += c;
  }
  if (!opts.weighted)
    for (double& x : w) x = x > 0 ? 1.0 : 0.0;
  const bool sym = opts.norm == AggregationOptions::Norm::kSymmetric;
  if (sym)
    for (int v = 0; v < n; ++v) w[static_cast<size_t>(v) * n + v] += 1.0;
  std::vector<double> deg(n, 0.0);
  for (int v = 0; v < n; ++v)
    for (int u = 0; u < n; ++u) deg[v] += w[static_cast<size_t>(v) * n + u];
  std::vector<float> a(w.size(), 0.0f);
  for (int v = 0; v < n; ++v) {
    for (int u = 0; u < n; ++u) {
      const double x = w[static_cast<size_t>(v) * n + u];
      if (x == 0) continue;
      a[static_cast<size_t>(v) * n + u] =
          static_cast<float>(sym ? x / std::sqrt(deg[v] * deg[u]) : x / deg[v]);
    }
  }
  return a;
}

TokenSeries BuildTokens(const ServiceGraphSeries& series, const AggregationOptions& opts) {
  const int T = series.steps, N = series.num_services(), d = series.dims();
  TokenSeries out;
  out.steps = T;
  out.services = N;
  out.dims = 2 * d;
  out.z.assign(static_cast<size_t>(T) * N * 2 * d, 0.0f);
  out.mask.assign(out.z.size(), 0);
  for (int t = 0; t < T; ++t) {
    const std::vector<float> a = NormalizedAdjacency(series.edges[t], N, opts);
    for (int v = 0; v < N; ++v) {
      const size_t zo = (static_cast<size_t>(t) * N + v) * 2 * d;
      for (int f = 0; f < d; ++f) {
        const size_t xi = series.Index(t, v, f);
        const float x = series.x[xi];
        out.z[zo + f] = series.mask[xi] && std::isfinite(x) ? x : 0.0f;
        out.mask[zo + f] = series.mask[xi];
      }
      for (int u = 0; u < N; ++u) {
        const float au = a[static_cast<size_t>(v) * N + u];
        if (au == 0) continue;
        for (int f = 0; f < d; ++f) {
          const size_t xi = series.Index(t, u, f);
          if (!series.mask[xi] || !std::isfinite(series.x[xi])) continue;
          out.z[zo + d + f] += au * series.x[xi];
          out.mask[zo + d + f] = 1;
        }
      }
    }
  }
  return out;
}

Status TokenWindow(const TokenSeries& tokens, int end, int w, std::vector<float>* z,
                   std::vector<uint8_t>* mask) {
  if (w < 1 || end < w - 1 || end >= tokens.steps)
    return Status::InvalidArgument(
        fmt::format("token window: need 1 <= w and w-1 <= end < {}, got w={} end={}",
                    tokens.steps, w, end));
  const int N = tokens.services, D = tokens.dims;
  z->assign(static_cast<size_t>(N) * w * D, 0.0f);
  mask->assign(z->size(), 0);
  for (int v = 0; v < N; ++v) {
    for (int i = 0; i < w; ++i) {
      const int t = end - w + 1 + i;
      const size_t src = (static_cast<size_t>(t) * N + v) * D;
      const size_t dst = (static_cast<size_t>(v) * w + i) * D;
      std::copy_n(tokens.z.begin() + src, D, z->begin() + dst);
      std::copy_n(tokens.mask.begin() + src, D, mask->begin() + dst);
    }
  }
  return Status::OK();
}

// ---- FeatureNormalizer ----

namespace {

// Mean and population sd of the sums; sd 1 when constant or unobserved.
FeatureNormalizer::Stat Finish(double sum, double sq, uint64_t n) {
  FeatureNormalizer::Stat s;
  s.count = n;
  if (n == 0) return s;
  s.mean = sum / static_cast<double>(n);
  const double var = std::max(0.0, sq / static_cast<double>(n) - s.mean * s.mean);
  const double sd = std::sqrt(var);
  s.sd = sd > 1e-12 * std::max(1.0, std::fabs(s.mean)) ? sd : 1.0;
  return s;
}

nlohmann::json StatsJson(const std::vector<FeatureNormalizer::Stat>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& s : v) a.push_back({s.mean, s.sd, s.count});
  return a;
}

bool StatsFromJson(const nlohmann::json& a, size_t d, std::vector<FeatureNormalizer::Stat>* out) {
  if (!a.is_array() || a.size() != d) return false;
  out->clear();
  for (const auto& e : a) {
    if (!e.is_array() || e.size() != 3 || !e[0].is_number() || !e[1].is_number() ||
        !e[2].is_number_unsigned())
      return false;
    FeatureNormalizer::Stat s{e[0].get<double>(), e[1].get<double>(), e[2].get<uint64_t>()};
    if (!std::isfinite(s.mean) || !std::isfinite(s.sd) || s.sd <= 0) return false;
    out->push_back(s);
  }
  return true;
}

}  // namespace

FeatureNormalizer FeatureNormalizer::Fit(const ServiceGraphSeries& series, int from_step,
                                         int to_step) {
  assert(0 <= from_step && from_step <= to_step && to_step <= series.steps);
  const int N = series.num_services(), d = series.dims();
  FeatureNormalizer fn;
  fn.columns_ = series.columns;
  std::vector<double> psum(d, 0), psq(d, 0);
  std::vector<uint64_t> pn(d, 0);
  for (int v = 0; v < N; ++v) {
    std::vector<double> sum(d, 0), sq(d, 0);
    std::vector<uint64_t> n(d, 0);
    for (int t = from_step; t < to_step; ++t) {
      for (int f = 0; f < d; ++f) {
        const size_t i = series.Index(t, v, f);
        const double x = series.x[i];
        if (!series.mask[i] || !std::isfinite(x)) continue;
        sum[f] += x;
        sq[f] += x * x;
        ++n[f];
      }
    }
    std::vector<Stat> stats(d);
    for (int f = 0; f < d; ++f) {
      stats[f] = Finish(sum[f], sq[f], n[f]);
      psum[f] += sum[f];
      psq[f] += sq[f];
      pn[f] += n[f];
    }
    fn.services_[series.services[v]] = std::move(stats);
  }
  fn.pooled_.resize(d);
  for (int f = 0; f < d; ++f) fn.pooled_[f] = Finish(psum[f], psq[f], pn[f]);
  return fn;
}

const FeatureNormalizer::Stat& FeatureNormalizer::Get(const std::string& service, int f) const {
  auto it = services_.find(service);
  return it != services_.end() ? it->second[f] : pooled_[f];
}

Status FeatureNormalizer::Apply(ServiceGraphSeries* series) const {
  if (series->columns != columns_)
    return Status::InvalidArgument(fmt::format(
        "feature normalizer: {} columns fitted, series has {} (or different names)",
        columns_.size(), series->columns.size()));
  const int N = series->num_services(), d = series->dims();
  for (int v = 0; v < N; ++v) {
    for (int f = 0; f < d; ++f) {
      const Stat& s = Get(series->services[v], f);
      for (int t = 0; t < series->steps; ++t) {
        const size_t i = series->Index(t, v, f);
        float& x = series->x[i];
        x = series->mask[i] && std::isfinite(x) ? static_cast<float>((x - s.mean) / s.sd) : 0.0f;
      }
    }
  }
  return Status::OK();
}

std::string FeatureNormalizer::ToJson() const {
  nlohmann::json j;
  j["format"] = kFormatTag;
  j["version"] = kFormatVersion;
  j["columns"] = columns_;
  j["pooled"] = StatsJson(pooled_);
  nlohmann::json svcs = nlohmann::json::object();
  for (const auto& [name, v] : services_) svcs[name] = StatsJson(v);
  j["services"] = std::move(svcs);
  return j.dump();
}

Status FeatureNormalizer::FromJson(std::string_view text, FeatureNormalizer* out) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("feature normalizer: not JSON");
  if (!j.contains("format") || j["format"] != kFormatTag)
    return Status::Corruption("feature normalizer: not a triad-service-graph-zscore file");
  if (!j.contains("version") || !j["version"].is_number_integer())
    return Status::Corruption("feature normalizer: no version");
  if (j["version"].get<int>() != kFormatVersion)
    return Status::Unsupported(fmt::format("feature normalizer: version {}", j["version"].dump()));
  FeatureNormalizer fn;
  const auto& cols = j.value("columns", nlohmann::json());
  if (!cols.is_array()) return Status::Corruption("feature normalizer: no columns");
  for (const auto& c : cols) {
    if (!c.is_string()) return Status::Corruption("feature normalizer: bad column name");
    fn.columns_.push_back(c.get<std::string>());
  }
  const size_t d = fn.columns_.size();
  if (!j.contains("pooled") || !StatsFromJson(j["pooled"], d, &fn.pooled_))
    return Status::Corruption("feature normalizer: bad pooled statistics");
  if (!j.contains("services") || !j["services"].is_object())
    return Status::Corruption("feature normalizer: no services");
  for (const auto& [name, a] : j["services"].items()) {
    if (!StatsFromJson(a, d, &fn.services_[name]))
      return Status::Corruption("feature normalizer: bad statistics of service " + name);
  }
  *out = std::move(fn);
  return Status::OK();
}

Status FeatureNormalizer::Save(const std::string& path) const {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Status::IOError("cannot write " + path);
  f << ToJson() << '\n';
  f.close();
  if (!f) return Status::IOError("write failed: " + path);
  return Status::OK();
}

Status FeatureNormalizer::Load(const std::string& path, FeatureNormalizer* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::NotFound("cannot open " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return FromJson(ss.str(), out);
}

}  // namespace triad
