#include "ingest/jaeger_json.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdint>
#include <string>
#include <unordered_map>
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
  void Skip(std::string_view why) const { stats->Skip(source, line, why); }
};

struct ProcessInfo {
  std::string service, instance, host;
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Jaeger tags: [{"key","type","value"}]. Returns false if malformed.
bool ParseTags(const json* tags, Attributes* out, std::string* why) {
  if (tags == nullptr) return true;
  if (!tags->is_array()) {
    *why = "tags is not an array";
    return false;
  }
  for (const auto& t : *tags) {
    const json* k = JsonField(t, "key");
    if (k == nullptr || !k->is_string()) {
      *why = "tag without a string key";
      return false;
    }
    const json* v = JsonField(t, "value");
    out->emplace_back(k->get<std::string>(), v ? JsonValueToText(*v) : std::string());
  }
  return true;
}

bool ParseProcess(const json& p, ProcessInfo* out, std::string* why) {
  if (!p.is_object()) {
    *why = "process is not an object";
    return false;
  }
  if (const json* s = JsonField(p, "serviceName", "service_name"))
    out->service = JsonValueToText(*s);
  Attributes tags;
  if (!ParseTags(JsonField(p, "tags"), &tags, why)) return false;
  auto first = [&](std::initializer_list<const char*> keys) {
    for (const char* k : keys)
      if (const std::string* v = FindAttribute(tags, k); v != nullptr && !v->empty()) return *v;
    return std::string();
  };
  out->instance = first({"service.instance.id", "k8s.pod.name"});
  out->host = first({"host.name", "hostname", "ip"});
  return true;
}

std::string IdText(const json* v) {
  if (v == nullptr) return std::string();
  return NormalizeTraceId(v->is_string() ? v->get_ref<const std::string&>() : JsonValueToText(*v));
}

std::string ParentOf(const json& span) {
  std::string parent = IdText(JsonField(span, "parentSpanID", "parentSpanId"));
  if (!parent.empty() && !IsAllZeroId(parent)) return parent;
  const json* refs = JsonField(span, "references");
  if (refs == nullptr || !refs->is_array()) return std::string();
  std::string follows;
  for (const auto& r : *refs) {
    const json* type = JsonField(r, "refType", "ref_type");
    std::string id = IdText(JsonField(r, "spanID", "spanId"));
    if (id.empty() || IsAllZeroId(id)) continue;
    std::string t = type ? Lower(JsonValueToText(*type)) : "child_of";
    if (t == "child_of" || t == "0") return id;
    if (follows.empty()) follows = id;
  }
  return follows;
}

void ParseSpan(const json& j, const std::unordered_map<std::string, ProcessInfo>& processes,
               const Ctx& ctx) {
  if (!j.is_object()) {
    ctx.Skip("span is not an object");
    return;
  }
  Span s;
  s.trace_id = IdText(JsonField(j, "traceID", "traceId"));
  s.span_id = IdText(JsonField(j, "spanID", "spanId"));
  if (s.trace_id.empty() || IsAllZeroId(s.trace_id)) {
    ctx.Skip("span without traceID");
    return;
  }
  if (s.span_id.empty() || IsAllZeroId(s.span_id)) {
    ctx.Skip("span without spanID");
    return;
  }
  s.parent_span_id = ParentOf(j);
  if (const json* n = JsonField(j, "operationName", "operation_name")) s.name = JsonValueToText(*n);
  const json* st = JsonField(j, "startTime", "start_time");
  int64_t start_us = 0, dur_us = 0;
  if (st == nullptr || !JsonToInt64(*st, &start_us)) {
    ctx.Skip("span " + s.span_id + ": missing or bad startTime");
    return;
  }
  if (const json* d = JsonField(j, "duration"); d != nullptr && !JsonToInt64(*d, &dur_us)) {
    ctx.Skip("span " + s.span_id + ": bad duration");
    return;
  }
  constexpr int64_t kMaxUs = INT64_MAX / kNsPerUs / 2;
  if (dur_us < 0 || start_us > kMaxUs || start_us < -kMaxUs || dur_us > kMaxUs) {
    ctx.Skip("span " + s.span_id + ": negative or out-of-range duration/startTime");
    return;
  }
  s.start = start_us * kNsPerUs;
  s.end = s.start + dur_us * kNsPerUs;
  std::string why;
  if (!ParseTags(JsonField(j, "tags"), &s.attributes, &why)) {
    ctx.Skip("span " + s.span_id + ": " + why);
    return;
  }
  // Process: embedded, or by processID.
  ProcessInfo proc;
  if (const json* p = JsonField(j, "process")) {
    if (!ParseProcess(*p, &proc, &why)) {
      ctx.Skip("span " + s.span_id + ": " + why);
      return;
    }
  } else if (const json* pid = JsonField(j, "processID", "processId")) {
    auto it = processes.find(JsonValueToText(*pid));
    if (it == processes.end()) {
      ctx.Skip("span " + s.span_id + ": unknown processID " + JsonValueToText(*pid));
      return;
    }
    proc = it->second;
  }
  s.service = proc.service;
  s.instance = proc.instance;
  s.host = proc.host;
  for (const auto& [k, v] : s.attributes) {
    if (k == "span.kind") {
      std::string kind = Lower(v);
      if (kind == "server") s.kind = SpanKind::kServer;
      else if (kind == "client") s.kind = SpanKind::kClient;
      else if (kind == "producer") s.kind = SpanKind::kProducer;
      else if (kind == "consumer") s.kind = SpanKind::kConsumer;
      else if (kind == "internal") s.kind = SpanKind::kInternal;
    } else if (k == "error") {
      if (Lower(v) == "true") s.status = SpanStatus::kError;
    } else if (k == "otel.status_code") {
      std::string code = Lower(v);
      if (code == "error") s.status = SpanStatus::kError;
      else if (code == "ok" && s.status != SpanStatus::kError) s.status = SpanStatus::kOk;
    } else if (k == "otel.status_description") {
      s.status_message = v;
    }
  }
  FillSpanFromSemanticConventions(&s);
  if (s.peer.empty()) {
    for (const char* k : {"peer.hostname", "peer.ipv4", "peer.address"})
      if (const std::string* v = FindAttribute(s.attributes, k); v != nullptr && !v->empty()) {
        s.peer = *v;
        break;
      }
  }
  ++ctx.stats->records;
  ctx.sink.OnSpan(std::move(s));
}

void ParseTrace(const json& t, const Ctx& ctx) {
  std::unordered_map<std::string, ProcessInfo> processes;
  if (const json* ps = JsonField(t, "processes")) {
    if (!ps->is_object()) {
      ctx.Skip("trace: processes is not an object");
    } else {
      for (auto it = ps->begin(); it != ps->end(); ++it) {
        ProcessInfo info;
        std::string why;
        if (!ParseProcess(it.value(), &info, &why)) {
          ctx.Skip("trace: process " + it.key() + ": " + why);  // its spans are skipped too
          continue;
        }
        processes.emplace(it.key(), std::move(info));
      }
    }
  }
  const json* spans = JsonField(t, "spans");
  if (spans == nullptr) return;
  if (!spans->is_array()) {
    ctx.Skip("trace: spans is not an array");
    return;
  }
  for (const auto& s : *spans) ParseSpan(s, processes, ctx);
}

// A trace object, a span object, or a {"data":[...]} envelope.
void ParseValue(const json& v, const Ctx& ctx, int depth) {
  if (v.is_array() && depth < 2) {
    for (const auto& e : v) ParseValue(e, ctx, depth + 1);
    return;
  }
  if (!v.is_object()) {
    ctx.Skip("expected a Jaeger trace or span object");
    return;
  }
  if (v.contains("data")) {
    const json* data = JsonField(v, "data");
    if (data == nullptr) return;  // {"data":null,"errors":[..]}: an empty answer
    if (!data->is_array()) {
      ctx.Skip("data is not an array");
      return;
    }
    for (const auto& t : *data) {
      if (!t.is_object()) {
        ctx.Skip("trace is not an object");
        continue;
      }
      ParseTrace(t, ctx);
    }
    return;
  }
  if (JsonField(v, "spans") != nullptr) {
    ParseTrace(v, ctx);
    return;
  }
  if (JsonField(v, "spanID", "spanId") != nullptr) {
    ParseSpan(v, {}, ctx);
    return;
  }
  if (v.empty()) return;
  ctx.Skip("object is neither a Jaeger trace nor a span");
}

}  // namespace

Status ParseJaegerJson(std::string_view text, TelemetrySink& sink, ReadStats* stats,
                       std::string_view source, uint64_t line) {
  json doc;
  std::string error;
  if (!ParseJsonText(text, &doc, &error)) return Status::Corruption("invalid JSON: " + error);
  if (!doc.is_object() && !doc.is_array())
    return Status::Corruption("Jaeger document is not a JSON object or array");
  ReadStats local;
  Ctx ctx{sink, stats != nullptr ? stats : &local, source, line};
  ParseValue(doc, ctx, 0);
  return Status::OK();
}

Status ReadJaegerJsonFile(const std::string& path, TelemetrySink& sink, ReadStats* stats) {
  return ForEachJsonDocument(path, stats,
                             [&](std::string_view doc, std::string_view source, uint64_t line) {
                               return ParseJaegerJson(doc, sink, stats, source, line);
                             });
}

}  // namespace triad
