#include "ingest/read_stats.h"

#include <spdlog/spdlog.h>

#include <string>

namespace triad {

void ReadStats::Skip(std::string_view source, uint64_t line, std::string_view why) {
  ++skipped;
  if (errors.size() < kMaxErrors) {
    if (source.size() > kMaxErrorBytes) source = source.substr(0, kMaxErrorBytes);
    if (why.size() > kMaxErrorBytes) {
      size_t n = kMaxErrorBytes;  // do not split a UTF-8 character
      while (n > 0 && (static_cast<unsigned char>(why[n]) & 0xC0) == 0x80) --n;
      why = why.substr(0, n);
    }
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
  truncated += o.truncated;
  dropped_attributes += o.dropped_attributes;
  for (const auto& e : o.errors)
    if (errors.size() < kMaxErrors) errors.push_back(e);
}

std::string ReadStats::Summary() const {
  return std::to_string(records) + " records from " + std::to_string(lines) + " lines, " +
         std::to_string(skipped) + " skipped";
}

}  // namespace triad
