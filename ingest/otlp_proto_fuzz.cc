// libFuzzer target: the OTLP/protobuf reader must never crash, whatever the
// bytes (first byte: 0 traces, 1 logs, 2 metrics request, 3 a file of frames);
// what it reads must survive the protobuf writers unchanged, and the protobuf
// and JSON encodings of those records must read back to the same records.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "ingest/otlp_json.h"
#include "ingest/otlp_proto.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "round-trip violated: %s\n", what);
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using triad::OtlpSignal;
  triad::CollectingSink sink;
  triad::ReadStats stats;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  triad::OtlpProtoLimits limits;
  limits.max_bytes = 1 << 20;
  const int mode = data[0] % 4;
  triad::Status st =
      mode == 3 ? triad::ParseOtlpProtoFile(bytes, sink, &stats, "<fuzz>", limits)
                : triad::ParseOtlpProto(static_cast<OtlpSignal>(mode), bytes, sink, &stats,
                                        "<fuzz>", limits, 1);
  if (!st.ok()) {
    Check(mode == 3 || sink.spans.size() + sink.logs.size() + sink.metrics.size() == 0,
          "nothing emitted from a rejected request");
    return 0;
  }
  Check(stats.records == sink.spans.size() + sink.logs.size() + sink.metrics.size(), "records");
  const std::string reqs[] = {triad::WriteOtlpTracesProto(sink.spans),
                              triad::WriteOtlpLogsProto(sink.logs),
                              triad::WriteOtlpMetricsProto(sink.metrics)};
  triad::CollectingSink again;
  triad::ReadStats stats2;
  for (int k = 0; k < 3; ++k)
    Check(triad::ParseOtlpProto(static_cast<OtlpSignal>(k), reqs[k], again, &stats2).ok(),
          "parse");
  Check(stats2.skipped == 0, "no skips on re-read");
  Check(again.spans.size() == sink.spans.size(), "span count");
  Check(again.logs.size() == sink.logs.size(), "log count");
  Check(again.metrics.size() == sink.metrics.size(), "metric count");
  Check(triad::WriteOtlpTracesProto(again.spans) == reqs[0], "traces idempotent");
  Check(triad::WriteOtlpLogsProto(again.logs) == reqs[1], "logs idempotent");
  Check(triad::WriteOtlpMetricsProto(again.metrics) == reqs[2], "metrics idempotent");
  // The JSON encoding of the same records reads back to the same records.
  triad::CollectingSink via_json;
  for (const std::string& doc : {triad::WriteOtlpTraces(sink.spans),
                                 triad::WriteOtlpLogs(sink.logs),
                                 triad::WriteOtlpMetrics(sink.metrics)})
    Check(triad::ParseOtlpJson(doc, via_json, nullptr).ok(), "json parse");
  Check(triad::WriteOtlpTracesProto(via_json.spans) == reqs[0], "traces json == proto");
  Check(triad::WriteOtlpLogsProto(via_json.logs) == reqs[1], "logs json == proto");
  Check(triad::WriteOtlpMetricsProto(via_json.metrics) == reqs[2], "metrics json == proto");
  return 0;
}
