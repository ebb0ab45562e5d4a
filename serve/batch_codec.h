// The journal's encoding of one accepted batch (serve/journal.h): compact,
// lossless binary for the records of an IngestBatch, plus the pipeline's
// watermark markers (idle close), so replay after a crash sees exactly what
// the worker saw.
#ifndef TRIAD_SERVE_BATCH_CODEC_H_
#define TRIAD_SERVE_BATCH_CODEC_H_

#include <string>
#include <string_view>

#include "serve/ingest_batch.h"
#include "triad/telemetry.h"

namespace triad {

// Appends the encoding of `b` (every field of every record, and the signal)
// and `advance_to` (INT64_MIN = none: a marker that the worker advanced the
// watermark to this time from the wall clock) to *out. Lossless:
// DecodeBatch gives back equal records, including non-UTF-8 strings, NaN/Inf
// values and any times.
void EncodeBatch(const IngestBatch& b, TimeNs advance_to, std::string* out);
// Returns true iff `data` is exactly one valid encoding; fills *b and
// *advance_to. Never crashes on garbage; counts are bounded by the input size.
bool DecodeBatch(std::string_view data, IngestBatch* b, TimeNs* advance_to);

}  // namespace triad

#endif  // TRIAD_SERVE_BATCH_CODEC_H_
