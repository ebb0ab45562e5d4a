// The trace model of issue 5 (models/trace_lstm.h) as an online TraceScorer
// for `triad serve` (serve/trace_scoring.h). Torch-free header.
#ifndef TRIAD_MODELS_TRACE_SCORER_H_
#define TRIAD_MODELS_TRACE_SCORER_H_

#include <memory>
#include <string>

#include "serve/trace_scoring.h"
#include "triad/status.h"

namespace triad {

// Loads a trace model file (`triad trace-train`) as a scorer. Returns the
// model loader's Unsupported for a file that is not a trace model (e.g. a
// baseline or fusion model), NotFound / Corruption as Load does.
// The scorer blames an anomalous trace on the service of its first offending
// span; the offending spans are the findings' positions (a trace-end finding
// points at the last span).
Status LoadTraceScorer(const std::string& path, std::unique_ptr<TraceScorer>* out);

}  // namespace triad

#endif  // TRIAD_MODELS_TRACE_SCORER_H_
