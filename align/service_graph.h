// Service graph inputs (issue 7; paper 001, section "Method", eqs. 1-5):
// per service v and time step t an observation vector x_{v,t} from all three
// signals, the call graph G_t = (V, E_t) per step from spans, neighbourhood
// aggregation x~_{v,t} = sum_u Â_t[v,u] x_{u,t}, the structure-temporal
// token z_{v,t} = concat(x_{v,t}, x~_{v,t}) and windows of w steps.
//
// Time grid. Step t covers [start + t*step, start + (t+1)*step); start is on
// origin + k*step. The range is [from, to) when to > from, else from the step
// holding the earliest record to the one holding the latest (spans, logs and
// metrics together). Every service gets every step.
//
// Services: Span/LogRecord/MetricSample::service, or ServiceFromPodName
// (instance) when empty (as align/log_metric_windows.h). Sorted by name; the
// index is the service id everywhere below.
//
// Feature layout (columns, same d for every service; see ColumnNames):
//   metric:<name>          mean over the cell of all the service's instances'
//                          samples (counters as per-second rates); one column
//                          per metric name seen in any service (union, sorted)
//   log:count              log records in the step
//   log:error_rate         ERROR/FATAL share of them
//   log:top1 .. log:topK   counts of the service's K most frequent templates
//                          (per-service slots: slot k of service v is the
//                          template SlotTemplate(v, k); ranked by count over
//                          the whole input, ties by smaller id)
//   log:other              counts of every other template
//   span:count             the service's served spans (kind server, consumer
//                          or unspecified; the callee side of a call)
//   span:error_rate        share of them that are errors (Span::is_error)
//   span:p50_ms, span:p95_ms, span:mean_ms   their latency
// Logs are parsed by an internal Drain (LogMetricWindowBuilder's; a trained
// parser may be set with SetParser), metrics resampled and counter rates made
// by LogMetricWindowBuilder with one cell per step (reused, not duplicated).
//
// Missing data (mask 0) versus zero (mask 1, value 0):
//   metric:*        mask 1 iff the cell had a sample of that metric
//   log:count, log:top*, log:other
//                   mask 1 iff the service has logged at all in the input
//                   (then an empty step is a real 0)
//   log:error_rate  mask 1 iff the step has a log of the service
//   span:count      mask 1 iff the service has served spans in the input
//   span:error_rate, span:*_ms   mask 1 iff the step has a served span
// Unobserved cells hold NaN before FeatureNormalizer::Apply and 0 after it.
//
// Call graph. Edge u -> v in step t when a span of service v whose start is in
// step t has as parent a span of service u in the same trace; the weight is
// the number of such spans. Parents are looked up at Build() (any arrival
// order). A parent not found is counted (stats().missing_parent), not an edge.
// Self-calls (u == v, e.g. a server span's own client span) are dropped unless
// keep_self_calls. With peer_edges, a client span with a `peer` naming a known
// service and no child span of another service is a call to that service (the
// callee failed before answering or is not instrumented).
#ifndef TRIAD_ALIGN_SERVICE_GRAPH_H_
#define TRIAD_ALIGN_SERVICE_GRAPH_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "align/log_metric_windows.h"
#include "ingest/read_stats.h"
#include "parse/drain.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

struct ServiceGraphOptions {
  TimeNs step = 60 * kNsPerSec;  // REQUIRES > 0
  TimeNs origin = 0;
  TimeNs from = 0, to = 0;       // step starts in [from, to) when to > from
  int top_templates = 8;         // K template slots per service; REQUIRES >= 0
  bool counter_rates = true;     // cumulative counters as per-second rates
  bool keep_self_calls = false;
  bool peer_edges = true;
};

// One weighted call edge of one step. Indices are service ids.
struct CallEdge {
  int caller = -1, callee = -1;
  double calls = 0;
  bool operator==(const CallEdge& o) const {
    return caller == o.caller && callee == o.callee && calls == o.calls;
  }
};

struct ServiceGraphStats {
  uint64_t spans = 0, served_spans = 0, logs = 0, metric_samples = 0;
  uint64_t missing_parent = 0;     // spans whose parent span is not in the input
  uint64_t duplicate_span_id = 0;  // (trace, span id) seen again: the first kept as parent
  uint64_t self_calls = 0;         // parent of the same service (edges only if keep_self_calls)
  uint64_t peer_calls = 0;         // edges from client spans' peer (peer_edges)
  uint64_t out_of_range = 0;       // records outside [from, to) when a range is set
  std::string Summary() const;
};

// The model inputs of one input: x, its mask and the call graph per step.
struct ServiceGraphSeries {
  TimeNs start = 0, step = 0;
  int steps = 0;
  std::vector<std::string> services;  // N, sorted; index = service id
  std::vector<std::string> columns;   // d feature names (layout above)
  // Template id of slot k of service v ([N][K]; 0 = slot unused), with the
  // template texts (id -> text) to name them.
  std::vector<std::vector<uint32_t>> slot_templates;
  std::map<uint32_t, std::string> template_text;
  std::vector<float> x;       // [steps, N, d] raw values (NaN where mask 0)
  std::vector<uint8_t> mask;  // [steps, N, d] 1 = observed (see "Missing data")
  std::vector<std::vector<CallEdge>> edges;  // [steps], sorted by (caller, callee)

  int num_services() const { return static_cast<int>(services.size()); }
  int dims() const { return static_cast<int>(columns.size()); }
  size_t Index(int t, int v, int f) const {
    return (static_cast<size_t>(t) * services.size() + v) * columns.size() + f;
  }
  float value(int t, int v, int f) const { return x[Index(t, v, f)]; }
  bool observed(int t, int v, int f) const { return mask[Index(t, v, f)] != 0; }
  // Service id of `name`, or -1.
  int ServiceIndex(std::string_view name) const;
  // Column index of `name`, or -1.
  int ColumnIndex(std::string_view name) const;
  // Column f named for service v: log:top<k> slots get their template text,
  // e.g. "log:top1 [Connection to <*> refused]"; other columns as columns[f].
  std::string ColumnName(int v, int f) const;
};

