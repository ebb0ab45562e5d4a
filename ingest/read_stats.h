// ReadStats: what a reader did with its input. Every malformed record is
// counted and its first occurrences are kept (and logged) with file and
// line/offset, so bad input is never silently dropped.
#ifndef TRIAD_INGEST_READ_STATS_H_
#define TRIAD_INGEST_READ_STATS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace triad {

struct ReadStats {
  uint64_t lines = 0;    // input lines (or documents) seen
  uint64_t records = 0;  // spans + logs + metric samples emitted
  uint64_t skipped = 0;  // malformed records skipped
  // Values cut and attributes dropped by IngestLimits (ingest/ingest_limits.h);
  // the records themselves were kept.
  uint64_t truncated = 0;
  uint64_t dropped_attributes = 0;
  std::vector<std::string> errors;  // the first kMaxErrors skip reasons, "source:line: why"
  static constexpr size_t kMaxErrors = 20;
  static constexpr size_t kMaxErrorBytes = 512;

  // Counts one skipped record; keeps and logs (spdlog warn) the first kMaxErrors
  // (`why` cut to kMaxErrorBytes: hostile input may be long).
  void Skip(std::string_view source, uint64_t line, std::string_view why);
  // Adds another reader's counts into this one.
  void Merge(const ReadStats& other);
  // "N records from M lines, K skipped".
  std::string Summary() const;
};

}  // namespace triad

#endif  // TRIAD_INGEST_READ_STATS_H_
