#include "eval/nezha_dataset.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "core/time_parse.h"
#include "ingest/dataset_csv.h"
#include "ingest/metric_csv.h"

namespace triad {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Interns names in first-seen order; Finish() sorts them and gives old -> new.
class Interner {
 public:
  uint16_t Id(const std::string& name) {
    auto [it, inserted] = ids_.emplace(name, static_cast<uint16_t>(names_.size()));
    if (inserted) {
      assert(names_.size() < std::numeric_limits<uint16_t>::max());
      names_.push_back(name);
    }
    return it->second;
  }
  // Sorted names into *sorted; returns remap[old id] = new id.
  std::vector<uint16_t> Finish(std::vector<std::string>* sorted) const {
    *sorted = names_;
    std::sort(sorted->begin(), sorted->end());
    std::vector<uint16_t> remap(names_.size());
    for (size_t i = 0; i < names_.size(); ++i)
      remap[i] = static_cast<uint16_t>(
          std::lower_bound(sorted->begin(), sorted->end(), names_[i]) - sorted->begin());
    return remap;
  }

 private:
  std::unordered_map<std::string, uint16_t> ids_;
  std::vector<std::string> names_;
};

struct Loader {
  Loader(const NezhaLoadOptions& o, NezhaDay* d) : opts(o), day(d) {}
  const NezhaLoadOptions& opts;
  NezhaDay* day;
  Interner services, pods;
  std::unordered_map<std::string, uint32_t> ops;
  std::vector<std::string> op_names;
  std::vector<uint16_t> pod_service;  // by interned pod id
  TimeNs lo = std::numeric_limits<TimeNs>::min(), hi = std::numeric_limits<TimeNs>::max();

  uint16_t Pod(const std::string& pod, const std::string& service) {
    const uint16_t p = pods.Id(pod);
    if (p == pod_service.size()) pod_service.push_back(services.Id(service.empty() ? pod : service));
    return p;
  }
  // True iff t is inside the accepted range; else counts a skip (`line` is
  // the record's ordinal in its file: the readers do not pass line numbers on).
  bool InRange(TimeNs t, const std::string& source, uint64_t line) {
    if (t >= lo && t < hi) return true;
    day->read_stats.Skip(source, line, "time outside the day (+- slack)");
    return false;
  }
};

// Per file: tracks the [first, last] time of its accepted records.
struct Coverage {
  TimeNs first = std::numeric_limits<TimeNs>::max(), last = std::numeric_limits<TimeNs>::min();
  void Add(TimeNs t) {
    first = std::min(first, t);
    last = std::max(last, t);
  }
};

class LogSink : public TelemetrySink {
 public:
  LogSink(Loader* l, DrainParser* parser, std::string source)
      : l_(l), parser_(parser), source_(std::move(source)) {}
  void OnLog(LogRecord&& r) override {
    ++n_;
    if (!l_->InRange(r.time, source_, n_ + 1)) return;
    NezhaLog g;
    g.time = r.time;
    g.pod = l_->Pod(r.instance, r.service);
    g.service = l_->pod_service[g.pod];
    g.severity = static_cast<uint8_t>(std::clamp(r.severity_number, 0, 255));
    g.template_id = parser_->Add(r.body).template_id;
    g.trace_id = std::move(r.trace_id);
    g.span_id = std::move(r.span_id);
    if (l_->opts.keep_messages) g.message = std::move(r.body);
    cov.Add(g.time);
    l_->day->logs.push_back(std::move(g));
  }
  Coverage cov;