// Collects telemetry (TelemetrySink: readers, the simulator, ReplayNezhaDay)
// and builds the series.
class ServiceGraphBuilder : public TelemetrySink {
 public:
  explicit ServiceGraphBuilder(ServiceGraphOptions opts = {}, DrainConfig drain = {});
  ~ServiceGraphBuilder() override;
  ServiceGraphBuilder(const ServiceGraphBuilder&) = delete;
  ServiceGraphBuilder& operator=(const ServiceGraphBuilder&) = delete;

  // Template miner for the logs (see LogMetricWindowBuilder::SetParser).
  // Call before the first log.
  void SetParser(std::unique_ptr<DrainParser> parser, bool learn);

  void OnSpan(Span&& span) override;
  void OnLog(LogRecord&& log) override;
  void OnMetric(MetricSample&& sample) override;

  // Builds the series. Records are kept: may be called again. Returns
  // InvalidArgument when there is no record with a time (nothing to build).
  Status Build(ServiceGraphSeries* out);

  const ServiceGraphStats& stats() const { return stats_; }
  // Skipped records (no time) of all three kinds.
  ReadStats read_stats() const;
  const ServiceGraphOptions& options() const { return opts_; }

 private:
  struct Impl;
  ServiceGraphOptions opts_;
  ServiceGraphStats stats_;
  ReadStats read_stats_;
  std::unique_ptr<Impl> impl_;
};

// Neighbourhood aggregation.
struct AggregationOptions {
  enum class Norm : uint8_t {
    kRow,        // Â = D^-1 W (a row of zeros stays zero: no neighbours, x~ = 0)
    kSymmetric,  // Â = D^-1/2 (W + I) D^-1/2, D = row sums of W + I
  };
  enum class Direction : uint8_t {
    kUndirected,  // W[v][u] = calls(u->v) + calls(v->u)
    kCallers,     // W[v][u] = calls(u->v): v aggregates its callers (paper eq. 3)
    kCallees,     // W[v][u] = calls(v->u): v aggregates its callees
  };
  Norm norm = Norm::kSymmetric;
  Direction direction = Direction::kUndirected;
  bool weighted = true;  // false: W entries are 1 for every edge
};

// Returns Â: [n, n] row-major, Â[v * n + u]. REQUIRES: edge indices < n.
std::vector<float> NormalizedAdjacency(const std::vector<CallEdge>& edges, int n,
                                       const AggregationOptions& opts);

// Structure-temporal tokens of a series.
struct TokenSeries {
  int steps = 0, services = 0, dims = 0;  // dims = 2 * d
  std::vector<float> z;       // [steps, services, 2d]: x then x~
  std::vector<uint8_t> mask;  // [steps, services, 2d]: x's mask; x~ part 1 iff
                              // some neighbour with Â[v,u] > 0 observed the column
};

// z_{v,t} = concat(x_{v,t}, sum_u Â_t[v,u] x_{u,t}). Unobserved cells count
// as 0 (the training mean after FeatureNormalizer::Apply, which should come
// first; a NaN left in x is treated as 0 too).
TokenSeries BuildTokens(const ServiceGraphSeries& series, const AggregationOptions& opts);

// The window of w steps ending at step `end` (inclusive):
//   z: [services, w, 2d], mask: [services, w, 2d] (z[(v * w + i) * 2d + f]
//   is step end - w + 1 + i). Returns InvalidArgument unless
//   w >= 1 and w - 1 <= end < steps.
Status TokenWindow(const TokenSeries& tokens, int end, int w, std::vector<float>* z,
                   std::vector<uint8_t>* mask);

// Per (service, column) z-scores fitted on a training step range, with pooled
// per-column statistics for services not seen in training.
class FeatureNormalizer {
 public:
  struct Stat {
    double mean = 0, sd = 1;  // sd 1 for a constant or unobserved column
    uint64_t count = 0;
  };
  // Fits on the observed cells of steps [from_step, to_step).
  // REQUIRES: 0 <= from_step <= to_step <= series.steps.
  static FeatureNormalizer Fit(const ServiceGraphSeries& series, int from_step, int to_step);

  // x = (x - mean) / sd on observed cells, 0 on unobserved ones. Returns
  // InvalidArgument if the columns differ from the fitted ones (series unchanged).
  Status Apply(ServiceGraphSeries* series) const;

  const std::vector<std::string>& columns() const { return columns_; }
  // Stats of (service, column f): the service's, else the pooled ones.
  const Stat& Get(const std::string& service, int f) const;

  // {"format":"triad-service-graph-zscore","version":1,"columns":[..],
  //  "pooled":[[mean,sd,count],..],"services":{"svc":[[mean,sd,count],..]}}
  std::string ToJson() const;
  // Corruption for malformed text or bad values, Unsupported for another version.
  static Status FromJson(std::string_view text, FeatureNormalizer* out);
  Status Save(const std::string& path) const;
  static Status Load(const std::string& path, FeatureNormalizer* out);

  static constexpr const char* kFormatTag = "triad-service-graph-zscore";
  static constexpr int kFormatVersion = 1;

 private:
  std::vector<std::string> columns_;
  std::vector<Stat> pooled_;
  std::map<std::string, std::vector<Stat>> services_;
};

}  // namespace triad

#endif  // TRIAD_ALIGN_SERVICE_GRAPH_H_
