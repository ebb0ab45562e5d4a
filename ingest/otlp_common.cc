#include "ingest/otlp_common.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "ingest/json_util.h"

namespace triad {

namespace {

void SortLabels(Attributes* labels) {
  std::stable_sort(labels->begin(), labels->end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
}

void EmitMetric(MetricSample&& m, const OtlpEmitter& out) {
  if (out.limits != nullptr) ApplyIngestLimits(*out.limits, &m, out.stats);
  ++out.stats->records;
  out.sink.OnMetric(std::move(m));
}

bool HasAnyAttr(const Attributes& attrs, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    const std::string* v = FindAttribute(attrs, k);
    if (v != nullptr && !v->empty()) return true;
  }
  return false;
}

// Groups items by a key, keeping the order of first appearance.
template <typename Key>
class Grouper {
 public:
  // Returns the group index of `k` and whether it is new.
  std::pair<size_t, bool> IndexOf(const Key& k) {
    auto [it, inserted] = index_.emplace(k, index_.size());
    return {it->second, inserted};
  }

 private:
  std::map<Key, size_t> index_;
};

}  // namespace

OtlpResourceInfo OtlpResourceFromAttributes(const Attributes& attrs) {
  OtlpResourceInfo r;
  if (const std::string* v = FindAttribute(attrs, "service.name")) r.service = *v;
  if (const std::string* v = FindAttribute(attrs, "service.instance.id"); v && !v->empty())
    r.instance = *v;
  else if (const std::string* p = FindAttribute(attrs, "k8s.pod.name"))
    r.instance = *p;
  if (const std::string* v = FindAttribute(attrs, "host.name")) r.host = *v;
  return r;
}

void EmitOtlpSpan(Span&& s, const OtlpResourceInfo& res, const OtlpEmitter& out) {
  s.service = res.service;
  s.instance = res.instance;
  s.host = res.host;
  if (out.limits != nullptr) ApplyIngestLimits(*out.limits, &s, out.stats);
  if (s.trace_id.empty() || IsAllZeroId(s.trace_id)) {
    out.Skip("span without traceId");
    return;
  }
  if (s.span_id.empty() || IsAllZeroId(s.span_id)) {
    out.Skip("span without spanId");
    return;
  }
  if (s.end < s.start) {
    out.Skip("span " + s.span_id + ": ends before it starts");
    return;
  }
  if (IsAllZeroId(s.parent_span_id)) s.parent_span_id.clear();
  FillSpanFromSemanticConventions(&s);
  ++out.stats->records;
  out.sink.OnSpan(std::move(s));
}

void EmitOtlpLog(LogRecord&& l, const OtlpResourceInfo& res, const OtlpEmitter& out) {
  if (l.time == 0) l.time = l.observed_time;
  if (IsAllZeroId(l.trace_id)) l.trace_id.clear();
  if (IsAllZeroId(l.span_id)) l.span_id.clear();
  if (l.severity_number < 0 || l.severity_number > 24) l.severity_number = 0;
  if (l.severity_number == 0) l.severity_number = SeverityFromText(l.severity_text);
  l.service = res.service;
  l.instance = res.instance;
  if (out.limits != nullptr) ApplyIngestLimits(*out.limits, &l, out.stats);
  ++out.stats->records;
  out.sink.OnLog(std::move(l));
}

MetricKind OtlpSumKind(bool monotonic, bool delta) {
  return (monotonic && !delta) ? MetricKind::kCounter : MetricKind::kGauge;
}

bool StartOtlpPoint(const std::string& name, const OtlpResourceInfo& res, Attributes&& labels,
                    TimeNs time, uint64_t flags, const OtlpEmitter& out, MetricSample* m) {
  m->name = name;
  m->service = res.service;
  m->instance = res.instance;
  m->labels = std::move(labels);
  SortLabels(&m->labels);
  m->time = time;
  if (m->time == 0) {
    out.Skip("metric " + name + ": data point without timeUnixNano");
    return false;
  }
  if (flags & 1) {
    out.Skip("metric " + name + ": data point flagged no-recorded-value");
    return false;
  }
  return true;
}

void EmitOtlpNumberPoint(MetricSample&& m, const OtlpEmitter& out) {
  if (!std::isfinite(m.value)) {
    out.Skip("metric " + m.name + ": non-finite value");
    return;
  }
  EmitMetric(std::move(m), out);
}

void EmitOtlpHistogramPoint(MetricSample&& m, const OtlpEmitter& out) {
  m.kind = MetricKind::kHistogram;
  if (!std::isfinite(m.value)) {
    out.Skip("histogram " + m.name + ": bad or non-finite sum");
    return;
  }
  for (size_t i = 0; i < m.bounds.size(); ++i) {
    if (!std::isfinite(m.bounds[i]) || (i > 0 && m.bounds[i] <= m.bounds[i - 1])) {
      out.Skip("histogram " + m.name + ": bounds not finite and increasing");
      return;
    }
  }
  if (m.bucket_counts.empty() && m.bounds.empty()) m.bucket_counts.push_back(m.count);
  if (m.bucket_counts.size() != m.bounds.size() + 1) {
    out.Skip("histogram " + m.name + ": bucketCounts size is not explicitBounds size + 1");
    return;
  }
  EmitMetric(std::move(m), out);
}

void EmitOtlpSummaryPoint(MetricSample&& base, double sum, uint64_t count,
                          const std::vector<std::pair<double, double>>& quantiles,
                          const OtlpEmitter& out) {
  if (!std::isfinite(sum)) {
    out.Skip("summary " + base.name + ": bad or non-finite sum");
    return;
  }
  base.kind = MetricKind::kGauge;
  for (const auto& [quantile, value] : quantiles) {
    if (!std::isfinite(quantile) || !std::isfinite(value)) {
      out.Skip("summary " + base.name + ": bad quantile value");
      continue;
    }
    MetricSample m = base;
    m.labels.emplace_back("quantile", FormatDouble(quantile));
    SortLabels(&m.labels);
    m.value = value;
    EmitMetric(std::move(m), out);
  }
  const std::string name = base.name;
  MetricSample s = base;
  s.name = name + "_sum";
  s.value = sum;
  EmitMetric(std::move(s), out);
  MetricSample c = std::move(base);
  c.name = name + "_count";
  c.value = static_cast<double>(count);
  EmitMetric(std::move(c), out);
}

Attributes OtlpResourceAttributes(const std::string& service, const std::string& instance,
                                  const std::string& host) {
  Attributes attrs;
  if (!service.empty()) attrs.emplace_back("service.name", service);
  if (!instance.empty()) attrs.emplace_back("service.instance.id", instance);
  if (!host.empty()) attrs.emplace_back("host.name", host);
  return attrs;
}

std::vector<OtlpExtraAttribute> OtlpSpanConventionAttributes(const Span& s) {
  std::vector<OtlpExtraAttribute> out;
  if (!s.http_method.empty() && !HasAnyAttr(s.attributes, {"http.request.method", "http.method"}))
    out.push_back({"http.request.method", s.http_method, false});
  if (!s.http_url.empty() &&
      !HasAnyAttr(s.attributes, {"url.full", "http.url", "http.target", "url.path", "http.path",
                                 "http.route"}))
    out.push_back({"url.full", s.http_url, false});
  if (s.http_status_code != 0 &&
      !HasAnyAttr(s.attributes, {"http.response.status_code", "http.status_code"}))
    out.push_back({"http.response.status_code", std::to_string(s.http_status_code), true});
  if (!s.peer.empty() &&
      !HasAnyAttr(s.attributes, {"peer.service", "server.address", "net.peer.name",
                                 "network.peer.address", "net.peer.ip"}))
    out.push_back({"peer.service", s.peer, false});
  return out;
}

std::vector<OtlpSpanGroup> GroupOtlpSpans(const std::vector<Span>& spans) {
  Grouper<std::tuple<std::string, std::string, std::string>> groups;
  std::vector<OtlpSpanGroup> out;
  for (const Span& s : spans) {
    auto [g, is_new] = groups.IndexOf({s.service, s.instance, s.host});
    if (is_new) out.push_back({s.service, s.instance, s.host, {}});
    out[g].spans.push_back(&s);
  }
  return out;
}

std::vector<OtlpLogGroup> GroupOtlpLogs(const std::vector<LogRecord>& logs) {
  Grouper<std::pair<std::string, std::string>> groups;
  std::vector<OtlpLogGroup> out;
  for (const LogRecord& l : logs) {
    auto [g, is_new] = groups.IndexOf({l.service, l.instance});
    if (is_new) out.push_back({l.service, l.instance, {}});
    out[g].logs.push_back(&l);
  }
  return out;
}

std::vector<OtlpMetricResourceGroup> GroupOtlpMetrics(const std::vector<MetricSample>& samples) {
  Grouper<std::pair<std::string, std::string>> resources;
  std::vector<Grouper<std::pair<std::string, int>>> metric_groups;
  std::vector<OtlpMetricResourceGroup> out;
  for (const MetricSample& m : samples) {
    auto [r, new_resource] = resources.IndexOf({m.service, m.instance});
    if (new_resource) {
      out.push_back({m.service, m.instance, {}});
      metric_groups.emplace_back();
    }
    auto [k, new_metric] = metric_groups[r].IndexOf({m.name, static_cast<int>(m.kind)});
    if (new_metric) out[r].metrics.push_back({m.name, m.kind, {}});
    out[r].metrics[k].points.push_back(&m);
  }
  return out;
}

}  // namespace triad