 private:
  Loader* l_;
  DrainParser* parser_;
  std::string source_;
  uint64_t n_ = 0;
};

class SpanSink : public TelemetrySink {
 public:
  SpanSink(Loader* l, std::string source) : l_(l), source_(std::move(source)) {}
  void OnSpan(Span&& s) override {
    ++n_;
    if (!l_->InRange(s.start, source_, n_ + 1)) return;
    NezhaSpan g;
    g.start = s.start;
    g.end = s.end;
    g.pod = l_->Pod(s.instance, s.service);
    g.service = l_->pod_service[g.pod];
    auto [it, inserted] = l_->ops.emplace(s.name, static_cast<uint32_t>(l_->op_names.size()));
    if (inserted) l_->op_names.push_back(s.name);
    g.operation = it->second;
    g.trace_id = std::move(s.trace_id);
    g.span_id = std::move(s.span_id);
    g.parent_span_id = std::move(s.parent_span_id);
    cov.Add(g.start);
    l_->day->spans.push_back(std::move(g));
  }
  Coverage cov;

 private:
  Loader* l_;
  std::string source_;
  uint64_t n_ = 0;
};

// Collects one pod's samples into a dense table.
class MetricSink : public TelemetrySink {
 public:
  MetricSink(Loader* l, std::string source) : l_(l), source_(std::move(source)) {}
  void OnMetric(MetricSample&& m) override {
    ++n_;
    if (!l_->InRange(m.time, source_, n_)) return;
    if (instance_.empty()) {
      instance_ = m.instance;
      service_ = m.service;
    }
    cols_.emplace(m.name, 0);
    samples_.push_back({m.time, m.name, m.value});
  }
  bool Finish(NezhaPodMetrics* out) {
    if (samples_.empty()) return false;
    out->pod = l_->Pod(instance_, service_);
    out->service = l_->pod_service[out->pod];
    for (auto& [name, col] : cols_) {
      col = static_cast<int>(out->names.size());
      out->names.push_back(name);  // map order = sorted
    }
    for (const auto& s : samples_) out->times.push_back(s.t);
    std::sort(out->times.begin(), out->times.end());
    out->times.erase(std::unique(out->times.begin(), out->times.end()), out->times.end());
    const size_t d = out->names.size();
    out->values.assign(out->times.size() * d, std::numeric_limits<double>::quiet_NaN());
    for (const auto& s : samples_) {
      const size_t row = std::lower_bound(out->times.begin(), out->times.end(), s.t) - out->times.begin();
      out->values[row * d + cols_[s.name]] = s.v;  // a repeated (time, name) keeps the last
    }
    return true;
  }

 private:
  struct Sample {
    TimeNs t;
    std::string name;
    double v;
  };
  Loader* l_;
  std::string source_;
  uint64_t n_ = 0;
  std::string instance_, service_;
  std::map<std::string, int> cols_;
  std::vector<Sample> samples_;
};

// Files under dir/{fault,normal}/<kind>, sorted by file name (HH_MM_...), then path.
std::vector<fs::path> MinuteFiles(const fs::path& dir, const char* kind) {
  std::vector<fs::path> out;
  for (const char* part : {"fault", "normal"}) {
    const fs::path d = dir / part / kind;
    std::error_code ec;
    if (!fs::is_directory(d, ec)) continue;
    for (const auto& e : fs::directory_iterator(d, ec))
      if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) {
    const auto fa = a.filename().string(), fb = b.filename().string();
    return fa != fb ? fa < fb : a.string() < b.string();
  });
  return out;
}

void AddCoverage(const Coverage& c, std::vector<std::pair<TimeNs, TimeNs>>* out) {
  if (c.first <= c.last) out->push_back({c.first, c.last});
}

void MergeCoverage(std::vector<std::pair<TimeNs, TimeNs>>* v) {
  std::sort(v->begin(), v->end());
  std::vector<std::pair<TimeNs, TimeNs>> out;
  for (const auto& r : *v) {
    if (!out.empty() && r.first <= out.back().second) out.back().second = std::max(out.back().second, r.second);
    else out.push_back(r);
  }
  *v = std::move(out);
}

}  // namespace

std::string NezhaLoadTimes::Summary() const {
  return fmt::format("faults {:.2f} s, metrics {:.2f} s, logs {:.2f} s (read+decode {:.2f}, Drain {:.2f}), "
                     "traces {:.2f} s, total {:.2f} s",
                     faults, metrics, log_read + log_parse, log_read, log_parse, traces, total);
}

