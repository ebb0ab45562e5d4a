#include "serve/prom_metrics.h"

#include <fmt/core.h>

#include <algorithm>
#include <cassert>
#include <cmath>

namespace triad {
namespace {

std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  return fmt::format("{}", v);
}

std::string Labels(const std::string& label, const std::string& value, const std::string& extra) {
  std::string out;
  if (!label.empty()) out = label + "=\"" + EscapeLabel(value) + "\"";
  if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? "" : "{" + out + "}";
}

}  // namespace

PromHistogram::PromHistogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i + 1 < bounds_.size(); ++i) assert(bounds_[i] < bounds_[i + 1]);
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void PromHistogram::Observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  if (v > 0 && std::isfinite(v))
    sum_micros_.fetch_add(static_cast<uint64_t>(std::llround(v * 1e6)), std::memory_order_relaxed);
}

std::vector<uint64_t> PromHistogram::counts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

double PromHistogram::sum() const {
  return static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};
}

PromRegistry::Family* PromRegistry::Get(const std::string& name, Type type,
                                        const std::string& help, const std::string& label) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
    it->second.label = label;
  }
  assert(it->second.type == type);
  return &it->second;
}

PromCounter* PromRegistry::Counter(const std::string& name, const std::string& help,
                                   const std::string& label, const std::string& value) {
  std::lock_guard<std::mutex> l(mu_);
  auto& slot = Get(name, Type::kCounter, help, label)->counters[value];
  if (!slot) slot = std::make_unique<PromCounter>();
  return slot.get();
}

PromGauge* PromRegistry::Gauge(const std::string& name, const std::string& help,
                               const std::string& label, const std::string& value) {
  std::lock_guard<std::mutex> l(mu_);
  auto& slot = Get(name, Type::kGauge, help, label)->gauges[value];
  if (!slot) slot = std::make_unique<PromGauge>();
  return slot.get();
}

PromHistogram* PromRegistry::Histogram(const std::string& name, const std::string& help,
                                       std::vector<double> bounds, const std::string& label,
                                       const std::string& value) {
  std::lock_guard<std::mutex> l(mu_);
  auto& slot = Get(name, Type::kHistogram, help, label)->histograms[value];
  if (!slot) slot = std::make_unique<PromHistogram>(std::move(bounds));
  return slot.get();
}

std::string PromRegistry::Render() const {
  std::lock_guard<std::mutex> l(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    const char* type = f.type == Type::kCounter ? "counter"
                       : f.type == Type::kGauge ? "gauge"
                                                : "histogram";
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, f.help, name, type);
    for (const auto& [v, c] : f.counters)
      out += fmt::format("{}{} {}\n", name, Labels(f.label, v, ""), c->value());
    for (const auto& [v, g] : f.gauges)
      out += fmt::format("{}{} {}\n", name, Labels(f.label, v, ""), Num(g->value()));
    for (const auto& [v, h] : f.histograms) {
      std::vector<uint64_t> counts = h->counts();
      uint64_t cum = 0;
      for (size_t i = 0; i < counts.size(); ++i) {
        cum += counts[i];
        double le = i < h->bounds().size() ? h->bounds()[i] : INFINITY;
        out += fmt::format("{}_bucket{} {}\n", name,
                           Labels(f.label, v, "le=\"" + Num(le) + "\""), cum);
      }
      out += fmt::format("{}_sum{} {}\n", name, Labels(f.label, v, ""), Num(h->sum()));
      out += fmt::format("{}_count{} {}\n", name, Labels(f.label, v, ""), cum);
    }
  }
  return out;
}

}  // namespace triad
