#include "ingest/ingest_limits.h"

#include <string>

namespace triad {

namespace {

void Limit(const IngestLimits& limits, std::string* s, ReadStats* stats) {
  if (s->size() > limits.max_string_bytes && TruncateUtf8(s, limits.max_string_bytes))
    ++stats->truncated;
}

}  // namespace

bool TruncateUtf8(std::string* s, size_t max) {
  if (s->size() <= max) return false;
  size_t n = max;
  // Back off over continuation bytes (10xxxxxx) so no character is split.
  while (n > 0 && (static_cast<unsigned char>((*s)[n]) & 0xC0) == 0x80) --n;
  s->resize(n);
  return true;
}

void ApplyIngestLimits(const IngestLimits& limits, Attributes* attrs, ReadStats* stats) {
  if (attrs->size() > limits.max_attributes) {
    stats->dropped_attributes += attrs->size() - limits.max_attributes;
    attrs->resize(limits.max_attributes);
  }
  for (auto& [k, v] : *attrs) {
    Limit(limits, &k, stats);
    Limit(limits, &v, stats);
  }
}

void ApplyIngestLimits(const IngestLimits& limits, Span* s, ReadStats* stats) {
  for (std::string* f : {&s->trace_id, &s->span_id, &s->parent_span_id, &s->service,
                         &s->instance, &s->name, &s->status_message, &s->http_method,
                         &s->http_url, &s->host, &s->peer})
    Limit(limits, f, stats);
  ApplyIngestLimits(limits, &s->attributes, stats);
}

void ApplyIngestLimits(const IngestLimits& limits, LogRecord* l, ReadStats* stats) {
  for (std::string* f :
       {&l->severity_text, &l->body, &l->service, &l->instance, &l->trace_id, &l->span_id})
    Limit(limits, f, stats);
  ApplyIngestLimits(limits, &l->attributes, stats);
}

void ApplyIngestLimits(const IngestLimits& limits, MetricSample* m, ReadStats* stats) {
  for (std::string* f : {&m->name, &m->service, &m->instance}) Limit(limits, f, stats);
  ApplyIngestLimits(limits, &m->labels, stats);
}

Status CheckJsonLimits(std::string_view text, const IngestLimits& limits, std::string_view what) {
  if (text.size() > limits.max_bytes)
    return Status::InvalidArgument(std::string(what) + " of " + std::to_string(text.size()) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(limits.max_bytes) + " bytes (max_bytes)");
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // skip the escaped character
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limits.max_depth)
        return Status::InvalidArgument(std::string(what) + " nests arrays/objects deeper than " +
                                       std::to_string(limits.max_depth) +
                                       " levels (max_depth)");
    } else if (c == ']' || c == '}') {
      if (depth > 0) --depth;  // unbalanced input is the parser's to reject
    }
  }
  return Status::OK();
}

std::string IngestLimitsMessage(const ReadStats& stats, const IngestLimits& limits) {
  std::string out;
  if (stats.truncated > 0)
    out = std::to_string(stats.truncated) + " value(s) truncated to " +
          std::to_string(limits.max_string_bytes) + " bytes (max_string_bytes)";
  if (stats.dropped_attributes > 0) {
    if (!out.empty()) out += "; ";
    out += std::to_string(stats.dropped_attributes) + " attribute(s) dropped (over " +
           std::to_string(limits.max_attributes) + " per record, max_attributes)";
  }
  return out;
}

}  // namespace triad
