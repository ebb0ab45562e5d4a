// Log/metric windows: the paired inputs of log + metric fusion (issue 6;
// Laurent & Bergström, section 3.1). For every window w of tau seconds and
// every scope (each service, and the whole system), the builder pairs
//   (a) L_w: the log template-id sequence of the window (Drain templates,
//       time order, capped at max_log_len: the earliest kept, the rest
//       counted in logs_truncated), and
//   (b) M_w: the multivariate metric matrix of the window, [T, d] with
//       T = metric_steps rows of tau / T each (mean or last of the samples
//       in the cell) and d the scope's features (schema), with a mask.
//
// Scopes: a record's service (LogRecord/MetricSample::service; when empty,
// ServiceFromPodName(instance)), so several pods of one service share a
// scope (cells average their samples). The system scope kSystemScope holds
// every log and, as features, "<service>/<metric>" of every service scope
// (columns in schema order).
//
// Windows start at origin + k * step and cover [start, start + tau); step may
// be < tau (overlap) or > tau (gaps between windows). Every scope gets every
// window of the range, empty or not: the range is [from, to) when set, else
// the grid starts from the one holding the earliest record to the last one
// at or before the latest record.
//
// Missing data. A cell with no sample has mask 0 and is filled: carried
// forward from the feature's last sample before the cell if it is at most
// max_fill_age old, else back-filled from the next observed cell of the same
// window, else left NaN (MetricNormalizer::Apply turns NaN into 0 = the
// training mean). NaN/inf sample values are counted (stats().nan_values) and
// treated as absent. Flags per window: missing_logs (no log record),
// missing_metrics (d > 0 and no cell observed).
//
// Late data. Each source (modality + instance, or + service if the instance
// is empty) has a watermark = the latest event time it has delivered. A
// record older than its source's watermark by more than allowed_lateness is
// late: counted in stats().late and in the late_records of its windows, and
// used (drop_late = false) or left out (drop_late = true; it still flags the
// windows).
//
// Clock skew. A record that carries an observed (collector) time differing
// from its event time by more than max_skew comes from a source whose clock
// disagrees with the collector's: counted (stats().skewed, and the number of
// distinct sources in stats().skewed_sources) and flagged per window
// (skewed_records). Records are kept at their event time. Records with no
// time (0) are counted skips in read_stats().
//
// Unknown metrics. With a fixed schema (SetSchema, e.g. the training
// normalizer's), samples of a (scope, metric) outside it are counted in
// stats().unknown_metric_samples and left out.
#ifndef TRIAD_ALIGN_LOG_METRIC_WINDOWS_H_
#define TRIAD_ALIGN_LOG_METRIC_WINDOWS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/nezha_faults.h"
#include "ingest/read_stats.h"
#include "parse/drain.h"
#include "triad/status.h"
#include "triad/telemetry.h"

namespace triad {

// Scope name of the whole-system windows.
inline constexpr const char* kSystemScope = "*";

struct LogMetricOptions {
  TimeNs tau = 60 * kNsPerSec;  // window length; REQUIRES > 0
  TimeNs step = 0;              // start-to-start distance; 0 = tau
  TimeNs origin = 0;            // window starts are origin + k * step
  TimeNs from = 0, to = 0;      // window starts in [from, to) when to > from
  int metric_steps = 12;        // T; cells are tau / T long (the last takes the rest). REQUIRES >= 1
  enum class Resample : uint8_t { kMean, kLast };
  Resample resample = Resample::kMean;
  TimeNs max_fill_age = 0;      // carry-forward limit; 0 = tau
  size_t max_log_len = 512;     // template ids kept per window
  TimeNs allowed_lateness = 0;
  bool drop_late = false;
  TimeNs max_skew = 5 * kNsPerSec;
  bool per_service = true;      // emit one window per service scope
  // Cumulative counters (MetricKind::kCounter) become per-second rates per
  // series (source + metric name; a decrease is a reset, align/counter_rate.h).
  // A series' first sample, and one not after its predecessor, gives no value
  // (counted in stats().counter_unpaired). Off: counters are used as raw
  // totals, which grow without bound and so never look like training data.
  bool counter_rates = false;
  bool system = true;           // emit the kSystemScope windows
};

// Features per service scope (sorted metric names). The system scope's
// features are derived: "<scope>/<metric>" in map order.
struct MetricSchema {
  std::map<std::string, std::vector<std::string>> features;
  std::vector<std::string> SystemFeatures() const;
};

struct LogMetricWindow {
  std::string scope;          // service or kSystemScope
  TimeNs start = 0, end = 0;  // [start, end), end = start + tau
  // Logs.
  std::vector<uint32_t> templates;  // [<= max_log_len] template ids in time order; 0 = unknown template
  uint64_t log_count = 0;           // log records in the window
  uint64_t logs_truncated = 0;      // log_count - templates.size()
  uint64_t error_logs = 0;          // ERROR/FATAL severity
  // Metrics. values/mask: [steps, dims] row-major.
  int steps = 0, dims = 0;
  std::vector<float> values;   // raw until MetricNormalizer::Apply, then z-scores
  std::vector<uint8_t> mask;   // 1 = the cell had at least one sample
  uint64_t metric_samples = 0;
  // Flags.
  bool missing_logs = false;
  bool missing_metrics = false;
  uint64_t late_records = 0;
  uint64_t skewed_records = 0;
  // Labels (LabelWindows).
  int label = 0;                         // 1 iff a fault overlaps [start, end)
  std::vector<std::string> root_causes;  // services of the overlapping faults (sorted, unique)
  bool scope_is_root_cause = false;      // scope is among root_causes (system: label)

