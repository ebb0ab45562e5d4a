// `triad inspect`: reads telemetry files and summarises what they hold
// (format, record counts, traces, services, time range, skipped records).
#include <fmt/core.h>

#include <algorithm>
#include <ctime>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "cli/command.h"
#include "ingest/reader.h"

namespace triad::cli {
namespace {

struct ServiceCounts {
  uint64_t spans = 0, logs = 0, metrics = 0;
  uint64_t total() const { return spans + logs + metrics; }
};

class InspectSink : public TelemetrySink {
 public:
  void OnSpan(Span&& s) override {
    ++spans;
    if (s.is_error()) ++error_spans;
    if (s.parent_span_id.empty()) ++root_spans;
    traces.insert(s.trace_id);
    ++services[s.service].spans;
    See(s.start);
    See(s.end);
  }
  void OnLog(LogRecord&& l) override {
    ++logs;
    if (IsErrorSeverity(l.severity_number)) ++error_logs;
    ++services[l.service].logs;
    See(l.time);
  }
  void OnMetric(MetricSample&& m) override {
    ++metrics;
    metric_names.insert(m.name);
    ++services[m.service].metrics;
    See(m.time);
  }

  uint64_t spans = 0, error_spans = 0, root_spans = 0, logs = 0, error_logs = 0, metrics = 0;
  std::unordered_set<std::string> traces, metric_names;
  std::map<std::string, ServiceCounts> services;
  TimeNs min_time = std::numeric_limits<TimeNs>::max();
  TimeNs max_time = std::numeric_limits<TimeNs>::min();
  uint64_t untimed = 0;

 private:
  void See(TimeNs t) {
    if (t == 0) {
      ++untimed;
      return;
    }
    min_time = std::min(min_time, t);
    max_time = std::max(max_time, t);
  }
};

std::string FormatUtc(TimeNs t) {
  std::time_t secs = static_cast<std::time_t>(t / kNsPerSec);
  TimeNs frac = t % kNsPerSec;
  if (frac < 0) {
    frac += kNsPerSec;
    --secs;
  }
  std::tm tm{};
  if (gmtime_r(&secs, &tm) == nullptr) return std::to_string(t) + "ns";
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:03d}Z", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     static_cast<int>(frac / kNsPerMs));
}

std::string FormatDuration(TimeNs d) {
  double s = static_cast<double>(d) / kNsPerSec;
  if (s < 120) return fmt::format("{:.3f}s", s);
  if (s < 7200) return fmt::format("{:.1f}min", s / 60);
  if (s < 172800) return fmt::format("{:.1f}h", s / 3600);
  return fmt::format("{:.1f}d", s / 86400);
}

// Returns true iff the input could be read.
bool Inspect(const std::string& path, const ReadOptions& opts) {
  InspectSink sink;
  ReadStats stats;
  InputFormat used = opts.format;
  Status st = ReadTelemetry(path, opts, sink, &stats, &used);
  fmt::print("== {}\n", path);
  fmt::print("format:    {}\n", used == InputFormat::kAuto ? "unknown" : InputFormatName(used));
  if (!st.ok()) {
    fmt::print("error:     {}\n", st.ToString());
    if (stats.records == 0 && stats.skipped == 0) return false;
  }
  fmt::print("spans:     {} ({} traces, {} root spans, {} errors)\n", sink.spans,
             sink.traces.size(), sink.root_spans, sink.error_spans);
  fmt::print("logs:      {} ({} error/fatal)\n", sink.logs, sink.error_logs);
  fmt::print("metrics:   {} samples of {} metrics\n", sink.metrics, sink.metric_names.size());
  if (!sink.services.empty()) {
    std::vector<std::pair<std::string, ServiceCounts>> svc(sink.services.begin(),
                                                           sink.services.end());
    std::stable_sort(svc.begin(), svc.end(), [](const auto& a, const auto& b) {
      return a.second.total() > b.second.total();
    });
    fmt::print("services:  {}\n", svc.size());
    constexpr size_t kMaxShown = 25;
    for (size_t i = 0; i < svc.size() && i < kMaxShown; ++i) {
      const auto& [name, c] = svc[i];
      std::string parts;
      auto add = [&](uint64_t n, const char* what) {
        if (n == 0) return;
        if (!parts.empty()) parts += ", ";
        parts += fmt::format("{} {}", n, what);
      };
      add(c.spans, "spans");
      add(c.logs, "logs");
      add(c.metrics, "metric samples");
      fmt::print("  {:<32} {}\n", name.empty() ? "(none)" : name, parts);
    }
    if (svc.size() > kMaxShown) fmt::print("  ... and {} more\n", svc.size() - kMaxShown);
  }
  if (sink.min_time <= sink.max_time)
    fmt::print("time:      {} .. {} ({})\n", FormatUtc(sink.min_time), FormatUtc(sink.max_time),
               FormatDuration(sink.max_time - sink.min_time));
  else
    fmt::print("time:      (none)\n");
  if (sink.untimed > 0) fmt::print("untimed:   {} records without a time\n", sink.untimed);
  fmt::print("read:      {}\n", stats.Summary());
  if (stats.skipped > 0) {
    fmt::print("skipped:   {} (first {}):\n", stats.skipped, stats.errors.size());
    constexpr size_t kMaxErrors = 5;
    for (size_t i = 0; i < stats.errors.size() && i < kMaxErrors; ++i)
      fmt::print("  {}\n", stats.errors[i]);
  }
  return st.ok();
}

void Setup(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "Summarise telemetry files (any supported format)");
  struct Args {
    std::string format = "auto";
    std::string log_format;
    std::string service;
    std::vector<std::string> inputs;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--format", args->format,
                  "Input format: auto, otlp, jaeger, zipkin, loghub, metric-csv, prometheus, "
                  "nezha-trace, nezha-log, deeptralog");
  cmd->add_option("--log-format", args->log_format,
                  "Raw-log header format, e.g. \"<Date> <Time> <Level> <Component>: <Content>\", "
                  "or a loghub system name (HDFS, BGL, ...)");
  cmd->add_option("--service", args->service, "Service name for inputs that carry none");
  cmd->add_option("inputs", args->inputs, "Input files (plain or gzip; - for stdin)")
      ->required();
  cmd->callback([args] {
    ReadOptions opts;
    if (!ParseInputFormat(args->format, &opts.format)) {
      fmt::print(stderr, "triad inspect: unknown --format '{}'\n", args->format);
      SetExitCode(2);
      return;
    }
    opts.log_format = args->log_format;
    opts.service = args->service;
    bool all_ok = true;
    for (size_t i = 0; i < args->inputs.size(); ++i) {
      if (i > 0) fmt::print("\n");
      all_ok = Inspect(args->inputs[i], opts) && all_ok;
    }
    if (!all_ok) SetExitCode(1);
  });
}

CommandRegistration reg(40, Setup);

}  // namespace
}  // namespace triad::cli
