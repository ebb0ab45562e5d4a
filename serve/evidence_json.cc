#include "serve/evidence_json.h"

namespace triad {

nlohmann::json SpanJson(const Span& s) {
  nlohmann::json j = {{"trace_id", s.trace_id},
                      {"span_id", s.span_id},
                      {"parent_span_id", s.parent_span_id},
                      {"service", s.service},
                      {"name", s.name},
                      {"kind", SpanKindName(s.kind)},
                      {"start_ns", s.start},
                      {"duration_ms", static_cast<double>(s.end - s.start) / kNsPerMs},
                      {"error", s.is_error()}};
  if (s.http_status_code != 0) j["http_status"] = s.http_status_code;
  if (!s.status_message.empty()) j["status_message"] = s.status_message.substr(0, 300);
  return j;
}

nlohmann::json TraceJson(const Trace& t, size_t max_spans) {
  nlohmann::json spans = nlohmann::json::array();
  for (size_t i = 0; i < t.spans.size() && i < max_spans; ++i) {
    nlohmann::json j = SpanJson(t.spans[i]);
    j["parent"] = i < t.parent.size() ? t.parent[i] : -1;
    spans.push_back(std::move(j));
  }
  return spans;
}

}  // namespace triad
