#include "ingest/read_stats.h"

#include <spdlog/spdlog.h>

#include <string>

namespace triad {

void ReadStats::Skip(std::string_view source, uint64_t line, std::string_view why) {
  ++skipped;
  if (errors.size() < kMaxErrors) {
    std::string msg = std::string(source) + ":" + std::to_string(line) + ": " + std::string(why);
    spdlog::warn("skipped malformed record at {}", msg);
    errors.push_back(std::move(msg));
    if (errors.size() == kMaxErrors) spdlog::warn("further skip messages suppressed (counted)");
  }
}

void ReadStats::Merge(const ReadStats& o) {
  lines += o.lines;
  records += o.records;
  skipped += o.skipped;
  for (const auto& e : o.errors)
    if (errors.size() < kMaxErrors) errors.push_back(e);
}

std::string ReadStats::Summary() const {
  return std::to_string(records) + " records from " + std::to_string(lines) + " lines, " +
         std::to_string(skipped) + " skipped";
}

}  // namespace triad
