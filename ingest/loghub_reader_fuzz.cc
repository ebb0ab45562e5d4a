// libFuzzer target: the loghub line matcher with fixed formats (one with an
// optional group), fed the input's bytes as lines.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/loghub_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);  // skip warnings are noise here
    return true;
  }();
  (void)quiet;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static const char* kSystems[] = {"HDFS", "Zookeeper", "Linux", "BGL"};
  for (const char* sys : kSystems) {
    auto r = triad::LineReader::FromString(text);
    triad::TelemetrySink sink;  // drops records
    triad::ReadStats stats;
    triad::LoghubOptions opts{triad::LoghubFormatFor(sys), ""};
    triad::Status s = triad::ReadLoghub(*r, opts, sink, &stats);
    if (!s.ok()) __builtin_trap();  // fixed valid format, in-memory input
    if (stats.records + stats.skipped > stats.lines) __builtin_trap();
  }
  return 0;
}
