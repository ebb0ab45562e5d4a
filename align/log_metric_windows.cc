#include "align/log_metric_windows.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "align/counter_rate.h"
#include "ingest/dataset_csv.h"

namespace triad {

namespace {

constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

struct LogRec {
  TimeNs t;
  uint64_t seq;
  uint32_t tid;
  bool error;
};
struct MetRec {
  TimeNs t;
  uint64_t seq;
  double v;
};

template <typename R>
void SortRecs(std::vector<R>* v) {
  std::sort(v->begin(), v->end(), [](const R& a, const R& b) {
    return a.t != b.t ? a.t < b.t : a.seq < b.seq;
  });
}

template <typename R>
size_t LowerBound(const std::vector<R>& v, TimeNs t) {
  return static_cast<size_t>(
      std::lower_bound(v.begin(), v.end(), t, [](const R& r, TimeNs x) { return r.t < x; }) -
      v.begin());
}

size_t CountIn(const std::vector<TimeNs>& sorted, TimeNs lo, TimeNs hi) {
  return static_cast<size_t>(std::lower_bound(sorted.begin(), sorted.end(), hi) -
                             std::lower_bound(sorted.begin(), sorted.end(), lo));
}

// floor((t - origin) / step) * step + origin, for negative differences too.
TimeNs GridFloor(TimeNs t, TimeNs origin, TimeNs step) {
  TimeNs d = t - origin;
  TimeNs q = d / step;
  if (d % step != 0 && d < 0) --q;
  return origin + q * step;
}

std::string ScopeOf(const std::string& service, const std::string& instance) {
  if (!service.empty()) return service;
  if (!instance.empty()) return ServiceFromPodName(instance);
  return "unknown";
}

}  // namespace

std::vector<std::string> MetricSchema::SystemFeatures() const {
  std::vector<std::string> out;
  for (const auto& [scope, feats] : features)
    for (const auto& f : feats) out.push_back(scope + "/" + f);
  return out;
}

std::string LogMetricStats::Summary() const {
  return fmt::format(
      "{} logs, {} metric samples; {} windows ({} without logs, {} without metrics); "
      "late {} (dropped {}), skewed {} from {} sources, NaN {}, unknown metric {}, "
      "out of range {}, log ids truncated {}",
      logs, metric_samples, windows, windows_missing_logs, windows_missing_metrics, late,
      late_dropped, skewed, skewed_sources, nan_values, unknown_metric_samples, out_of_range,
      logs_truncated);
}

struct LogMetricWindowBuilder::Impl {
  std::map<std::string, std::vector<LogRec>> logs;                              // scope ->
  std::map<std::string, std::map<std::string, std::vector<MetRec>>> metrics;    // scope -> name ->
  std::map<std::string, std::vector<TimeNs>> late_times, skew_times;            // scope ->
  std::unordered_map<std::string, TimeNs> watermark;                            // source ->
  std::set<std::string> skewed_sources;
  std::unordered_map<std::string, CounterRate> counters;                        // source|name ->
  uint64_t seq = 0;
  TimeNs min_t = std::numeric_limits<TimeNs>::max();
  TimeNs max_t = std::numeric_limits<TimeNs>::min();

