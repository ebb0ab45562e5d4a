#include "ingest/reader.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "ingest/csv.h"
#include "ingest/dataset_csv.h"
#include "ingest/jaeger_json.h"
#include "ingest/json_util.h"
#include "ingest/line_reader.h"
#include "ingest/loghub_reader.h"
#include "ingest/metric_csv.h"
#include "ingest/otlp_json.h"
#include "ingest/otlp_proto.h"
#include "ingest/prometheus_text.h"
#include "ingest/zipkin_json.h"

namespace triad {
namespace {

constexpr size_t kHeadBytes = 64 << 10;

struct FormatName {
  InputFormat format;
  const char* name;
};
constexpr FormatName kFormats[] = {
    {InputFormat::kAuto, "auto"},
    {InputFormat::kOtlpJson, "otlp"},
    {InputFormat::kJaegerJson, "jaeger"},
    {InputFormat::kZipkinJson, "zipkin"},
    {InputFormat::kLoghub, "loghub"},
    {InputFormat::kMetricCsv, "metric-csv"},
    {InputFormat::kPrometheus, "prometheus"},
    {InputFormat::kNezhaTraceCsv, "nezha-trace"},
    {InputFormat::kNezhaLogCsv, "nezha-log"},
    {InputFormat::kDeepTraLogCsv, "deeptralog"},
    {InputFormat::kOtlpProto, "otlp-proto"},
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool Contains(std::string_view head, std::string_view token) {
  return head.find(token) != std::string_view::npos;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool IsNumber(std::string_view s) {
  s = Trim(s);
  if (!s.empty() && s.front() == '"' && s.back() == '"' && s.size() >= 2)
    s = s.substr(1, s.size() - 2);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  double d;
  auto r = std::from_chars(s.data(), s.data() + s.size(), d);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool IsPromValue(std::string_view s) {
  if (s == "NaN" || s == "+Inf" || s == "-Inf" || s == "Inf") return true;
  return IsNumber(s);
}

// `name{labels} value [timestamp]` or `name value [timestamp]`.
bool IsPrometheusSample(std::string_view line) {
  size_t i = 0;
  auto name_char = [](char c, bool first) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
           (!first && std::isdigit(static_cast<unsigned char>(c)));
  };
  if (line.empty() || !name_char(line[0], true)) return false;
  while (i < line.size() && name_char(line[i], i == 0)) ++i;
  if (i < line.size() && line[i] == '{') {
    size_t close = line.rfind('}');
    if (close == std::string_view::npos || close < i) return false;
    i = close + 1;
  }
  if (i >= line.size() || (line[i] != ' ' && line[i] != '\t')) return false;
  std::string_view rest = Trim(line.substr(i));
  size_t sp = rest.find_first_of(" \t");
  std::string_view value = rest.substr(0, sp);
  if (!IsPromValue(value)) return false;
  if (sp == std::string_view::npos) return true;
  std::string_view ts = Trim(rest.substr(sp));
  int64_t t;
  auto r = std::from_chars(ts.data(), ts.data() + ts.size(), t);
  return r.ec == std::errc() && r.ptr == ts.data() + ts.size();
}

bool IsTimeColumn(const std::string& lower) {
  return lower == "ts" || lower.find("time") != std::string::npos ||
         lower.find("date") != std::string::npos;
}

std::vector<std::string> HeadLines(std::string_view head, bool truncated, size_t max_lines) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < head.size() && lines.size() < max_lines) {
    size_t nl = head.find('\n', pos);
    if (nl == std::string_view::npos) {
      if (!truncated) lines.emplace_back(Trim(head.substr(pos)));
      break;
    }
    std::string_view l = Trim(head.substr(pos, nl - pos));
    if (!l.empty()) lines.emplace_back(l);
    pos = nl + 1;
  }
  return lines;
}

bool HasAll(const std::vector<std::string>& cols, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (std::find(cols.begin(), cols.end(), n) == cols.end()) return false;
  return true;
}

Status ReadHead(const std::string& path, std::string* head, bool* truncated) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) return Status::IOError(path + ": cannot open");
  head->resize(kHeadBytes);
  int n = gzread(gz, head->data(), static_cast<unsigned>(kHeadBytes));
  gzclose(gz);
  if (n < 0) return Status::IOError(path + ": read error");
  head->resize(static_cast<size_t>(n));
  *truncated = head->size() == kHeadBytes;
  return Status::OK();
}

std::string ResolveLogFormat(const std::string& f) {
  if (!f.empty() && f.find('<') == std::string::npos) {
    std::string known = LoghubFormatFor(f);
    if (!known.empty()) return known;
  }
  return f;
}

