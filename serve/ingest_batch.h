// IngestBatch: the records of one accepted ingest request, as the request
// decoder (serve/request_decoder.h) builds them and the online pipeline
// (serve/online_pipeline.h) consumes them.
#ifndef TRIAD_SERVE_INGEST_BATCH_H_
#define TRIAD_SERVE_INGEST_BATCH_H_

#include <cstddef>
#include <vector>

#include "ingest/otlp_proto.h"
#include "triad/telemetry.h"

namespace triad {

// One accepted request's records.
struct IngestBatch {
  OtlpSignal signal = OtlpSignal::kTraces;
  std::vector<Span> spans;
  std::vector<LogRecord> logs;
  std::vector<MetricSample> metrics;
  size_t records() const { return spans.size() + logs.size() + metrics.size(); }
};

}  // namespace triad

#endif  // TRIAD_SERVE_INGEST_BATCH_H_
