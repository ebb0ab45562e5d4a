#include "detect/baseline.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace triad {
namespace {

using json = nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr size_t kTopContributions = 5;

double Median(std::vector<double> v) {
  assert(!v.empty());
  size_t n = v.size();
  std::nth_element(v.begin(), v.begin() + n / 2, v.end());
  double hi = v[n / 2];
  if (n % 2 == 1) return hi;
  double lo = *std::max_element(v.begin(), v.begin() + n / 2);
  return (lo + hi) / 2;
}

double QuantileOf(std::vector<double> v, double q) {
  assert(!v.empty());
  std::sort(v.begin(), v.end());
  double pos = q * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// Latencies are compared on a log scale (they are multiplicative and
// heavy-tailed): v -> log(1 + v).
bool LogScale(const std::string& f) { return EndsWith(f, "_ms"); }
double Transform(const std::string& f, double v) {
  return LogScale(f) ? std::log1p(std::max(v, 0.0)) : v;
}
double Untransform(const std::string& f, double v) { return LogScale(f) ? std::expm1(v) : v; }

bool IsCount(const std::string& f) {
  return f == "log:count" || f == "log:error" || f == "log:warn" || f == "trace:spans";
}
// Features where only an increase is anomalous.
bool UpOnly(const std::string& f) {
  return f == "log:error" || f == "log:warn" || EndsWith(f, "error_ratio");
}

double ScaleFloor(const std::string& f, double median, double window_s) {
  if (IsCount(f)) return std::sqrt(std::max(median, 1.0));
  if (EndsWith(f, ":rate"))  // events per second: Poisson on the window's count
    return std::max(std::sqrt(std::max(median * window_s, 1.0)) / window_s,
                    0.02 * std::fabs(median));
  if (EndsWith(f, "ratio")) return 0.02;
  if (LogScale(f)) return 0.05;  // ~5 % on the log scale
  return std::max(0.02 * std::fabs(median), 1e-6);
}

std::string Num(double v) {
  if (std::isnan(v)) return "absent";
  double a = std::fabs(v);
  if (a != 0 && (a >= 1e6 || a < 1e-3)) return fmt::format("{:.3g}", v);
  if (a >= 100) return fmt::format("{:.0f}", v);
  return fmt::format("{:.3g}", v);
}

// Linear up to 10, logarithmic above (so that 15 and 1500 still rank apart),
// never above cap.
double Compress(double z, double cap) {
  if (!(z > 0)) return 0;
  double c = z <= 10 ? z : 10 + 5 * std::log(z / 10);
  return std::min(c, cap);
}

double CountWeight(double weight, uint64_t n) {
  return n == 0 ? 0 : weight * (1.0 + std::log2(static_cast<double>(n)));
}

}  // namespace

BaselineDetector::BaselineDetector(BaselineConfig config) : config_(config) {}

void BaselineDetector::FitStats(const std::vector<const WindowFeatures*>& ws, TimeNs from,
                                TimeNs to) {
  services_.clear();
  double range_windows =
      std::max(1.0, std::round(static_cast<double>(to - from) / static_cast<double>(config_.window)));
  std::map<std::string, std::map<std::string, std::vector<double>>> values;
  for (const WindowFeatures* w : ws) {
    ServiceStats& s = services_[w->service];
    ++s.windows;
    for (const auto& [k, v] : w->features)
      if (std::isfinite(v)) values[w->service][k].push_back(Transform(k, v));
    for (const auto& [k, n] : w->templates) ++s.templates[k];
    for (const auto& [k, n] : w->callees) ++s.callees[k];
  }
  for (auto& [svc, s] : services_) {
    s.presence = std::min(1.0, static_cast<double>(s.windows) / range_windows);
    for (auto& [f, v] : values[svc]) {
      FeatureStats fs;
      fs.n = v.size();
      fs.presence = static_cast<double>(v.size()) / static_cast<double>(s.windows);
      fs.median = Median(v);
      std::vector<double> dev;
      dev.reserve(v.size());
      for (double x : v) dev.push_back(std::fabs(x - fs.median));
      fs.mad = Median(std::move(dev));
      fs.scale = std::max(1.4826 * fs.mad,
                          ScaleFloor(f, fs.median, static_cast<double>(config_.window) / kNsPerSec));
      s.features.emplace(f, fs);
    }
  }
}

Status BaselineDetector::Fit(const std::vector<WindowFeatures>& train) {
  if (train.empty()) return Status::InvalidArgument("baseline: no training windows");
  std::vector<const WindowFeatures*> all;
  TimeNs lo = train.front().start, hi = train.front().end;
  for (const auto& w : train) {
    if (w.end - w.start != config_.window)
      return Status::InvalidArgument(fmt::format(
          "baseline: window of {} s given, model uses {} s",
          static_cast<double>(w.end - w.start) / kNsPerSec,
          static_cast<double>(config_.window) / kNsPerSec));
    all.push_back(&w);
    lo = std::min(lo, w.start);
    hi = std::max(hi, w.end);
  }
  std::sort(all.begin(), all.end(), [](const WindowFeatures* a, const WindowFeatures* b) {
    return a->start != b->start ? a->start < b->start : a->service < b->service;
  });
  int64_t n_slots = (hi - lo) / config_.window;
  int64_t n_val = static_cast<int64_t>(std::floor(config_.validation_fraction * n_slots));
  std::vector<double> scores;
  if (n_val >= 5 && n_slots - n_val >= 5) {
    TimeNs split = lo + (n_slots - n_val) * config_.window;
    std::vector<const WindowFeatures*> fit;
    std::vector<WindowFeatures> val;
    for (const WindowFeatures* w : all) {
      if (w->start < split) {
        fit.push_back(w);
      } else {
        val.push_back(*w);
      }
    }
    FitStats(fit, lo, split);
    fitted_ = true;
    const WindowScore* top = nullptr;
    std::vector<WindowScore> vs = ScoreRange(val, split, hi);
    for (const auto& s : vs) {
      scores.push_back(s.score);
      if (top == nullptr || s.score > top->score) top = &s;
    }
    if (top != nullptr)
      spdlog::info("baseline: highest validation score {:.2f}: {} at {} s into training: {}",
                   top->score, top->service, (top->start - lo) / kNsPerSec,
                   DescribeEvidence(*top).substr(0, 300));
    threshold_source_ = fmt::format(
        "q{:g} of {} validation scores (last {} of {} training windows) x {:g}",
        config_.threshold_quantile, scores.size(), n_val, n_slots, config_.threshold_margin);
  }
  FitStats(all, lo, hi);
  fitted_ = true;
  if (scores.empty()) {
    for (const auto& s : ScoreRange(train, lo, hi)) scores.push_back(s.score);
    threshold_source_ = fmt::format(
        "q{:g} of {} in-sample training scores x {:g} (too little data to hold out validation)",
        config_.threshold_quantile, scores.size(), config_.threshold_margin);
  }
  double q = scores.empty() ? 0 : QuantileOf(scores, config_.threshold_quantile);
  threshold_ = std::max(config_.min_threshold, config_.threshold_margin * q);
  if (threshold_ == config_.min_threshold) threshold_source_ += " (raised to min_threshold)";
  train_windows_ = all.size();
  train_start_ = lo;
  train_end_ = hi;
  spdlog::info("baseline: fitted {} services on {} windows; threshold {:.3f} = {}",
               services_.size(), all.size(), threshold_, threshold_source_);
  return Status::OK();
}

WindowScore BaselineDetector::Score(const WindowFeatures& w) const {
  assert(fitted_);
  WindowScore out;
  out.service = w.service;
  out.start = w.start;
  out.end = w.end;
  std::vector<Contribution> c;
  auto it = services_.find(w.service);
  if (it == services_.end()) {
    c.push_back({"service:new", kNaN, kNaN, config_.new_edge_weight,
                 "service not seen in training"});
  } else {
    const ServiceStats& s = it->second;
    for (const auto& [f, fs] : s.features) {
      if (static_cast<int>(fs.n) < config_.min_windows) continue;
      auto fv = w.features.find(f);
      if (fv == w.features.end()) {
        if (fs.presence >= config_.presence_min && !StartsWith(f, "op:"))
          c.push_back({"missing:" + f, kNaN, Untransform(f, fs.median), config_.missing_feature_weight,
                       fmt::format("present in {:.0f}% of training windows", 100 * fs.presence)});
        continue;
      }
      double x = fv->second;
      if (!std::isfinite(x)) continue;
      double d = Transform(f, x) - fs.median;
      if (UpOnly(f)) d = std::max(d, 0.0);
      double z = Compress(std::fabs(d) / fs.scale, config_.z_cap);
      c.push_back({f, x, Untransform(f, fs.median), z, ""});
    }
    // Log templates.
    uint64_t n_new = 0, n_rare = 0;
    std::string new_key, rare_key;
    uint64_t new_max = 0, rare_max = 0;
    for (const auto& [k, n] : w.templates) {
      auto kt = s.templates.find(k);
      if (kt == s.templates.end()) {
        n_new += n;
        if (n > new_max) new_max = n, new_key = k;
      } else if (static_cast<double>(kt->second) <
                 config_.rare_template_fraction * static_cast<double>(s.windows)) {
        n_rare += n;
        if (n > rare_max) rare_max = n, rare_key = k;
      }
    }
    auto example = [&](const std::string& key) {
      auto e = w.template_examples.find(key);
      return e != w.template_examples.end() ? e->second : key;
    };
    if (n_new > 0)
      c.push_back({"log:new_templates", static_cast<double>(n_new), 0,
                   Compress(CountWeight(config_.new_template_weight, n_new), config_.z_cap),
                   "e.g. \"" + example(new_key) + "\""});
    if (n_rare > 0)
      c.push_back({"log:rare_templates", static_cast<double>(n_rare), 0,
                   Compress(0.5 * CountWeight(config_.new_template_weight, n_rare), config_.z_cap),
                   "e.g. \"" + example(rare_key) + "\""});
    // Call edges.
    uint64_t n_edge = 0;
    std::string callees;
    for (const auto& [k, n] : w.callees) {
      if (s.callees.count(k)) continue;
      n_edge += n;
      if (!callees.empty()) callees += ",";
      callees += k;
    }
    if (n_edge > 0)
      c.push_back({"trace:new_callees", static_cast<double>(n_edge), 0,
                   Compress(CountWeight(config_.new_edge_weight, n_edge), config_.z_cap),
                   "calls to " + callees});
    // Slowest operations relative to training.
    std::vector<std::pair<double, std::string>> slow;
    for (const auto& [f, x] : w.features) {
      if (!StartsWith(f, "op:") || !EndsWith(f, ":p95_ms")) continue;
      auto fs = s.features.find(f);
      if (fs == s.features.end()) continue;
      double expected = Untransform(f, fs->second.median);
      if (expected <= 0) continue;
      double ratio = x / expected;
      if (ratio < 1.5) continue;
      std::string op = f.substr(3, f.size() - 3 - 7);
      slow.push_back({ratio, fmt::format("{} p95 {}ms vs {}ms", op, Num(x), Num(expected))});
    }
    std::sort(slow.begin(), slow.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = 0; i < slow.size() && i < 3; ++i) out.slow_ops.push_back(slow[i].second);
  }
  std::stable_sort(c.begin(), c.end(),
                   [](const Contribution& a, const Contribution& b) { return a.z > b.z; });
  if (!c.empty()) {
    double top3 = 0;
    size_t k = std::min<size_t>(3, c.size());
    for (size_t i = 0; i < k; ++i) top3 += c[i].z;
    out.score = 0.5 * c.front().z + 0.5 * top3 / static_cast<double>(k);
  }
  for (size_t i = 0; i < c.size() && out.top.size() < kTopContributions; ++i)
    if (c[i].z > 0) out.top.push_back(std::move(c[i]));
  out.anomaly = out.score >= threshold_;
  return out;
}

std::vector<WindowScore> BaselineDetector::ScoreRange(const std::vector<WindowFeatures>& windows,
                                                      TimeNs from, TimeNs to) const {
  assert(fitted_);
  std::vector<WindowScore> out;
  std::set<std::pair<std::string, TimeNs>> seen;
  TimeNs origin = from;
  bool have_origin = false;
  for (const auto& w : windows) {
    if (w.start < from || w.start >= to) continue;
    if (!have_origin) origin = w.start, have_origin = true;
    out.push_back(Score(w));
    seen.insert({w.service, w.start});
  }
  TimeNs first = WindowStart(from, config_.window, origin);
  if (first < from) first += config_.window;
  for (const auto& [svc, s] : services_) {
    if (s.presence < config_.presence_min) continue;
    for (TimeNs t = first; t < to; t += config_.window) {
      if (seen.count({svc, t})) continue;
      WindowScore ws;
      ws.service = svc;
      ws.start = t;
      ws.end = t + config_.window;
      ws.score = config_.absent_weight;
      ws.top.push_back({"telemetry:absent", kNaN, kNaN, config_.absent_weight,
                        fmt::format("no data; present in {:.0f}% of training windows",
                                    100 * std::min(1.0, s.presence))});
      ws.anomaly = ws.score >= threshold_;
      out.push_back(std::move(ws));
    }
  }
  std::sort(out.begin(), out.end(), [](const WindowScore& a, const WindowScore& b) {
    return a.start != b.start ? a.start < b.start : a.service < b.service;
  });
  return out;
}

std::string BaselineDetector::ToJson() const {
  json cfg = {
      {"window_ns", config_.window},
      {"validation_fraction", config_.validation_fraction},
      {"threshold_quantile", config_.threshold_quantile},
      {"threshold_margin", config_.threshold_margin},
      {"min_threshold", config_.min_threshold},
      {"z_cap", config_.z_cap},
      {"new_template_weight", config_.new_template_weight},
      {"rare_template_fraction", config_.rare_template_fraction},
      {"new_edge_weight", config_.new_edge_weight},
      {"missing_feature_weight", config_.missing_feature_weight},
      {"absent_weight", config_.absent_weight},
      {"presence_min", config_.presence_min},
      {"min_windows", config_.min_windows},
  };
  json svcs = json::object();
  for (const auto& [name, s] : services_) {
    json feats = json::object();
    for (const auto& [f, fs] : s.features)
      feats[f] = {{"median", fs.median}, {"mad", fs.mad}, {"scale", fs.scale},
                  {"presence", fs.presence}, {"n", fs.n}};
    svcs[name] = {{"windows", s.windows},   {"presence", s.presence},
                  {"features", feats},      {"templates", s.templates},
                  {"callees", s.callees}};
  }
  json stats = {{"threshold", threshold_},
                {"threshold_source", threshold_source_},
                {"train_windows", train_windows_},
                {"train_start_ns", train_start_},
                {"train_end_ns", train_end_},
                {"services", svcs}};
  json doc = {{"format", "triad-model"},
              {"model", "baseline"},
              {"version", kVersion},
              {"config", cfg},
              {"stats", stats}};
  return doc.dump(1) + "\n";
}

Status BaselineDetector::FromJson(const std::string& text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return Status::Corruption("not a JSON object (expected a triad model file)");
  if (doc.value("format", std::string()) != "triad-model")
    return Status::InvalidArgument("not a triad model file (\"format\" is not \"triad-model\")");
  std::string model = doc.value("model", std::string());
  if (model != "baseline")
    return Status::InvalidArgument(fmt::format(
        "this is a '{}' model, not a 'baseline' model", model.empty() ? "unknown" : model));
  int version = doc.value("version", -1);
  if (version != kVersion)
    return Status::Unsupported(fmt::format(
        "baseline model version {} is not supported (this build reads version {})", version,
        kVersion));
  try {
    const json& c = doc.at("config");
    BaselineConfig cfg;
    cfg.window = c.at("window_ns").get<TimeNs>();
    cfg.validation_fraction = c.at("validation_fraction").get<double>();
    cfg.threshold_quantile = c.at("threshold_quantile").get<double>();
    cfg.threshold_margin = c.at("threshold_margin").get<double>();
    cfg.min_threshold = c.at("min_threshold").get<double>();
    cfg.z_cap = c.at("z_cap").get<double>();
    cfg.new_template_weight = c.at("new_template_weight").get<double>();
    cfg.rare_template_fraction = c.at("rare_template_fraction").get<double>();
    cfg.new_edge_weight = c.at("new_edge_weight").get<double>();
    cfg.missing_feature_weight = c.at("missing_feature_weight").get<double>();
    cfg.absent_weight = c.at("absent_weight").get<double>();
    cfg.presence_min = c.at("presence_min").get<double>();
    cfg.min_windows = c.at("min_windows").get<int>();
    if (cfg.window <= 0) return Status::Corruption("model config: window_ns must be > 0");
    const json& st = doc.at("stats");
    std::map<std::string, ServiceStats> svcs;
    for (const auto& [name, sj] : st.at("services").items()) {
      ServiceStats s;
      s.windows = sj.at("windows").get<uint64_t>();
      s.presence = sj.at("presence").get<double>();
      for (const auto& [f, fj] : sj.at("features").items()) {
        FeatureStats fs;
        fs.median = fj.at("median").get<double>();
        fs.mad = fj.at("mad").get<double>();
        fs.scale = fj.at("scale").get<double>();
        fs.presence = fj.at("presence").get<double>();
        fs.n = fj.at("n").get<uint64_t>();
        if (!(fs.scale > 0)) return Status::Corruption("model stats: scale must be > 0 for " + f);
        s.features.emplace(f, fs);
      }
      s.templates = sj.at("templates").get<std::map<std::string, uint64_t>>();
      s.callees = sj.at("callees").get<std::map<std::string, uint64_t>>();
      svcs.emplace(name, std::move(s));
    }
    config_ = cfg;
    services_ = std::move(svcs);
    threshold_ = st.at("threshold").get<double>();
    threshold_source_ = st.at("threshold_source").get<std::string>();
    train_windows_ = st.at("train_windows").get<uint64_t>();
    train_start_ = st.at("train_start_ns").get<TimeNs>();
    train_end_ = st.at("train_end_ns").get<TimeNs>();
  } catch (const json::exception& e) {
    return Status::Corruption(fmt::format("baseline model: {}", e.what()));
  }
  fitted_ = true;
  return Status::OK();
}

Status BaselineDetector::Save(const std::string& path) const {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Status::IOError("cannot create " + path);
  std::string text = ToJson();
  f.write(text.data(), static_cast<std::streamsize>(text.size()));
  f.close();
  if (!f) return Status::IOError("writing " + path + " failed");
  return Status::OK();
}

Status BaselineDetector::Load(const std::string& path, BaselineDetector* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::NotFound("cannot open model file " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  Status s = out->FromJson(ss.str());
  if (!s.ok()) {
    std::string msg = path + ": " + s.message();
    switch (s.code()) {
      case Status::Code::kUnsupported: return Status::Unsupported(msg);
      case Status::Code::kInvalidArgument: return Status::InvalidArgument(msg);
      default: return Status::Corruption(msg);
    }
  }
  return Status::OK();
}

std::string TopFeatureNames(const WindowScore& s) {
  std::string out;
  for (const auto& c : s.top) {
    if (!out.empty()) out += ';';
    out += c.feature;
  }
  return out;
}

std::string DescribeEvidence(const WindowScore& s) {
  std::string out;
  auto add = [&](const std::string& part) {
    if (!out.empty()) out += "; ";
    out += part;
  };
  for (const auto& c : s.top) {
    std::string part;
    if (c.feature == "log:new_templates" || c.feature == "log:rare_templates" ||
        c.feature == "trace:new_callees") {
      part = fmt::format("{}={} ({}, z={:.1f})", c.feature, Num(c.observed), c.detail, c.z);
    } else if (std::isnan(c.observed)) {
      part = fmt::format("{} ({}, z={:.1f})", c.feature, c.detail, c.z);
    } else {
      part = fmt::format("{}={} (expected {}, z={:.1f})", c.feature, Num(c.observed),
                         Num(c.expected), c.z);
    }
    add(part);
  }
  if (!s.slow_ops.empty()) {
    std::string ops = "slowest ops: ";
    for (size_t i = 0; i < s.slow_ops.size(); ++i) ops += (i ? ", " : "") + s.slow_ops[i];
    add(ops);
  }
  for (char& ch : out)
    if (ch == '\n' || ch == '\r') ch = ' ';
  return out;
}

}  // namespace triad
