// A minimal Prometheus instrumentation registry for Triad's own health:
// counters, gauges and histograms (optionally with one label), rendered in the
// text exposition format 0.0.4. Thread-safe: updates are lock-free atomics
// once a series exists; creating a series takes a mutex.
#ifndef TRIAD_SERVE_PROM_METRICS_H_
#define TRIAD_SERVE_PROM_METRICS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace triad {

class PromCounter {
 public:
  void Add(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class PromGauge {
 public:
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Cumulative histogram with fixed upper bounds (seconds for latencies).
class PromHistogram {
 public:
  // REQUIRES: `bounds` strictly increasing.
  explicit PromHistogram(std::vector<double> bounds);
  void Observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Counts per bucket (size bounds()+1, the last is +Inf), not cumulative.
  std::vector<uint64_t> counts() const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};  // sum in millionths
};

// Latency buckets in seconds, 100 us .. 10 s.
std::vector<double> LatencyBuckets();

class PromRegistry {
 public:
  // Returns the series of family `name` with label `label`=`value` (no label
  // when `label` is empty), creating it on first use. The pointers stay valid
  // for the registry's lifetime. REQUIRES: a family keeps one type.
  PromCounter* Counter(const std::string& name, const std::string& help,
                       const std::string& label = "", const std::string& value = "");
  PromGauge* Gauge(const std::string& name, const std::string& help,
                   const std::string& label = "", const std::string& value = "");
  PromHistogram* Histogram(const std::string& name, const std::string& help,
                           std::vector<double> bounds, const std::string& label = "",
                           const std::string& value = "");

  // The text exposition of every series, families sorted by name.
  std::string Render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::string label;
    std::map<std::string, std::unique_ptr<PromCounter>> counters;  // by label value
    std::map<std::string, std::unique_ptr<PromGauge>> gauges;
    std::map<std::string, std::unique_ptr<PromHistogram>> histograms;
  };
  Family* Get(const std::string& name, Type type, const std::string& help,
              const std::string& label);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

}  // namespace triad

#endif  // TRIAD_SERVE_PROM_METRICS_H_