int NezhaDay::ServiceIndex(const std::string& name) const {
  auto it = std::lower_bound(services.begin(), services.end(), name);
  return it != services.end() && *it == name ? static_cast<int>(it - services.begin()) : -1;
}

int NezhaDay::PodIndex(const std::string& name) const {
  auto it = std::lower_bound(pods.begin(), pods.end(), name);
  return it != pods.end() && *it == name ? static_cast<int>(it - pods.begin()) : -1;
}

bool NezhaDay::LogCollected(TimeNs t) const {
  auto it = std::upper_bound(log_coverage.begin(), log_coverage.end(), t,
                             [](TimeNs x, const std::pair<TimeNs, TimeNs>& r) { return x < r.first; });
  return it != log_coverage.begin() && t <= std::prev(it)->second;
}

Status LoadNezhaDay(const std::string& dir, const NezhaLoadOptions& opts, NezhaDay* out) {
  const auto t_all = Clock::now();
  *out = NezhaDay();
  out->dir = dir;
  const fs::path root(dir);
  if (!fs::exists(root / "fault_list.json")) return Status::NotFound(dir + ": no fault_list.json");
  Loader l(opts, out);
  // The day's date from the directory name bounds the accepted times.
  TimeNs day0 = 0;
  const std::string date = root.filename().empty() ? root.parent_path().filename().string()
                                                   : root.filename().string();
  TimeParseOptions tpo;
  if (date.size() == 10 && ParseTimestamp(date + "T00:00:00Z", &day0, tpo)) {
    l.lo = day0 - opts.slack;
    l.hi = day0 + 86400 * kNsPerSec + opts.slack;
  }

  auto t0 = Clock::now();
  TRIAD_RETURN_IF_ERROR(
      LoadFaultEvents((root / "fault_list.json").string(), opts.faults, &out->faults, &out->read_stats));
  out->times.faults = Since(t0);

  if (opts.metrics && fs::is_directory(root / "metric")) {
    t0 = Clock::now();
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(root / "metric"))
      if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      const std::string name = f.filename().string();
      if (name.find("_metric.csv") == std::string::npos) {
        out->ignored_files.push_back(f.string());
        continue;
      }
      MetricSink sink(&l, f.string());
      TRIAD_RETURN_IF_ERROR(ReadMetricCsvFile(f.string(), {}, sink, &out->read_stats));
      NezhaPodMetrics pm;
      if (sink.Finish(&pm)) out->metrics.push_back(std::move(pm));
    }
    out->times.metrics = Since(t0);
  }

  out->parser = opts.parser ? opts.parser : std::make_shared<DrainParser>(opts.drain);
  if (opts.logs) {
    for (const fs::path& f : MinuteFiles(root, "log")) {
      // Read + decode first (timed apart from Drain), then parse in file order.
      t0 = Clock::now();
      CollectingSink raw;
      TRIAD_RETURN_IF_ERROR(ReadNezhaLogCsv(f.string(), raw, &out->read_stats));
      out->times.log_read += Since(t0);
      t0 = Clock::now();
      LogSink sink(&l, out->parser.get(), f.string());
      for (LogRecord& r : raw.logs) sink.OnLog(std::move(r));
      AddCoverage(sink.cov, &out->log_coverage);
      out->times.log_parse += Since(t0);
    }
    t0 = Clock::now();
    std::stable_sort(out->logs.begin(), out->logs.end(),
                     [](const NezhaLog& a, const NezhaLog& b) { return a.time < b.time; });
    MergeCoverage(&out->log_coverage);
    out->times.log_parse += Since(t0);
  }

  if (opts.traces) {
    t0 = Clock::now();
    for (const fs::path& f : MinuteFiles(root, "trace")) {
      SpanSink sink(&l, f.string());
      TRIAD_RETURN_IF_ERROR(ReadNezhaTraceCsv(f.string(), sink, &out->read_stats));
      AddCoverage(sink.cov, &out->trace_coverage);
    }
    std::stable_sort(out->spans.begin(), out->spans.end(),
                     [](const NezhaSpan& a, const NezhaSpan& b) { return a.start < b.start; });
    MergeCoverage(&out->trace_coverage);
    out->times.traces = Since(t0);
  }

  // Sorted names; remap the interned ids.
  const std::vector<uint16_t> srv = l.services.Finish(&out->services);
  const std::vector<uint16_t> pod = l.pods.Finish(&out->pods);
  out->pod_service.assign(out->pods.size(), 0);
  for (size_t i = 0; i < l.pod_service.size(); ++i) out->pod_service[pod[i]] = srv[l.pod_service[i]];
  for (auto& g : out->logs) {
    g.pod = pod[g.pod];
    g.service = out->pod_service[g.pod];
  }
  for (auto& m : out->metrics) {
    m.pod = pod[m.pod];
    m.service = out->pod_service[m.pod];
  }
  std::sort(out->metrics.begin(), out->metrics.end(),
            [](const NezhaPodMetrics& a, const NezhaPodMetrics& b) { return a.pod < b.pod; });
  out->operations = l.op_names;
  std::sort(out->operations.begin(), out->operations.end());
  std::vector<uint32_t> op_remap(l.op_names.size());
  for (size_t i = 0; i < l.op_names.size(); ++i)
    op_remap[i] = static_cast<uint32_t>(
        std::lower_bound(out->operations.begin(), out->operations.end(), l.op_names[i]) -
        out->operations.begin());
  for (auto& s : out->spans) {
    s.pod = pod[s.pod];
    s.service = out->pod_service[s.pod];
    s.operation = op_remap[s.operation];
  }

  // Range of the records.
  TimeNs b = std::numeric_limits<TimeNs>::max(), e = std::numeric_limits<TimeNs>::min();
  for (const auto& m : out->metrics)
    if (!m.times.empty()) b = std::min(b, m.times.front()), e = std::max(e, m.times.back());
  if (!out->logs.empty()) b = std::min(b, out->logs.front().time), e = std::max(e, out->logs.back().time);
  if (!out->spans.empty()) b = std::min(b, out->spans.front().start), e = std::max(e, out->spans.back().start);
  if (b <= e) out->begin = b, out->end = e;
  out->times.total = Since(t_all);
  return Status::OK();
}

