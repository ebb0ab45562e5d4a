// libFuzzer target: the metric CSV reader (wide, long and header-less layouts).
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/metric_csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);  // skip warnings are noise here
    return true;
  }();
  (void)quiet;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = triad::LineReader::FromString(text);
  triad::CollectingSink sink;
  triad::ReadStats stats;
  triad::Status s = triad::ReadMetricCsv(*r, {}, sink, &stats);
  (void)s;  // a bad header is a Status, never a crash
  for (const auto& m : sink.metrics)
    if (m.value != m.value) __builtin_trap();  // NaN never emitted
  return 0;
}
