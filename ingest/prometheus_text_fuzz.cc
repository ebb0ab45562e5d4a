// libFuzzer target: the Prometheus text exposition parser.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/prometheus_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);  // skip warnings are noise here
    return true;
  }();
  (void)quiet;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  triad::CollectingSink sink;
  triad::ReadStats stats;
  triad::Status s = triad::ParsePrometheusText(text, 0, sink, &stats, "fuzz");
  if (!s.ok()) __builtin_trap();
  for (const auto& m : sink.metrics) {
    if (m.kind == triad::MetricKind::kHistogram) {
      if (m.bucket_counts.size() != m.bounds.size() + 1) __builtin_trap();
      uint64_t total = 0;
      for (uint64_t c : m.bucket_counts) total += c;
      (void)total;
    }
  }
  return 0;
}
