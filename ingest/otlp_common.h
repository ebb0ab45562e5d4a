// The OTLP -> Triad mapping rules shared by the OTLP/JSON (otlp_json.h) and
// OTLP/protobuf (otlp_proto.h) readers and writers, so both encodings give
// the same records: resource attributes, per-record validity checks and
// fallbacks, metric point rules, and the writers' grouping.
#ifndef TRIAD_INGEST_OTLP_COMMON_H_
#define TRIAD_INGEST_OTLP_COMMON_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/ingest_limits.h"
#include "ingest/read_stats.h"
#include "triad/telemetry.h"

namespace triad {

// AnyValue nesting deeper than this becomes the text "…" (both readers).
constexpr int kOtlpMaxValueDepth = 32;
constexpr const char* kOtlpCutValue = "\xE2\x80\xA6";

// Where a reader's records go, and where its skips are counted.
struct OtlpEmitter {
  TelemetrySink& sink;
  ReadStats* stats;  // never null
  std::string_view source;
  uint64_t line;
  // Applied to every emitted record (strings truncated, extra attributes
  // dropped, see ingest/ingest_limits.h); null = no limits.
  const IngestLimits* limits = nullptr;
  void Skip(std::string_view why) const { stats->Skip(source, line, why); }
};

// The resource fields Triad keeps.
struct OtlpResourceInfo {
  std::string service, instance, host;
};
// service.name -> service; service.instance.id (else k8s.pod.name) -> instance;
// host.name -> host.
OtlpResourceInfo OtlpResourceFromAttributes(const Attributes& attrs);

// The emitters below apply out.limits first (for metric points: to the final
// point, so labels beyond the limit are the last ones by key).
//
// Finishes a span whose ids (normalised hex), times, name, kind, status and
// attributes are set: skips (counted) if the trace/span id is missing or all
// zero or it ends before it starts; else clears an all-zero parent id, sets
// the resource fields, fills HTTP/peer fields from the semantic conventions
// and emits it.
void EmitOtlpSpan(Span&& s, const OtlpResourceInfo& res, const OtlpEmitter& out);
// Finishes and emits a log: time falls back to observed_time; all-zero ids
// are cleared; a severity_number outside 1..24 is 0 and then falls back to
// SeverityFromText(severity_text); sets the resource fields.
void EmitOtlpLog(LogRecord&& l, const OtlpResourceInfo& res, const OtlpEmitter& out);

// Kind of a sum metric: monotonic and not delta -> counter, else gauge.
MetricKind OtlpSumKind(bool monotonic, bool delta);
// Starts a data point of metric `name`: sets name/resource fields and the
// labels (sorted by key) and time. Returns false (a counted skip) if the
// point has no time or is flagged "no recorded value" (flags bit 0).
bool StartOtlpPoint(const std::string& name, const OtlpResourceInfo& res, Attributes&& labels,
                    TimeNs time, uint64_t flags, const OtlpEmitter& out, MetricSample* m);
// Emits a gauge/counter point (m->kind set by the caller) unless its value is
// not finite (counted skip).
void EmitOtlpNumberPoint(MetricSample&& m, const OtlpEmitter& out);
// Emits a histogram point with count, value (= sum), bounds and bucket_counts
// set as read: skips if the sum is not finite, the bounds are not finite and
// increasing, or there are not bounds+1 bucket counts; no bounds and no counts
// give bucket_counts {count}.
void EmitOtlpHistogramPoint(MetricSample&& m, const OtlpEmitter& out);
// Emits a summary point as gauges: `name{quantile=q}` per (quantile, value)
// (non-finite pairs are counted skips), `name_sum` and `name_count`. Skips the
// whole point if `sum` is not finite.
void EmitOtlpSummaryPoint(MetricSample&& base, double sum, uint64_t count,
                          const std::vector<std::pair<double, double>>& quantiles,
                          const OtlpEmitter& out);

// ---------------------------------------------------------------- writers

// Resource attributes written for (service, instance, host): service.name,
// service.instance.id, host.name, each only when not empty.
Attributes OtlpResourceAttributes(const std::string& service, const std::string& instance,
                                  const std::string& host);

// An attribute a writer adds so that a span's HTTP/peer fields survive a
// round trip (when the span's own attributes hold none for that field):
// http.request.method, url.full, http.response.status_code (an integer),
// peer.service.
struct OtlpExtraAttribute {
  const char* key;
  std::string value;
  bool is_int;
};
std::vector<OtlpExtraAttribute> OtlpSpanConventionAttributes(const Span& s);

// Records grouped by resource in order of first appearance (order kept inside
// a group): spans by (service, instance, host), logs and metrics by
// (service, instance); metric points further by (name, kind).
struct OtlpSpanGroup {
  std::string service, instance, host;
  std::vector<const Span*> spans;
};
struct OtlpLogGroup {
  std::string service, instance;
  std::vector<const LogRecord*> logs;
};
struct OtlpMetricGroup {
  std::string name;
  MetricKind kind;
  std::vector<const MetricSample*> points;
};
struct OtlpMetricResourceGroup {
  std::string service, instance;
  std::vector<OtlpMetricGroup> metrics;
};
std::vector<OtlpSpanGroup> GroupOtlpSpans(const std::vector<Span>& spans);
std::vector<OtlpLogGroup> GroupOtlpLogs(const std::vector<LogRecord>& logs);
std::vector<OtlpMetricResourceGroup> GroupOtlpMetrics(const std::vector<MetricSample>& samples);

}  // namespace triad

#endif  // TRIAD_INGEST_OTLP_COMMON_H_
