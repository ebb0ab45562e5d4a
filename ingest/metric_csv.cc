#include "ingest/metric_csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>

#include "core/time_parse.h"
#include "ingest/csv.h"
#include "ingest/dataset_csv.h"

namespace triad {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

enum class Num { kOk, kEmpty, kNaN, kBad };

// Parses a finite decimal/scientific number.
Num ParseNumber(std::string_view s, double* v) {
  s = Trim(s);
  if (s.empty()) return Num::kEmpty;
  if (s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return Num::kBad;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  if (ec != std::errc() || p != s.data() + s.size()) return Num::kBad;
  if (std::isnan(*v)) return Num::kNaN;
  if (!std::isfinite(*v)) return Num::kBad;
  return Num::kOk;
}

bool IsTimeName(const std::string& l) {
  static const char* kNames[] = {"timestamp", "time", "date", "datetime", "ts", "time_stamp",
                                 "unix_time", "epoch", "@timestamp", "time_ns", "timeunixnano"};
  for (const char* n : kNames)
    if (l == n) return true;
  return false;
}
bool IsServiceName(const std::string& l) {
  return l == "service" || l == "servicename" || l == "service_name" || l == "job";
}
bool IsPodName(const std::string& l) { return l == "podname" || l == "pod" || l == "pod_name"; }
bool IsInstanceName(const std::string& l) { return l == "instance" || l == "instance_id"; }
bool IsLabelName(const std::string& l) {
  return IsServiceName(l) || IsPodName(l) || IsInstanceName(l) || l == "host" || l == "hostname" ||
         l == "node" || l == "container" || l == "namespace";
}

void SortLabels(Attributes* labels) {
  std::sort(labels->begin(), labels->end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
}

struct Context {
  const MetricCsvOptions* opts;
  std::string file_service, file_instance;
  TelemetrySink* sink;
  ReadStats* st;
  std::string source;
};

// Reads the next well-formed record of exactly `ncols` fields into *fields
// and its line into *line; malformed records and records of another width
// are counted skips. Returns false at the end of the input.
bool NextRow(CsvReader& csv, size_t ncols, Context& c, std::vector<std::string_view>* fields,
             uint64_t* line) {
  std::string error;
  for (;;) {
    auto res = csv.Next(fields, &error);
    if (res == CsvReader::Result::kEnd) return false;
    ++c.st->lines;
    *line = csv.line_number();
    if (res == CsvReader::Result::kMalformed) {
      c.st->Skip(c.source, *line, error);
      continue;
    }
    if (fields->size() != ncols) {
      c.st->Skip(c.source, *line,
                 "expected " + std::to_string(ncols) + " columns, got " + std::to_string(fields->size()));
      continue;
    }
    return true;
  }
}


void CellSkip(Context& c, uint64_t line, Num why, std::string_view col) {
  const char* what = why == Num::kEmpty ? "empty cell" : why == Num::kNaN ? "NaN value" : "non-numeric cell";
  c.st->Skip(c.source, line, std::string(what) + " in column " + std::string(col));
}

// Header-less numeric rows (SMD).
void ReadBare(Context& c, CsvReader& csv, std::vector<std::string_view> first) {
  const size_t ncols = first.size();
  std::vector<std::string> names(ncols);
  for (size_t k = 0; k < ncols; ++k) names[k] = "m" + std::to_string(k);
  uint64_t row = 0;
  std::vector<std::string_view> fields = std::move(first);
  std::string error;
  bool have = true;
  while (have) {
    ++c.st->lines;
    if (fields.size() != ncols) {
      c.st->Skip(c.source, csv.line_number(),
                 "expected " + std::to_string(ncols) + " columns, got " + std::to_string(fields.size()));
    } else {
      TimeNs t = static_cast<TimeNs>(row) * kBareCsvRowInterval;
      for (size_t k = 0; k < ncols; ++k) {
        double v;
        Num n = ParseNumber(fields[k], &v);
        if (n != Num::kOk) {
          CellSkip(c, csv.line_number(), n, names[k]);
          continue;
        }
        MetricSample s;
        s.name = names[k];
        s.service = c.opts->service.empty() ? c.file_service : c.opts->service;
        s.instance = c.file_instance;
        s.time = t;
        s.value = v;
        ++c.st->records;
        c.sink->OnMetric(std::move(s));
      }
    }
    ++row;
    for (;;) {
      auto res = csv.Next(&fields, &error);
      if (res == CsvReader::Result::kEnd) {
        have = false;
        break;
      }
      if (res == CsvReader::Result::kRecord) break;
      ++c.st->lines;
      c.st->Skip(c.source, csv.line_number(), error);
      ++row;
    }
  }
}

// Wide: one time column, one gauge per numeric column.
void ReadWide(Context& c, CsvReader& csv, const std::vector<std::string>& header) {
  const size_t ncols = header.size();
  std::vector<std::string> lower(ncols);
  for (size_t k = 0; k < ncols; ++k) lower[k] = Lower(Trim(header[k]));
  std::vector<size_t> time_cols;
  for (size_t k = 0; k < ncols; ++k)
    if (IsTimeName(lower[k])) time_cols.push_back(k);
  if (time_cols.empty()) time_cols.push_back(0);
  enum Role : uint8_t { kMetric, kTime, kLabel, kUndecided };
  std::vector<Role> role(ncols, kUndecided);
  for (size_t k : time_cols) role[k] = kTime;
  for (size_t k = 0; k < ncols; ++k)
    if (role[k] != kTime && IsLabelName(lower[k])) role[k] = kLabel;
  bool decided = false;
  std::vector<std::string_view> fields;
  uint64_t line = 0;
  while (NextRow(csv, ncols, c, &fields, &line)) {
    if (!decided) {
      // Columns whose first value is text are labels (e.g. a pod name).
      for (size_t k = 0; k < ncols; ++k) {
        if (role[k] != kUndecided) continue;
        double v;
        role[k] = ParseNumber(fields[k], &v) == Num::kBad ? kLabel : kMetric;
      }
      decided = true;
    }
    TimeNs t = 0;
    bool have_time = false;
    for (size_t k : time_cols)
      if (ParseTimestamp(fields[k], &t)) {
        have_time = true;
        break;
      }
    if (!have_time) {
      c.st->Skip(c.source, line, "unparseable time '" + std::string(fields[time_cols[0]].substr(0, 64)) + "'");
      continue;
    }
    std::string service = c.opts->service, instance = c.file_instance, pod_service;
    Attributes labels;
    for (size_t k = 0; k < ncols; ++k) {
      if (role[k] != kLabel) continue;
      std::string_view v = Trim(fields[k]);
      if (IsServiceName(lower[k])) {
        if (service.empty()) service.assign(v);
      } else if (IsPodName(lower[k])) {
        instance.assign(v);
        pod_service = ServiceFromPodName(v);
      } else if (IsInstanceName(lower[k])) {
        instance.assign(v);
      } else {
        labels.emplace_back(header[k], std::string(v));
      }
    }
    if (service.empty()) service = !pod_service.empty() ? pod_service : c.file_service;
    SortLabels(&labels);
    for (size_t k = 0; k < ncols; ++k) {
      if (role[k] != kMetric) continue;
      double v;
      Num n = ParseNumber(fields[k], &v);
      if (n != Num::kOk) {
        CellSkip(c, line, n, header[k]);
        continue;
      }
      MetricSample s;
      s.name = header[k];
      s.service = service;
      s.instance = instance;
      s.labels = labels;
      s.time = t;
      s.value = v;
      ++c.st->records;
      c.sink->OnMetric(std::move(s));
    }
  }
}

// Long: time,name,value[,labels][,service][,instance][,kind][,other label columns].
void ReadLong(Context& c, CsvReader& csv, const std::vector<std::string>& header, int time_col,
              int name_col, int value_col) {
  const size_t ncols = header.size();
  int labels_col = -1, service_col = -1, instance_col = -1, kind_col = -1, pod_col = -1;
  std::vector<std::string> lower(ncols);
  for (size_t k = 0; k < ncols; ++k) {
    lower[k] = Lower(Trim(header[k]));
    int ik = static_cast<int>(k);
    if (ik == time_col || ik == name_col || ik == value_col) continue;
    if (lower[k] == "labels" || lower[k] == "tags") labels_col = ik;
    else if (IsServiceName(lower[k]) && service_col < 0) service_col = ik;
    else if (IsInstanceName(lower[k]) && instance_col < 0) instance_col = ik;
    else if (IsPodName(lower[k]) && pod_col < 0) pod_col = ik;
    else if (lower[k] == "kind" || lower[k] == "type") kind_col = ik;
  }
  std::vector<std::string_view> fields;
  uint64_t line = 0;
  while (NextRow(csv, ncols, c, &fields, &line)) {
    MetricSample s;
    if (!ParseTimestamp(fields[time_col], &s.time)) {
      c.st->Skip(c.source, line, "unparseable time '" + std::string(fields[time_col].substr(0, 64)) + "'");
      continue;
    }
    s.name.assign(Trim(fields[name_col]));
    if (s.name.empty()) {
      c.st->Skip(c.source, line, "empty metric name");
      continue;
    }
    Num n = ParseNumber(fields[value_col], &s.value);
    if (n != Num::kOk) {
      CellSkip(c, line, n, header[value_col]);
      continue;
    }
    if (kind_col >= 0) {
      std::string k = Lower(Trim(fields[kind_col]));
      if (k == "counter" || k == "sum" || k == "cumulative") s.kind = MetricKind::kCounter;
      else if (k.empty() || k == "gauge" || k == "untyped") s.kind = MetricKind::kGauge;
      else {
        c.st->Skip(c.source, line, "unsupported metric kind '" + k + "'");
        continue;
      }
    }
    bool bad_labels = false;
    if (labels_col >= 0) {
      std::string_view l = Trim(fields[labels_col]);
      while (!l.empty()) {
        size_t semi = l.find(';');
        std::string_view kv = Trim(l.substr(0, semi));
        l = semi == std::string_view::npos ? std::string_view() : l.substr(semi + 1);
        if (kv.empty()) continue;
        size_t eq = kv.find('=');
        if (eq == std::string_view::npos || eq == 0) {
          bad_labels = true;
          break;
        }
        s.labels.emplace_back(std::string(Trim(kv.substr(0, eq))), std::string(Trim(kv.substr(eq + 1))));
      }
    }
    if (bad_labels) {
      c.st->Skip(c.source, line, "malformed labels (want k=v;k=v)");
      continue;
    }
    for (size_t k = 0; k < ncols; ++k) {
      int ik = static_cast<int>(k);
      if (ik == time_col || ik == name_col || ik == value_col || ik == labels_col ||
          ik == service_col || ik == instance_col || ik == kind_col || ik == pod_col)
        continue;
      s.labels.emplace_back(header[k], std::string(Trim(fields[k])));
    }
    SortLabels(&s.labels);
    if (instance_col >= 0) s.instance.assign(Trim(fields[instance_col]));
    else if (pod_col >= 0) s.instance.assign(Trim(fields[pod_col]));
    else s.instance = c.file_instance;
    if (!c.opts->service.empty()) s.service = c.opts->service;
    else if (service_col >= 0) s.service.assign(Trim(fields[service_col]));
    if (s.service.empty() && pod_col >= 0) s.service = ServiceFromPodName(Trim(fields[pod_col]));
    if (s.service.empty()) s.service = c.file_service;
    ++c.st->records;
    c.sink->OnMetric(std::move(s));
  }
}

Status ReadMetricCsvImpl(LineReader& r, const MetricCsvOptions& opts, std::string file_service,
                         std::string file_instance, TelemetrySink& sink, ReadStats* stats) {
  ReadStats local;
  Context c{&opts, std::move(file_service), std::move(file_instance), &sink,
            stats != nullptr ? stats : &local, r.name()};
  CsvReader csv(&r);
  std::vector<std::string_view> fields;
  std::string error;
  // The first well-formed record decides the layout.
  for (;;) {
    auto res = csv.Next(&fields, &error);
    if (res == CsvReader::Result::kEnd) return FinishLineReader(r, c.st);
    if (res == CsvReader::Result::kRecord) {
      if (fields.size() == 1 && Trim(fields[0]).empty()) {
        ++c.st->lines;  // blank line before the header
        continue;
      }
      break;
    }
    ++c.st->lines;
    c.st->Skip(c.source, csv.line_number(), error);
  }
  bool all_numeric = true;
  for (auto f : fields) {
    double v;
    if (ParseNumber(f, &v) != Num::kOk) {
      all_numeric = false;
      break;
    }
  }
  if (all_numeric) {
    ReadBare(c, csv, fields);
    return FinishLineReader(r, c.st);
  }
  ++c.st->lines;  // the header
  std::vector<std::string> header(fields.begin(), fields.end());
  if (!header.empty() && header[0].size() >= 3 && header[0].compare(0, 3, "\xEF\xBB\xBF") == 0)
    header[0].erase(0, 3);  // UTF-8 BOM
  int time_col = -1, name_col = -1, value_col = -1;
  for (size_t k = 0; k < header.size(); ++k) {
    std::string l = Lower(Trim(header[k]));
    int ik = static_cast<int>(k);
    if (time_col < 0 && IsTimeName(l)) time_col = ik;
    else if (name_col < 0 && (l == "name" || l == "metric" || l == "metric_name" || l == "__name__"))
      name_col = ik;
    else if (value_col < 0 && l == "value") value_col = ik;
  }
  for (size_t a = 0; a < header.size(); ++a)
    for (size_t b = a + 1; b < header.size(); ++b)
      if (header[a] == header[b])
        return Status::InvalidArgument(c.source + ": duplicate column '" + header[a] + "'");
  if (time_col >= 0 && name_col >= 0 && value_col >= 0) {
    ReadLong(c, csv, header, time_col, name_col, value_col);
  } else {
    if (header.size() < 2)
      return Status::InvalidArgument(c.source + ": a metric CSV needs a time column and a value column");
    ReadWide(c, csv, header);
  }
  return FinishLineReader(r, c.st);
}

}  // namespace

Status ReadMetricCsv(LineReader& r, const MetricCsvOptions& opts, TelemetrySink& sink,
                     ReadStats* stats) {
  return ReadMetricCsvImpl(r, opts, "", "", sink, stats);
}

Status ReadMetricCsvFile(const std::string& path, const MetricCsvOptions& opts,
                         TelemetrySink& sink, ReadStats* stats) {
  std::unique_ptr<LineReader> r;
  TRIAD_RETURN_IF_ERROR(LineReader::Open(path, &r));
  std::string file_service, file_instance;
  if (path != "-") {
    std::string_view base = path;
    size_t slash = base.find_last_of('/');
    if (slash != std::string_view::npos) base.remove_prefix(slash + 1);
    for (std::string_view ext : {".gz", ".csv", ".txt", ".tsv"})
      if (base.size() > ext.size() && base.substr(base.size() - ext.size()) == ext)
        base.remove_suffix(ext.size());
    for (std::string_view suf : {"_metric", "_metrics", "-metric", "-metrics"})
      if (base.size() > suf.size() && base.substr(base.size() - suf.size()) == suf)
        base.remove_suffix(suf.size());
    std::string svc = ServiceFromPodName(base);
    if (svc != base) {
      file_instance.assign(base);
      file_service = svc;
    } else {
      file_service.assign(base);
    }
  }
  return ReadMetricCsvImpl(*r, opts, file_service, file_instance, sink, stats);
}

}  // namespace triad
