// Triad's data model: the three kinds of telemetry after ingestion, whatever
// their source format (OTLP, Jaeger, Zipkin, raw logs, CSV, Prometheus text).
// All times are nanoseconds since the Unix epoch (UTC).
#ifndef TRIAD_TELEMETRY_H_
#define TRIAD_TELEMETRY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace triad {

using TimeNs = int64_t;  // ns since 1970-01-01T00:00:00Z
constexpr TimeNs kNsPerUs = 1000;
constexpr TimeNs kNsPerMs = 1000 * kNsPerUs;
constexpr TimeNs kNsPerSec = 1000 * kNsPerMs;

// Key/value attributes; values are kept as text (numbers as their decimal form,
// booleans as "true"/"false", arrays and maps as compact JSON).
using Attributes = std::vector<std::pair<std::string, std::string>>;

// Returns the value of `key`, or nullptr if absent.
const std::string* FindAttribute(const Attributes& attrs, std::string_view key);

// Where telemetry comes from: one process of one service.
struct Resource {
  std::string service;   // service.name
  std::string instance;  // service.instance.id / pod name
  std::string host;      // host.name
  Attributes attributes;
};

// OTLP SeverityNumber ranges: TRACE 1-4, DEBUG 5-8, INFO 9-12, WARN 13-16,
// ERROR 17-20, FATAL 21-24; 0 = unspecified.
int SeverityFromText(std::string_view text);  // "WARN", "error", "E", ... -> 1..24 or 0
bool IsErrorSeverity(int severity_number);    // ERROR or FATAL

struct LogRecord {
  TimeNs time = 0;           // when the event happened (0 if unknown)
  TimeNs observed_time = 0;  // when it was collected
  int severity_number = 0;
  std::string severity_text;
  std::string body;
  std::string service;
  std::string instance;
  std::string trace_id;  // lowercase hex (32 chars) or empty
  std::string span_id;   // lowercase hex (16 chars) or empty
  Attributes attributes;
};

enum class SpanKind : uint8_t {
  kUnspecified = 0, kInternal = 1, kServer = 2, kClient = 3, kProducer = 4, kConsumer = 5
};
enum class SpanStatus : uint8_t { kUnset = 0, kOk = 1, kError = 2 };

const char* SpanKindName(SpanKind k);

struct Span {
  std::string trace_id;        // lowercase hex or source-specific id
  std::string span_id;
  std::string parent_span_id;  // empty for a root span
  std::string service;
  std::string instance;
  std::string name;            // operation name
  SpanKind kind = SpanKind::kUnspecified;
  TimeNs start = 0;
  TimeNs end = 0;
  SpanStatus status = SpanStatus::kUnset;
  std::string status_message;
  std::string http_method;
  std::string http_url;        // full URL or route/target
  int http_status_code = 0;    // 0 if not HTTP
  std::string host;            // host the span ran on
  std::string peer;            // remote service/host for client spans
  Attributes attributes;

  TimeNs duration() const { return end - start; }
  bool is_error() const { return status == SpanStatus::kError || http_status_code >= 500; }
};

enum class MetricKind : uint8_t { kGauge = 0, kCounter = 1, kHistogram = 2 };

const char* MetricKindName(MetricKind k);

// One point of one time series. Counters are cumulative (monotonic unless
// reset); use align/ to turn them into rates.
struct MetricSample {
  std::string name;
  std::string service;  // from the resource or a `service`/`job` label; may be empty
  std::string instance;
  Attributes labels;    // sorted by key
  TimeNs time = 0;
  MetricKind kind = MetricKind::kGauge;
  double value = 0;     // gauge value, counter total, histogram sum
  // Histograms only: explicit bucket upper bounds (size n) and counts (size n+1).
  uint64_t count = 0;
  std::vector<double> bounds;
  std::vector<uint64_t> bucket_counts;
};

// Receives telemetry from a reader. Default methods drop the record.
class TelemetrySink {
 public:
  virtual ~TelemetrySink() = default;
  virtual void OnSpan(Span&& span) {}
  virtual void OnLog(LogRecord&& log) {}
  virtual void OnMetric(MetricSample&& sample) {}
};

// A sink that keeps everything in memory (tests, small inputs).
class CollectingSink : public TelemetrySink {
 public:
  void OnSpan(Span&& s) override { spans.push_back(std::move(s)); }
  void OnLog(LogRecord&& l) override { logs.push_back(std::move(l)); }
  void OnMetric(MetricSample&& m) override { metrics.push_back(std::move(m)); }
  std::vector<Span> spans;
  std::vector<LogRecord> logs;
  std::vector<MetricSample> metrics;
};

}  // namespace triad

#endif  // TRIAD_TELEMETRY_H_