  float value(int t, int f) const { return values[static_cast<size_t>(t) * dims + f]; }
  bool observed(int t, int f) const { return mask[static_cast<size_t>(t) * dims + f] != 0; }
};

struct LogMetricStats {
  uint64_t logs = 0, metric_samples = 0;  // records accepted (with a time)
  uint64_t late = 0, late_dropped = 0;
  uint64_t skewed = 0, skewed_sources = 0;
  uint64_t nan_values = 0;
  uint64_t unknown_metric_samples = 0;
  uint64_t counter_unpaired = 0;  // counter samples that gave no rate (counter_rates)
  uint64_t out_of_range = 0;  // records outside [from, to + tau) when a range is set
  uint64_t logs_truncated = 0;
  uint64_t windows = 0, windows_missing_logs = 0, windows_missing_metrics = 0;
  std::string Summary() const;
};

class LogMetricWindowBuilder : public TelemetrySink {
 public:
  explicit LogMetricWindowBuilder(LogMetricOptions opts = {}, DrainConfig drain = {});
  ~LogMetricWindowBuilder() override;
  LogMetricWindowBuilder(const LogMetricWindowBuilder&) = delete;
  LogMetricWindowBuilder& operator=(const LogMetricWindowBuilder&) = delete;

  // Replaces the template miner (e.g. one trained and loaded). learn = false:
  // templates come from DrainParser::Match and unseen messages get id 0.
  // Call before the first log.
  void SetParser(std::unique_ptr<DrainParser> parser, bool learn);
  // Fixes the features (see "Unknown metrics"). Call before Build.
  void SetSchema(MetricSchema schema);

  void OnLog(LogRecord&& log) override;
  void OnMetric(MetricSample&& sample) override;
  // A sample with the time the collector received it (0 = unknown), for the skew check.
  void AddMetric(MetricSample&& sample, TimeNs observed_time);

  // Builds the windows, sorted by (start, scope). May be called more than
  // once (e.g. after SetSchema); records are kept.
  std::vector<LogMetricWindow> Build();

  // The schema Build used (the one set, or every (service, metric) seen).
  const MetricSchema& schema() const { return schema_; }
  const DrainParser& parser() const { return *parser_; }
  const LogMetricStats& stats() const { return stats_; }
  const ReadStats& read_stats() const { return read_stats_; }
  const LogMetricOptions& options() const { return opts_; }

 private:
  struct Impl;
  LogMetricOptions opts_;
  std::unique_ptr<DrainParser> parser_;
  bool learn_ = true;
  bool schema_fixed_ = false;
  MetricSchema schema_;
  LogMetricStats stats_;
  ReadStats read_stats_;
  std::unique_ptr<Impl> impl_;
};

// Sets label, root_causes and scope_is_root_cause of every window from
// `faults` (any overlap of [start, end) with a fault's [start, end)).
void LabelWindows(const std::vector<FaultEvent>& faults, std::vector<LogMetricWindow>* windows);

// The windows of `scope`, in the order of `windows` (pointers into it: it
// must outlive the result, hence no overload for temporaries).
std::vector<const LogMetricWindow*> WindowsOfScope(const std::vector<LogMetricWindow>& windows,
                                                   const std::string& scope);
std::vector<const LogMetricWindow*> WindowsOfScope(std::vector<LogMetricWindow>&& windows,
                                                   const std::string& scope) = delete;

// Per-feature z-scores fitted on training windows only.
class MetricNormalizer {
 public:
  struct Feature {
    std::string name;
    double mean = 0, sd = 1;  // sd 1 for a constant (zero-variance) or unseen feature
    uint64_t count = 0;       // observed cells it was fitted on
  };

  // Fits mean and population sd per (scope, feature) on the observed cells
  // (mask 1, finite) of `train`. `schema` names the features (the builder's).
  // A feature with zero variance keeps its mean and gets sd 1, so it maps to
  // value - mean (0 on training data).
  static MetricNormalizer Fit(const std::vector<LogMetricWindow>& train, const MetricSchema& schema);

  // Replaces every value by (v - mean) / sd; NaN cells become 0. Returns
  // InvalidArgument if a window with dims > 0 has a scope the normalizer
  // does not know or a different dims (windows before it are normalised).
  Status Apply(std::vector<LogMetricWindow>* windows) const;

  // The service-scope features (for LogMetricWindowBuilder::SetSchema).
  MetricSchema schema() const;
  // Features of `scope`, or nullptr.
  const std::vector<Feature>* Find(const std::string& scope) const;

  // JSON: {"format":"triad-metric-zscore","version":1,"scopes":{"svc":[{"name","mean","sd","count"}]}}
  Status Save(const std::string& path) const;
  static Status Load(const std::string& path, MetricNormalizer* out);
  // The same JSON as Save, as one line of text (e.g. to embed in a model file).
  std::string ToJson() const;
  // Parses text written by ToJson/Save. Corruption for malformed text or bad
  // mean/sd values, Unsupported for another version; *out unchanged on error.
  static Status FromJson(std::string_view text, MetricNormalizer* out);

  static constexpr const char* kFormatTag = "triad-metric-zscore";
  static constexpr int kFormatVersion = 1;

 private:
  std::map<std::string, std::vector<Feature>> scopes_;
};

}  // namespace triad

#endif  // TRIAD_ALIGN_LOG_METRIC_WINDOWS_H_