void ReplayNezhaDay(const NezhaDay& day, TelemetrySink& sink, bool metrics, bool logs, bool spans) {
  if (metrics) {
    for (const auto& m : day.metrics) {
      for (size_t r = 0; r < m.times.size(); ++r)
        for (size_t c = 0; c < m.names.size(); ++c) {
          const double v = m.value(r, c);
          if (std::isnan(v)) continue;
          MetricSample s;
          s.name = m.names[c];
          s.service = day.services[m.service];
          s.instance = day.pods[m.pod];
          s.time = m.times[r];
          s.value = v;
          sink.OnMetric(std::move(s));
        }
    }
  }
  if (logs) {
    for (const auto& g : day.logs) {
      LogRecord r;
      r.time = g.time;
      r.severity_number = g.severity;
      r.service = day.services[g.service];
      r.instance = day.pods[g.pod];
      r.trace_id = g.trace_id;
      r.span_id = g.span_id;
      r.body = !g.message.empty() || g.template_id == 0 ? g.message : day.parser->TemplateText(g.template_id);
      sink.OnLog(std::move(r));
    }
  }
  if (spans) {
    for (const auto& g : day.spans) {
      Span s;
      s.start = g.start;
      s.end = g.end;
      s.service = day.services[g.service];
      s.instance = day.pods[g.pod];
      s.name = day.operations[g.operation];
      s.trace_id = g.trace_id;
      s.span_id = g.span_id;
      s.parent_span_id = g.parent_span_id;
      sink.OnSpan(std::move(s));
    }
  }
}

}  // namespace triad
