// JSON shapes shared by every producer of anomaly evidence in `triad serve`
// (the web UI reads them: serve/web_ui.cc).
#ifndef TRIAD_SERVE_EVIDENCE_JSON_H_
#define TRIAD_SERVE_EVIDENCE_JSON_H_

#include <nlohmann/json.hpp>

#include "align/trace_sequences.h"
#include "triad/telemetry.h"

namespace triad {

// One span: trace_id, span_id, parent_span_id, service, name, kind, start_ns,
// duration_ms, error, and http_status / status_message (<= 300 bytes) when set.
nlohmann::json SpanJson(const Span& s);

// A whole trace as an array of SpanJson objects, each with "parent" (index
// into the array, -1 for a root); at most `max_spans` spans (the first ones).
nlohmann::json TraceJson(const Trace& t, size_t max_spans = 200);

}  // namespace triad

#endif  // TRIAD_SERVE_EVIDENCE_JSON_H_