TimeNs NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Reads from an open reader (stdin buffered for detection).
Status ReadFrom(LineReader& r, InputFormat f, const ReadOptions& opts, TelemetrySink& sink,
                ReadStats* stats) {
  switch (f) {
    case InputFormat::kOtlpJson:
      return ForEachJsonDocument(r, stats, [&](std::string_view d, std::string_view s, uint64_t l) {
        return ParseOtlpJson(d, sink, stats, s, l);
      });
    case InputFormat::kJaegerJson:
      return ForEachJsonDocument(r, stats, [&](std::string_view d, std::string_view s, uint64_t l) {
        return ParseJaegerJson(d, sink, stats, s, l);
      });
    case InputFormat::kZipkinJson:
      return ForEachJsonDocument(r, stats, [&](std::string_view d, std::string_view s, uint64_t l) {
        return ParseZipkinJson(d, sink, stats, s, l);
      });
    case InputFormat::kLoghub:
      return ReadLoghub(r, LoghubOptions{ResolveLogFormat(opts.log_format), opts.service}, sink,
                        stats);
    case InputFormat::kMetricCsv:
      return ReadMetricCsv(r, MetricCsvOptions{opts.service}, sink, stats);
    case InputFormat::kPrometheus:
      return ReadPrometheusText(r, NowNs(), sink, stats);
    case InputFormat::kNezhaTraceCsv:
      return ReadNezhaTraceCsv(r, sink, stats);
    case InputFormat::kNezhaLogCsv:
      return ReadNezhaLogCsv(r, sink, stats);
    case InputFormat::kDeepTraLogCsv:
      return ReadDeepTraLogCsv(r, sink, stats);
    case InputFormat::kOtlpProto: {
      std::string data;
      TRIAD_RETURN_IF_ERROR(r.ReadAll(&data));
      return ParseOtlpProtoFile(data, sink, stats, r.name());
    }
    case InputFormat::kAuto:
      break;
  }
  return Status::InvalidArgument("no input format");
}

Status ReadPath(const std::string& path, InputFormat f, const ReadOptions& opts,
                TelemetrySink& sink, ReadStats* stats) {
  switch (f) {
    case InputFormat::kOtlpJson:
      return ReadOtlpJsonFile(path, sink, stats);
    case InputFormat::kJaegerJson:
      return ReadJaegerJsonFile(path, sink, stats);
    case InputFormat::kZipkinJson:
      return ReadZipkinJsonFile(path, sink, stats);
    case InputFormat::kLoghub:
      return ReadLoghubFile(path, LoghubOptions{ResolveLogFormat(opts.log_format), opts.service},
                            sink, stats);
    case InputFormat::kMetricCsv:
      return ReadMetricCsvFile(path, MetricCsvOptions{opts.service}, sink, stats);
    case InputFormat::kPrometheus:
      return ReadPrometheusTextFile(path, sink, stats);
    case InputFormat::kNezhaTraceCsv:
      return ReadNezhaTraceCsv(path, sink, stats);
    case InputFormat::kNezhaLogCsv:
      return ReadNezhaLogCsv(path, sink, stats);
    case InputFormat::kDeepTraLogCsv:
      return ReadDeepTraLogCsv(path, sink, stats);
    case InputFormat::kOtlpProto:
      return ReadOtlpProtoFile(path, sink, stats);
    case InputFormat::kAuto:
      break;
  }
  return Status::InvalidArgument("no input format");
}

Status Undetected(const std::string& path) {
  return Status::InvalidArgument(
      path + ": cannot detect the input format; pass --format (otlp, otlp-proto, jaeger, zipkin, "
             "loghub, metric-csv, prometheus, nezha-trace, nezha-log, deeptralog), or --log-format "
             "\"<Date> <Time> <Level> <Component>: <Content>\" for raw logs");
}

}  // namespace

bool ParseInputFormat(std::string_view name, InputFormat* out) {
  std::string n = Lower(Trim(name));
  for (const auto& f : kFormats)
    if (n == f.name) {
      *out = f.format;
      return true;
    }
  // A few aliases.
  if (n == "otlp-json" || n == "otel") *out = InputFormat::kOtlpJson;
  else if (n == "otlp-protobuf" || n == "otlp-pb") *out = InputFormat::kOtlpProto;
  else if (n == "jaeger-json") *out = InputFormat::kJaegerJson;
  else if (n == "zipkin-json") *out = InputFormat::kZipkinJson;
  else if (n == "prom" || n == "prometheus-text") *out = InputFormat::kPrometheus;
  else if (n == "csv" || n == "metric_csv") *out = InputFormat::kMetricCsv;
  else return false;
  return true;
}

const char* InputFormatName(InputFormat f) {
  for (const auto& e : kFormats)
    if (e.format == f) return e.name;
  return "?";
}

