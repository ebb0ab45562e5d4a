#include "ingest/zipkin_json.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdint>
#include <string>
#include <utility>

#include "ingest/json_util.h"

namespace triad {

using nlohmann::json;

namespace {

struct Ctx {
  TelemetrySink& sink;
  ReadStats* stats;
  std::string_view source;
  uint64_t line;
  const IngestLimits& limits;
  void Skip(std::string_view why) const { stats->Skip(source, line, why); }
};

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Text(const json* v) { return v == nullptr ? std::string() : JsonValueToText(*v); }

std::string IdText(const json* v) { return v == nullptr ? std::string() : NormalizeTraceId(Text(v)); }

void ParseSpan(const json& j, const Ctx& ctx) {
  if (!j.is_object()) {
    ctx.Skip("span is not an object");
    return;
  }
  if (JsonField(j, "binaryAnnotations") != nullptr) {
    ctx.Skip("Zipkin v1 span (binaryAnnotations) is not supported");
    return;
  }
  Span s;
  s.trace_id = IdText(JsonField(j, "traceId", "trace_id"));
  s.span_id = IdText(JsonField(j, "id"));
  if (s.trace_id.empty() || IsAllZeroId(s.trace_id)) {
    ctx.Skip("span without traceId");
    return;
  }
  if (s.span_id.empty() || IsAllZeroId(s.span_id)) {
    ctx.Skip("span without id");
    return;
  }
  s.parent_span_id = IdText(JsonField(j, "parentId", "parent_id"));
  if (IsAllZeroId(s.parent_span_id)) s.parent_span_id.clear();
  s.name = Text(JsonField(j, "name"));
  int64_t ts_us = 0, dur_us = 0;
  const json* ts = JsonField(j, "timestamp");
  if (ts == nullptr || !JsonToInt64(*ts, &ts_us)) {
    ctx.Skip("span " + s.span_id + ": missing or bad timestamp");
    return;
  }
  if (const json* d = JsonField(j, "duration"); d != nullptr && !JsonToInt64(*d, &dur_us)) {
    ctx.Skip("span " + s.span_id + ": bad duration");
    return;
  }
  constexpr int64_t kMaxUs = INT64_MAX / kNsPerUs / 2;
  if (dur_us < 0 || ts_us > kMaxUs || ts_us < -kMaxUs || dur_us > kMaxUs) {
    ctx.Skip("span " + s.span_id + ": negative or out-of-range duration/timestamp");
    return;
  }
  s.start = ts_us * kNsPerUs;
  s.end = s.start + dur_us * kNsPerUs;
  if (const json* k = JsonField(j, "kind")) {
    std::string kind = Upper(Text(k));
    if (kind == "SERVER") s.kind = SpanKind::kServer;
    else if (kind == "CLIENT") s.kind = SpanKind::kClient;
    else if (kind == "PRODUCER") s.kind = SpanKind::kProducer;
    else if (kind == "CONSUMER") s.kind = SpanKind::kConsumer;
  }
  if (const json* le = JsonField(j, "localEndpoint", "local_endpoint")) {
    if (!le->is_object()) {
      ctx.Skip("span " + s.span_id + ": localEndpoint is not an object");
      return;
    }
    s.service = Text(JsonField(*le, "serviceName", "service_name"));
    s.host = Text(JsonField(*le, "ipv4"));
    if (s.host.empty()) s.host = Text(JsonField(*le, "ipv6"));
  }
  if (const json* re = JsonField(j, "remoteEndpoint", "remote_endpoint")) {
    if (!re->is_object()) {
      ctx.Skip("span " + s.span_id + ": remoteEndpoint is not an object");
      return;
    }
    for (const char* k : {"serviceName", "ipv4", "ipv6"}) {
      s.peer = Text(JsonField(*re, k));
      if (!s.peer.empty()) break;
    }
  }
  if (const json* tags = JsonField(j, "tags")) {
    if (!tags->is_object()) {
      ctx.Skip("span " + s.span_id + ": tags is not an object");
      return;
    }
    for (auto it = tags->begin(); it != tags->end(); ++it)
      s.attributes.emplace_back(it.key(), JsonValueToText(it.value()));
  }
  ApplyIngestLimits(ctx.limits, &s, ctx.stats);
  for (const auto& [k, v] : s.attributes) {
    if (k == "error") {
      s.status = SpanStatus::kError;
      if (!v.empty() && v != "true" && s.status_message.empty()) s.status_message = v;
    } else if (k == "otel.status_code") {
      std::string code = Upper(v);
      if (code == "ERROR") s.status = SpanStatus::kError;
      else if (code == "OK" && s.status != SpanStatus::kError) s.status = SpanStatus::kOk;
    } else if (k == "otel.status_description" && !v.empty()) {
      s.status_message = v;
    }
  }
  FillSpanFromSemanticConventions(&s);
  ++ctx.stats->records;
  ctx.sink.OnSpan(std::move(s));
}

void ParseValue(const json& v, const Ctx& ctx, int depth) {
  if (v.is_array()) {
    if (depth >= 2) {
      ctx.Skip("arrays nested too deep for Zipkin spans");
      return;
    }
    for (const auto& e : v) ParseValue(e, ctx, depth + 1);
    return;
  }
  ParseSpan(v, ctx);
}

}  // namespace

Status ParseZipkinJson(std::string_view text, TelemetrySink& sink, ReadStats* stats,
                       std::string_view source, uint64_t line, const IngestLimits& limits) {
  TRIAD_RETURN_IF_ERROR(CheckJsonLimits(text, limits, "Zipkin JSON document"));
  json doc;
  std::string error;
  if (!ParseJsonText(text, &doc, &error)) return Status::Corruption("invalid JSON: " + error);
  if (!doc.is_object() && !doc.is_array())
    return Status::Corruption("Zipkin document is not a JSON array or object");
  ReadStats local;
  Ctx ctx{sink, stats != nullptr ? stats : &local, source, line, limits};
  ParseValue(doc, ctx, 0);
  return Status::OK();
}

Status ReadZipkinJsonFile(const std::string& path, TelemetrySink& sink, ReadStats* stats) {
  IngestLimits limits;
  limits.max_bytes = SIZE_MAX;  // ForEachJsonDocument bounds the documents
  return ForEachJsonDocument(path, stats,
                             [&](std::string_view doc, std::string_view source, uint64_t line) {
                               return ParseZipkinJson(doc, sink, stats, source, line, limits);
                             });
}

}  // namespace triad