  // Updates the source's watermark; returns true iff the record is late.
  bool CheckLate(const std::string& source, TimeNs t, TimeNs lateness) {
    auto [it, inserted] = watermark.emplace(source, t);
    if (inserted) return false;
    const bool late = t < it->second - lateness;
    if (t > it->second) it->second = t;
    return late;
  }
};

LogMetricWindowBuilder::LogMetricWindowBuilder(LogMetricOptions opts, DrainConfig drain)
    : opts_(opts), parser_(std::make_unique<DrainParser>(drain)), impl_(std::make_unique<Impl>()) {
  assert(opts_.tau > 0 && opts_.step >= 0 && opts_.metric_steps >= 1);
  if (opts_.step == 0) opts_.step = opts_.tau;
  if (opts_.max_fill_age <= 0) opts_.max_fill_age = opts_.tau;
}

LogMetricWindowBuilder::~LogMetricWindowBuilder() = default;

void LogMetricWindowBuilder::SetParser(std::unique_ptr<DrainParser> parser, bool learn) {
  assert(parser != nullptr);
  parser_ = std::move(parser);
  learn_ = learn;
}

void LogMetricWindowBuilder::SetSchema(MetricSchema schema) {
  schema_ = std::move(schema);
  for (auto& [scope, feats] : schema_.features) {
    std::sort(feats.begin(), feats.end());
    feats.erase(std::unique(feats.begin(), feats.end()), feats.end());
  }
  schema_fixed_ = true;
}

void LogMetricWindowBuilder::OnLog(LogRecord&& log) {
  const std::string src_name = log.instance.empty() ? log.service : log.instance;
  if (log.time == 0) {
    read_stats_.Skip("log:" + src_name, stats_.logs + stats_.metric_samples + 1, "log record without a time");
    return;
  }
  const std::string scope = ScopeOf(log.service, log.instance);
  const std::string source = "log|" + (log.instance.empty() ? scope : log.instance);
  const bool late = impl_->CheckLate(source, log.time, opts_.allowed_lateness);
  const bool skewed = log.observed_time != 0 &&
                      std::llabs(log.observed_time - log.time) > opts_.max_skew;
  ++stats_.logs;
  ++read_stats_.records;
  impl_->min_t = std::min(impl_->min_t, log.time);
  impl_->max_t = std::max(impl_->max_t, log.time);
  if (skewed) {
    ++stats_.skewed;
    impl_->skew_times[scope].push_back(log.time);
    if (impl_->skewed_sources.insert(source).second) ++stats_.skewed_sources;
  }
  if (late) {
    ++stats_.late;
    impl_->late_times[scope].push_back(log.time);
    if (opts_.drop_late) {
      ++stats_.late_dropped;
      return;
    }
  }
  uint32_t tid = learn_ ? parser_->Add(log.body).template_id : parser_->Match(log.body);
  impl_->logs[scope].push_back(
      {log.time, impl_->seq++, tid, IsErrorSeverity(log.severity_number)});
}

void LogMetricWindowBuilder::OnMetric(MetricSample&& sample) { AddMetric(std::move(sample), 0); }

void LogMetricWindowBuilder::AddMetric(MetricSample&& s, TimeNs observed_time) {
  const std::string src_name = s.instance.empty() ? s.service : s.instance;
  if (s.time == 0) {
    read_stats_.Skip("metric:" + src_name, stats_.logs + stats_.metric_samples + 1,
                     "metric sample without a time");
    return;
  }
  if (!std::isfinite(s.value)) {
    ++stats_.nan_values;
    return;
  }
  const std::string scope = ScopeOf(s.service, s.instance);
  const std::string source = "metric|" + (s.instance.empty() ? scope : s.instance);
  const bool late = impl_->CheckLate(source, s.time, opts_.allowed_lateness);
  const bool skewed = observed_time != 0 && std::llabs(observed_time - s.time) > opts_.max_skew;
  ++stats_.metric_samples;
  ++read_stats_.records;
  impl_->min_t = std::min(impl_->min_t, s.time);
  impl_->max_t = std::max(impl_->max_t, s.time);
  if (skewed) {
    ++stats_.skewed;
    impl_->skew_times[scope].push_back(s.time);
    if (impl_->skewed_sources.insert(source).second) ++stats_.skewed_sources;
  }
  if (late) {
    ++stats_.late;
    impl_->late_times[scope].push_back(s.time);
    if (opts_.drop_late) {
      ++stats_.late_dropped;
      return;
    }
  }
  double value = s.value;
  if (opts_.counter_rates && s.kind == MetricKind::kCounter) {
    CounterIncrease inc;
    if (!impl_->counters[source + "|" + s.name].Add(s.time, s.value, &inc)) {
      ++stats_.counter_unpaired;
      return;
    }
    value = inc.delta / (static_cast<double>(inc.dt) / static_cast<double>(kNsPerSec));
  }
  impl_->metrics[scope][s.name].push_back({s.time, impl_->seq++, value});
}

namespace {

// Fills the [T] column `col` of one feature for window [s, e) from sorted records.
void FillColumn(const std::vector<MetRec>& recs, TimeNs s, TimeNs e, int T, TimeNs dt,
                LogMetricOptions::Resample how, TimeNs max_fill_age, float* vals, uint8_t* mask,
                int stride, uint64_t* samples) {
  // Observed cells.
  size_t i = LowerBound(recs, s);
  // Carry-forward state: the last sample before the cell.
  bool have_last = i > 0;
  double last_v = have_last ? recs[i - 1].v : 0;
  TimeNs last_t = have_last ? recs[i - 1].t : 0;
  for (int c = 0; c < T; ++c) {
    const TimeNs c0 = s + c * dt, c1 = (c == T - 1) ? e : c0 + dt;
    float& v = vals[c * stride];
    uint8_t& m = mask[c * stride];
    size_t j = i;
    double sum = 0;
    while (j < recs.size() && recs[j].t < c1) sum += recs[j++].v;
    if (j > i) {
      m = 1;
      *samples += j - i;
      v = static_cast<float>(how == LogMetricOptions::Resample::kMean
                                 ? sum / static_cast<double>(j - i)
                                 : recs[j - 1].v);
      have_last = true;
      last_v = recs[j - 1].v;
      last_t = recs[j - 1].t;
    } else {
      m = 0;
      v = (have_last && c0 - last_t <= max_fill_age) ? static_cast<float>(last_v) : kNaNf;
    }
    i = j;
  }
  // Back-fill what carry-forward could not.
  float next = kNaNf;
  for (int c = T - 1; c >= 0; --c) {
    if (mask[c * stride]) next = vals[c * stride];
    else if (std::isnan(vals[c * stride])) vals[c * stride] = next;
  }
}

}  // namespace

std::vector<LogMetricWindow> LogMetricWindowBuilder::Build() {
  Impl& im = *impl_;
  for (auto& [scope, v] : im.logs) SortRecs(&v);
  for (auto& [scope, m] : im.metrics)
    for (auto& [name, v] : m) SortRecs(&v);
  for (auto* tm : {&im.late_times, &im.skew_times})
    for (auto& [scope, v] : *tm) std::sort(v.begin(), v.end());

  stats_.windows = stats_.windows_missing_logs = stats_.windows_missing_metrics = 0;
  stats_.unknown_metric_samples = stats_.out_of_range = stats_.logs_truncated = 0;

  // Schema.
  if (!schema_fixed_) {
    schema_.features.clear();
    for (const auto& [scope, m] : im.metrics) {
      auto& f = schema_.features[scope];
      for (const auto& [name, v] : m) f.push_back(name);
    }
  } else {
    for (const auto& [scope, m] : im.metrics) {
      auto it = schema_.features.find(scope);
      for (const auto& [name, v] : m) {
        if (it == schema_.features.end() ||
            !std::binary_search(it->second.begin(), it->second.end(), name))
          stats_.unknown_metric_samples += v.size();
      }
    }
  }

  // Scopes.
  std::set<std::string> scope_set;
  for (const auto& [s, f] : schema_.features) scope_set.insert(s);
  for (const auto& [s, v] : im.logs) scope_set.insert(s);
  for (const auto& [s, v] : im.metrics) scope_set.insert(s);
  for (const auto& [s, v] : im.late_times) scope_set.insert(s);
  const std::vector<std::string> scopes(scope_set.begin(), scope_set.end());

  // Range.
  const TimeNs tau = opts_.tau, step = opts_.step;
  TimeNs first, last;
  if (opts_.to > opts_.from) {
    first = GridFloor(opts_.from, opts_.origin, step);
    if (first < opts_.from) first += step;
    last = GridFloor(opts_.to - 1, opts_.origin, step);
  } else {
    if (im.min_t > im.max_t) return {};
    first = GridFloor(im.min_t, opts_.origin, step);
    last = GridFloor(im.max_t, opts_.origin, step);
  }
  std::vector<LogMetricWindow> out;
  if (last < first) return out;
  const TimeNs range_end = last + tau;
  for (const auto& [s, v] : im.logs)
    for (const auto& r : v) stats_.out_of_range += (r.t < first || r.t >= range_end);
  for (const auto& [s, m] : im.metrics)
    for (const auto& [n, v] : m)
      for (const auto& r : v) stats_.out_of_range += (r.t < first || r.t >= range_end);

  const int T = opts_.metric_steps;
  const TimeNs dt = tau / T;
  const std::vector<LogRec> kNoLogs;
  std::vector<TimeNs> all_late, all_skew;
  for (const auto& [s, v] : im.late_times) all_late.insert(all_late.end(), v.begin(), v.end());
  for (const auto& [s, v] : im.skew_times) all_skew.insert(all_skew.end(), v.begin(), v.end());
  std::sort(all_late.begin(), all_late.end());
  std::sort(all_skew.begin(), all_skew.end());
  // All logs merged for the system scope.
  std::vector<LogRec> all_logs;
  if (opts_.system) {
    for (const auto& [s, v] : im.logs) all_logs.insert(all_logs.end(), v.begin(), v.end());
    SortRecs(&all_logs);
  }
  int system_dims = 0;
  for (const auto& [s, f] : schema_.features) system_dims += static_cast<int>(f.size());

  auto fill_logs = [&](const std::vector<LogRec>& recs, LogMetricWindow* w) {
    const size_t a = LowerBound(recs, w->start), b = LowerBound(recs, w->end);
    w->log_count = b - a;
    for (size_t k = a; k < b; ++k) {
      if (w->templates.size() < opts_.max_log_len) w->templates.push_back(recs[k].tid);
      w->error_logs += recs[k].error;
    }
    w->logs_truncated = w->log_count - w->templates.size();
    stats_.logs_truncated += w->logs_truncated;
    w->missing_logs = w->log_count == 0;
  };
  auto finish = [&](LogMetricWindow* w) {
    w->missing_metrics = w->dims > 0 && w->metric_samples == 0;
    ++stats_.windows;
    stats_.windows_missing_logs += w->missing_logs;
    stats_.windows_missing_metrics += w->missing_metrics;
  };

  for (TimeNs s = first; s <= last; s += step) {
    LogMetricWindow sys;
    if (opts_.system) {
      sys.scope = kSystemScope;
      sys.start = s;
      sys.end = s + tau;
      sys.steps = T;
      sys.dims = system_dims;
      sys.values.assign(static_cast<size_t>(T) * system_dims, kNaNf);
      sys.mask.assign(static_cast<size_t>(T) * system_dims, 0);
      fill_logs(all_logs, &sys);
      sys.late_records = CountIn(all_late, s, s + tau);
      sys.skewed_records = CountIn(all_skew, s, s + tau);
    }
    int sys_col = 0;
    for (const std::string& sc : scopes) {
      LogMetricWindow w;
      w.scope = sc;
      w.start = s;
      w.end = s + tau;
      w.steps = T;
      auto fit = schema_.features.find(sc);
      const std::vector<std::string>* feats = fit == schema_.features.end() ? nullptr : &fit->second;
      w.dims = feats ? static_cast<int>(feats->size()) : 0;
      w.values.assign(static_cast<size_t>(T) * w.dims, kNaNf);
      w.mask.assign(static_cast<size_t>(T) * w.dims, 0);
      auto lit = im.logs.find(sc);
      fill_logs(lit == im.logs.end() ? kNoLogs : lit->second, &w);
      if (feats) {
        auto mit = im.metrics.find(sc);
        for (int f = 0; f < w.dims; ++f) {
          const std::vector<MetRec>* recs = nullptr;
          if (mit != im.metrics.end()) {
            auto r = mit->second.find((*feats)[f]);
            if (r != mit->second.end()) recs = &r->second;
          }
          if (recs == nullptr) continue;  // stays NaN / mask 0
          FillColumn(*recs, w.start, w.end, T, dt, opts_.resample, opts_.max_fill_age,
                     w.values.data() + f, w.mask.data() + f, w.dims, &w.metric_samples);
        }
      }
      auto lt = im.late_times.find(sc);
      if (lt != im.late_times.end()) w.late_records = CountIn(lt->second, s, s + tau);
      auto st = im.skew_times.find(sc);
      if (st != im.skew_times.end()) w.skewed_records = CountIn(st->second, s, s + tau);
      if (opts_.system && w.dims > 0) {
        for (int t = 0; t < T; ++t)
          for (int f = 0; f < w.dims; ++f) {
            const size_t src = static_cast<size_t>(t) * w.dims + f;
            const size_t dst = static_cast<size_t>(t) * system_dims + sys_col + f;
            sys.values[dst] = w.values[src];
            sys.mask[dst] = w.mask[src];
          }
        sys.metric_samples += w.metric_samples;
        sys_col += w.dims;
      }
      if (opts_.per_service) {
        finish(&w);
        out.push_back(std::move(w));
      }
    }
    if (opts_.system) {
      finish(&sys);
      out.push_back(std::move(sys));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const LogMetricWindow& a, const LogMetricWindow& b) {
    return a.start != b.start ? a.start < b.start : a.scope < b.scope;
  });
  return out;
}

void LabelWindows(const std::vector<FaultEvent>& faults, std::vector<LogMetricWindow>* windows) {
  for (LogMetricWindow& w : *windows) {
    w.label = 0;
    w.root_causes.clear();
    for (const FaultEvent& f : faults) {
      if (f.start < w.end && w.start < f.end) {
        w.label = 1;
        if (!f.service.empty()) w.root_causes.push_back(f.service);
      }
    }
    std::sort(w.root_causes.begin(), w.root_causes.end());
    w.root_causes.erase(std::unique(w.root_causes.begin(), w.root_causes.end()),
                        w.root_causes.end());
    w.scope_is_root_cause =
        w.scope == kSystemScope
            ? w.label == 1
            : std::binary_search(w.root_causes.begin(), w.root_causes.end(), w.scope);
  }
}

std::vector<const LogMetricWindow*> WindowsOfScope(const std::vector<LogMetricWindow>& windows,
                                                   const std::string& scope) {
  std::vector<const LogMetricWindow*> out;
  for (const auto& w : windows)
    if (w.scope == scope) out.push_back(&w);
  return out;
}

// ---- MetricNormalizer --------------------------------------------------------

MetricNormalizer MetricNormalizer::Fit(const std::vector<LogMetricWindow>& train,
                                       const MetricSchema& schema) {
  MetricNormalizer n;
  struct Acc {
    uint64_t n = 0;
    double mean = 0, m2 = 0;
  };
  std::map<std::string, std::vector<Acc>> acc;
  auto names_of = [&](const std::string& scope) {
    if (scope == kSystemScope) return schema.SystemFeatures();
    auto it = schema.features.find(scope);
    return it == schema.features.end() ? std::vector<std::string>{} : it->second;
  };
  for (const auto& [scope, f] : schema.features) {
    for (const auto& name : f) n.scopes_[scope].push_back({name, 0, 1, 0});
  }
  for (const LogMetricWindow& w : train) {
    if (w.dims == 0) continue;
    auto it = n.scopes_.find(w.scope);
    if (it == n.scopes_.end()) {
      std::vector<std::string> names = names_of(w.scope);
      if (static_cast<int>(names.size()) != w.dims) continue;  // not of this schema
      auto& v = n.scopes_[w.scope];
      for (const auto& name : names) v.push_back({name, 0, 1, 0});
      it = n.scopes_.find(w.scope);
    }
    if (static_cast<int>(it->second.size()) != w.dims) continue;
    auto& a = acc[w.scope];
    a.resize(w.dims);
    for (int t = 0; t < w.steps; ++t)
      for (int f = 0; f < w.dims; ++f) {
        const size_t c = static_cast<size_t>(t) * w.dims + f;
        if (!w.mask[c] || !std::isfinite(w.values[c])) continue;
        Acc& x = a[f];
        ++x.n;
        const double d = w.values[c] - x.mean;
        x.mean += d / static_cast<double>(x.n);
        x.m2 += d * (w.values[c] - x.mean);
      }
  }
  for (auto& [scope, feats] : n.scopes_) {
    auto ait = acc.find(scope);
    if (ait == acc.end()) continue;
    for (size_t f = 0; f < feats.size() && f < ait->second.size(); ++f) {
      const Acc& x = ait->second[f];
      feats[f].count = x.n;
      if (x.n == 0) continue;
      feats[f].mean = x.mean;
      const double sd = std::sqrt(std::max(0.0, x.m2 / static_cast<double>(x.n)));
      // Zero variance (up to float rounding of the stored values): keep sd 1.
      feats[f].sd = sd > 1e-7 * std::max(1.0, std::fabs(x.mean)) ? sd : 1.0;
    }
  }
  return n;
}

Status MetricNormalizer::Apply(std::vector<LogMetricWindow>* windows) const {
  for (LogMetricWindow& w : *windows) {
    if (w.dims == 0) continue;
    auto it = scopes_.find(w.scope);
    if (it == scopes_.end())
      return Status::InvalidArgument("z-score: no training statistics for scope " + w.scope);
    if (static_cast<int>(it->second.size()) != w.dims)
      return Status::InvalidArgument(fmt::format("z-score: scope {} has {} features, window has {}",
                                                 w.scope, it->second.size(), w.dims));
    for (int t = 0; t < w.steps; ++t)
      for (int f = 0; f < w.dims; ++f) {
        float& v = w.values[static_cast<size_t>(t) * w.dims + f];
        const Feature& ft = it->second[f];
        v = std::isnan(v) ? 0.0f : static_cast<float>((v - ft.mean) / ft.sd);
      }
  }
  return Status::OK();
}

MetricSchema MetricNormalizer::schema() const {
  MetricSchema s;
  for (const auto& [scope, feats] : scopes_) {
    if (scope == kSystemScope) continue;
    auto& v = s.features[scope];
    for (const auto& f : feats) v.push_back(f.name);
  }
  return s;
}

const std::vector<MetricNormalizer::Feature>* MetricNormalizer::Find(const std::string& scope) const {
  auto it = scopes_.find(scope);
  return it == scopes_.end() ? nullptr : &it->second;
}

std::string MetricNormalizer::ToJson() const {
  nlohmann::json j;
  j["format"] = kFormatTag;
  j["version"] = kFormatVersion;
  nlohmann::json scopes = nlohmann::json::object();
  for (const auto& [scope, feats] : scopes_) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& f : feats)
      arr.push_back({{"name", f.name}, {"mean", f.mean}, {"sd", f.sd}, {"count", f.count}});
    scopes[scope] = std::move(arr);
  }
  j["scopes"] = std::move(scopes);
  return j.dump();
}