InputFormat DetectInputFormat(std::string_view head, std::string_view name,
                              bool have_log_format) {
  // Binary input: only OTLP/protobuf is read (checked before any text trimming,
  // as a request may start with a LF byte).
  const std::string_view start = head.substr(0, 512);
  const bool binary = std::any_of(start.begin(), start.end(), [](char c) {
    return (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
           c == 0x7f;
  });
  if (binary && LooksLikeOtlpProto(head)) return InputFormat::kOtlpProto;
  if (head.size() >= 3 && head.substr(0, 3) == "\xEF\xBB\xBF") head.remove_prefix(3);
  size_t first = head.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return InputFormat::kAuto;
  const bool truncated = head.size() >= kHeadBytes;
  std::string_view body = head.substr(first);
  if (body[0] == '{') {
    for (const char* k : {"\"resourceSpans\"", "\"resourceLogs\"", "\"resourceMetrics\"",
                          "\"resource_spans\"", "\"resource_logs\"", "\"resource_metrics\""})
      if (Contains(body, k)) return InputFormat::kOtlpJson;
    for (const char* k : {"\"data\"", "\"traceID\"", "\"spanID\"", "\"processes\""})
      if (Contains(body, k)) return InputFormat::kJaegerJson;
    if (Contains(body, "\"traceId\"") &&
        (Contains(body, "\"localEndpoint\"") || Contains(body, "\"timestamp\"")))
      return InputFormat::kZipkinJson;
    return InputFormat::kAuto;
  }
  if (body[0] == '[') {
    if (Contains(body, "\"traceID\"") || Contains(body, "\"spanID\""))
      return InputFormat::kJaegerJson;
    return InputFormat::kZipkinJson;
  }
  std::vector<std::string> lines = HeadLines(body, truncated, 12);
  if (lines.empty()) return InputFormat::kAuto;
  // CSV header of the public datasets.
  std::vector<std::string> cols;
  SplitCsvLine(lines[0], &cols);
  for (auto& c : cols) c = Lower(Trim(c));
  if (HasAll(cols, {"traceid", "spanid", "parentid", "podname"})) return InputFormat::kNezhaTraceCsv;
  if (HasAll(cols, {"timeunixnano", "log"})) return InputFormat::kNezhaLogCsv;
  if (HasAll(cols, {"starttime", "endtime", "url", "spantype"})) return InputFormat::kDeepTraLogCsv;
  const std::string lower_name = Lower(name);
  if (lines[0].rfind("# HELP ", 0) == 0 || lines[0].rfind("# TYPE ", 0) == 0 ||
      EndsWith(lower_name, ".prom") || EndsWith(lower_name, ".prom.gz"))
    return InputFormat::kPrometheus;
  if (have_log_format) return InputFormat::kLoghub;
  // Metric CSV: a time-like header column and a number in the second row, or numbers only.
  if (cols.size() >= 2) {
    int time_col = -1;
    for (size_t i = 0; i < cols.size(); ++i)
      if (IsTimeColumn(cols[i])) {
        time_col = static_cast<int>(i);
        break;
      }
    if (time_col >= 0 && lines.size() >= 2) {
      std::vector<std::string> row;
      SplitCsvLine(lines[1], &row);
      for (size_t i = 0; i < row.size(); ++i)
        if (static_cast<int>(i) != time_col && IsNumber(row[i])) return InputFormat::kMetricCsv;
    }
    bool all_numeric = true;
    for (const auto& c : cols) all_numeric = all_numeric && IsNumber(c);
    if (all_numeric) return InputFormat::kMetricCsv;
  }
  // Prometheus samples without HELP/TYPE comments.
  size_t samples = 0;
  bool all_samples = true;
  for (const auto& l : lines) {
    if (l[0] == '#') continue;
    if (!IsPrometheusSample(l)) {
      all_samples = false;
      break;
    }
    ++samples;
  }
  if (all_samples && samples > 0) return InputFormat::kPrometheus;
  return InputFormat::kAuto;
}

Status ReadTelemetry(const std::string& path, const ReadOptions& opts, TelemetrySink& sink,
                     ReadStats* stats, InputFormat* used) {
  InputFormat f = opts.format;
  if (f == InputFormat::kLoghub && opts.log_format.empty())
    return Status::InvalidArgument(path +
                                   ": loghub input needs a log format (--log-format, e.g. "
                                   "\"<Date> <Time> <Level> <Component>: <Content>\" or HDFS)");
  if (path == "-" && f == InputFormat::kAuto) {
    std::unique_ptr<LineReader> in;
    TRIAD_RETURN_IF_ERROR(LineReader::Open(path, &in));
    std::string data;
    TRIAD_RETURN_IF_ERROR(in->ReadAll(&data));
    f = DetectInputFormat(std::string_view(data).substr(0, kHeadBytes), "",
                          !opts.log_format.empty());
    if (used != nullptr) *used = f;
    if (f == InputFormat::kAuto) return Undetected("<stdin>");
    std::unique_ptr<LineReader> r =
        LineReader::FromString(data, f == InputFormat::kOtlpJson || f == InputFormat::kJaegerJson ||
                                             f == InputFormat::kZipkinJson
                                         ? kMaxJsonLine
                                         : LineReader::kDefaultMaxLine);
    return ReadFrom(*r, f, opts, sink, stats);
  }
  if (path != "-" && !IsReadable(path)) return Status::NotFound(path + ": cannot open for reading");
  if (f == InputFormat::kAuto) {
    std::string head;
    bool truncated = false;
    TRIAD_RETURN_IF_ERROR(ReadHead(path, &head, &truncated));
    f = DetectInputFormat(head, path, !opts.log_format.empty());
    if (f == InputFormat::kAuto) {
      if (used != nullptr) *used = f;
      return Undetected(path);
    }
  }
  if (used != nullptr) *used = f;
  return ReadPath(path, f, opts, sink, stats);
}

}  // namespace triad
