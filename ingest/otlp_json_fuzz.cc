// libFuzzer target: ParseOtlpJson must never crash, whatever the bytes; and
// what it reads must survive the writers unchanged:
// Write(Parse(Write(records))) == Write(records) for records = Parse(input).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "ingest/otlp_json.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "round-trip violated: %s\n", what);
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  triad::CollectingSink sink;
  triad::ReadStats stats;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (!triad::ParseOtlpJson(text, sink, &stats, "<fuzz>", 1).ok()) return 0;
  Check(stats.records == sink.spans.size() + sink.logs.size() + sink.metrics.size(), "records");
  const std::string docs[] = {triad::WriteOtlpTraces(sink.spans), triad::WriteOtlpLogs(sink.logs),
                              triad::WriteOtlpMetrics(sink.metrics)};
  triad::CollectingSink again;
  triad::ReadStats stats2;
  for (const std::string& d : docs) Check(triad::ParseOtlpJson(d, again, &stats2).ok(), "parse");
  Check(stats2.skipped == 0, "no skips on re-read");
  Check(again.spans.size() == sink.spans.size(), "span count");
  Check(again.logs.size() == sink.logs.size(), "log count");
  Check(again.metrics.size() == sink.metrics.size(), "metric count");
  Check(triad::WriteOtlpTraces(again.spans) == docs[0], "traces idempotent");
  Check(triad::WriteOtlpLogs(again.logs) == docs[1], "logs idempotent");
  Check(triad::WriteOtlpMetrics(again.metrics) == docs[2], "metrics idempotent");
  return 0;
}