Status MetricNormalizer::FromJson(std::string_view text, MetricNormalizer* out) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("not a JSON object");
  if (!j.contains("format") || j["format"] != kFormatTag)
    return Status::Corruption("not a " + std::string(kFormatTag) + " file");
  if (!j.contains("version") || j["version"] != kFormatVersion)
    return Status::Unsupported("unsupported version");
  MetricNormalizer n;
  try {
    for (const auto& [scope, arr] : j.at("scopes").items()) {
      auto& v = n.scopes_[scope];
      for (const auto& f : arr) {
        Feature ft;
        ft.name = f.at("name").get<std::string>();
        ft.mean = f.at("mean").get<double>();
        ft.sd = f.at("sd").get<double>();
        ft.count = f.at("count").get<uint64_t>();
        if (!std::isfinite(ft.mean) || !(ft.sd > 0))
          return Status::Corruption("bad mean/sd for " + scope + "/" + ft.name);
        v.push_back(std::move(ft));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(e.what());
  }
  *out = std::move(n);
  return Status::OK();
}

Status MetricNormalizer::Save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::IOError("cannot create " + path);
  out << ToJson() << "\n";
  out.close();
  if (!out) return Status::IOError("cannot write " + path);
  return Status::OK();
}

Status MetricNormalizer::Load(const std::string& path, MetricNormalizer* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  Status s = FromJson(ss.str(), out);
  if (s.ok()) return s;
  const std::string msg = path + ": " + s.message();
  return s.code() == Status::Code::kUnsupported ? Status::Unsupported(msg) : Status::Corruption(msg);
}

}  // namespace triad
