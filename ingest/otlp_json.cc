#include "ingest/otlp_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>

#include "ingest/json_util.h"
#include "ingest/otlp_common.h"

namespace triad {

using nlohmann::json;

namespace {

// ---------------------------------------------------------------- writing

std::string TimeText(TimeNs t) { return std::to_string(t); }

json StringKv(std::string_view key, std::string_view value) {
  return json{{"key", key}, {"value", json{{"stringValue", value}}}};
}

json DoubleJson(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

json AttributesJson(const Attributes& attrs) {
  json arr = json::array();
  for (const auto& [k, v] : attrs) arr.push_back(StringKv(k, v));
  return arr;
}

json ResourceJson(const std::string& service, const std::string& instance,
                  const std::string& host) {
  return json{{"attributes", AttributesJson(OtlpResourceAttributes(service, instance, host))}};
}

json ScopeJson() { return json{{"name", "triad"}}; }

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json SpanJson(const Span& s) {
  json j = json::object();
  j["traceId"] = s.trace_id;
  j["spanId"] = s.span_id;
  if (!s.parent_span_id.empty()) j["parentSpanId"] = s.parent_span_id;
  j["name"] = s.name;
  j["kind"] = static_cast<int>(s.kind);
  j["startTimeUnixNano"] = TimeText(s.start);
  j["endTimeUnixNano"] = TimeText(s.end);
  json attrs = AttributesJson(s.attributes);
  for (const OtlpExtraAttribute& a : OtlpSpanConventionAttributes(s)) {
    if (a.is_int)
      attrs.push_back(json{{"key", a.key}, {"value", json{{"intValue", a.value}}}});
    else
      attrs.push_back(StringKv(a.key, a.value));
  }
  if (!attrs.empty()) j["attributes"] = std::move(attrs);
  if (s.status != SpanStatus::kUnset || !s.status_message.empty()) {
    json st = json::object();
    if (s.status != SpanStatus::kUnset) st["code"] = static_cast<int>(s.status);
    if (!s.status_message.empty()) st["message"] = s.status_message;
    j["status"] = std::move(st);
  }
  return j;
}

json LogJson(const LogRecord& l) {
  json j = json::object();
  if (l.time != 0) j["timeUnixNano"] = TimeText(l.time);
  if (l.observed_time != 0) j["observedTimeUnixNano"] = TimeText(l.observed_time);
  if (l.severity_number != 0) j["severityNumber"] = l.severity_number;
  if (!l.severity_text.empty()) j["severityText"] = l.severity_text;
  j["body"] = json{{"stringValue", l.body}};
  if (!l.attributes.empty()) j["attributes"] = AttributesJson(l.attributes);
  if (!l.trace_id.empty()) j["traceId"] = l.trace_id;
  if (!l.span_id.empty()) j["spanId"] = l.span_id;
  return j;
}

json PointJson(const MetricSample& m) {
  json p = json::object();
  if (!m.labels.empty()) p["attributes"] = AttributesJson(m.labels);
  p["timeUnixNano"] = TimeText(m.time);
  if (m.kind == MetricKind::kHistogram) {
    p["count"] = std::to_string(m.count);
    p["sum"] = DoubleJson(m.value);
    json counts = json::array();
    for (uint64_t c : m.bucket_counts) counts.push_back(std::to_string(c));
    p["bucketCounts"] = std::move(counts);
    json bounds = json::array();
    for (double b : m.bounds) bounds.push_back(DoubleJson(b));
    p["explicitBounds"] = std::move(bounds);
  } else {
    p["asDouble"] = DoubleJson(m.value);
  }
  return p;
}

// ---------------------------------------------------------------- reading

using Ctx = OtlpEmitter;

const json* Field(const json& obj, std::string_view camel, std::string_view snake) {
  return JsonField(obj, camel, snake);
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

json AnyValueToPlain(const json& v, int depth);

json KvListToPlain(const json& kv, int depth) {
  json obj = json::object();
  const json* values = Field(kv, "values", "");
  if (values == nullptr || !values->is_array()) return obj;
  for (const auto& e : *values) {
    const json* k = Field(e, "key", "");
    if (k == nullptr || !k->is_string()) continue;
    const json* val = Field(e, "value", "");
    obj[k->get<std::string>()] = val ? AnyValueToPlain(*val, depth + 1) : json();
  }
  return obj;
}

// AnyValue -> a plain JSON value (string/number/bool/array/object).
json AnyValueToPlain(const json& v, int depth) {
  if (depth > kOtlpMaxValueDepth) return kOtlpCutValue;
  if (!v.is_object()) return v;
  if (const json* f = Field(v, "stringValue", "string_value")) return *f;
  if (const json* f = Field(v, "boolValue", "bool_value")) {
    if (f->is_string()) return *f == "true";
    return *f;
  }
  if (const json* f = Field(v, "intValue", "int_value")) {
    int64_t i;
    if (JsonToInt64(*f, &i)) return i;
    return *f;
  }
  if (const json* f = Field(v, "doubleValue", "double_value")) {
    double d;
    if (JsonToDouble(*f, &d) && std::isfinite(d)) return d;
    return *f;
  }
  if (const json* f = Field(v, "bytesValue", "bytes_value")) return *f;
  if (const json* f = Field(v, "arrayValue", "array_value")) {
    json arr = json::array();
    const json* values = Field(*f, "values", "");
    if (values != nullptr && values->is_array())
      for (const auto& e : *values) arr.push_back(AnyValueToPlain(e, depth + 1));
    return arr;
  }
  if (const json* f = Field(v, "kvlistValue", "kvlist_value")) return KvListToPlain(*f, depth);
  return json();  // empty AnyValue
}

std::string AnyValueText(const json& v) {
  if (v.is_object()) {
    // Fast paths for the scalar cases.
    if (const json* f = Field(v, "stringValue", "string_value"))
      return f->is_string() ? f->get<std::string>() : JsonValueToText(*f);
    if (const json* f = Field(v, "doubleValue", "double_value")) {
      double d;
      if (JsonToDouble(*f, &d)) return FormatDouble(d);
      return JsonValueToText(*f);
    }
  }
  return JsonValueToText(AnyValueToPlain(v, 0));
}

// Parses a KeyValue list. Returns false (with *why) if it is malformed.
bool ParseAttributes(const json* list, Attributes* out, std::string* why) {
  if (list == nullptr) return true;
  if (!list->is_array()) {
    *why = "attributes is not an array";
    return false;
  }
  out->reserve(out->size() + list->size());
  for (const auto& e : *list) {
    const json* k = Field(e, "key", "");
    if (k == nullptr || !k->is_string()) {
      *why = "attribute without a string key";
      return false;
    }
    const json* v = Field(e, "value", "");
    out->emplace_back(k->get<std::string>(), v ? AnyValueText(*v) : std::string());
  }
  return true;
}

using ResourceInfo = OtlpResourceInfo;

bool ParseResource(const json& entry, ResourceInfo* r, std::string* why) {
  const json* res = Field(entry, "resource", "");
  if (res == nullptr) return true;
  if (!res->is_object()) {
    *why = "resource is not an object";
    return false;
  }
  Attributes attrs;
  if (!ParseAttributes(Field(*res, "attributes", ""), &attrs, why)) {
    *why = "resource: " + *why;
    return false;
  }
  *r = OtlpResourceFromAttributes(attrs);
  return true;
}

// Returns true iff the optional time field is absent (*out = 0) or valid.
bool ParseTime(const json& obj, std::string_view camel, std::string_view snake, TimeNs* out) {
  *out = 0;
  const json* f = Field(obj, camel, snake);
  if (f == nullptr) return true;
  int64_t t;
  if (!JsonToInt64(*f, &t)) return false;
  *out = t;
  return true;
}

SpanKind ParseSpanKind(const json& v) {
  int64_t i;
  if (JsonToInt64(v, &i)) return (i >= 0 && i <= 5) ? static_cast<SpanKind>(i) : SpanKind::kUnspecified;
  if (!v.is_string()) return SpanKind::kUnspecified;
  std::string s = Upper(v.get<std::string>());
  if (s.rfind("SPAN_KIND_", 0) == 0) s = s.substr(10);
  if (s == "INTERNAL") return SpanKind::kInternal;
  if (s == "SERVER") return SpanKind::kServer;
  if (s == "CLIENT") return SpanKind::kClient;
  if (s == "PRODUCER") return SpanKind::kProducer;
  if (s == "CONSUMER") return SpanKind::kConsumer;
  return SpanKind::kUnspecified;
}

SpanStatus ParseStatusCode(const json& v) {
  int64_t i;
  if (JsonToInt64(v, &i)) return (i >= 0 && i <= 2) ? static_cast<SpanStatus>(i) : SpanStatus::kUnset;
  if (!v.is_string()) return SpanStatus::kUnset;
  std::string s = Upper(v.get<std::string>());
  if (s.rfind("STATUS_CODE_", 0) == 0) s = s.substr(12);
  if (s == "OK") return SpanStatus::kOk;
  if (s == "ERROR") return SpanStatus::kError;
  return SpanStatus::kUnset;
}

int ParseSeverityNumber(const json& v) {
  int64_t i;
  if (JsonToInt64(v, &i)) return (i >= 0 && i <= 24) ? static_cast<int>(i) : 0;
  if (!v.is_string()) return 0;
  std::string s = Upper(v.get<std::string>());
  if (s.rfind("SEVERITY_NUMBER_", 0) == 0) s = s.substr(16);
  int offset = 0;
  if (!s.empty() && s.back() >= '2' && s.back() <= '4') {
    offset = s.back() - '1';
    s.pop_back();
  }
  static const std::pair<const char*, int> kBase[] = {
      {"TRACE", 1}, {"DEBUG", 5}, {"INFO", 9}, {"WARN", 13}, {"ERROR", 17}, {"FATAL", 21}};
  for (const auto& [name, base] : kBase)
    if (s == name) return base + offset;
  return 0;
}

// An id field: returns false if present but not a string.
bool ParseId(const json& obj, std::string_view camel, std::string_view snake, std::string* out) {
  out->clear();
  const json* f = Field(obj, camel, snake);
  if (f == nullptr) return true;
  if (!f->is_string()) return false;
  *out = NormalizeTraceId(f->get_ref<const std::string&>());
  return true;
}

std::string TextField(const json& obj, std::string_view camel, std::string_view snake) {
  const json* f = Field(obj, camel, snake);
  if (f == nullptr) return std::string();
  return f->is_string() ? f->get<std::string>() : JsonValueToText(*f);
}

// Iterates the records of one resource entry: scope containers -> records.
template <typename Fn>
void ForEachScopeRecord(const json& entry, const Ctx& ctx,
                        std::initializer_list<std::pair<std::string_view, std::string_view>> scopes,
                        std::string_view rec_camel, std::string_view rec_snake, Fn&& fn) {
  for (const auto& [camel, snake] : scopes) {
    const json* list = Field(entry, camel, snake);
    if (list == nullptr) continue;
    if (!list->is_array()) {
      ctx.Skip(std::string(camel) + " is not an array");
      continue;
    }
    for (const auto& scope : *list) {
      if (!scope.is_object()) {
        ctx.Skip(std::string(camel) + " entry is not an object");
        continue;
      }
      const json* recs = Field(scope, rec_camel, rec_snake);
      if (recs == nullptr) continue;
      if (!recs->is_array()) {
        ctx.Skip(std::string(rec_camel) + " is not an array");
        continue;
      }
      for (const auto& rec : *recs) {
        if (!rec.is_object()) {
          ctx.Skip(std::string(rec_camel) + " entry is not an object");
          continue;
        }
        fn(rec);
      }
    }
  }
}

void ParseSpan(const json& j, const ResourceInfo& res, const Ctx& ctx) {
  Span s;
  if (!ParseId(j, "traceId", "trace_id", &s.trace_id) ||
      !ParseId(j, "spanId", "span_id", &s.span_id) ||
      !ParseId(j, "parentSpanId", "parent_span_id", &s.parent_span_id)) {
    ctx.Skip("span: id is not a string");
    return;
  }
  if (!ParseTime(j, "startTimeUnixNano", "start_time_unix_nano", &s.start) ||
      !ParseTime(j, "endTimeUnixNano", "end_time_unix_nano", &s.end)) {
    ctx.Skip("span " + s.span_id + ": bad start/end time");
    return;
  }
  s.name = TextField(j, "name", "");
  if (const json* k = Field(j, "kind", "")) s.kind = ParseSpanKind(*k);
  if (const json* st = Field(j, "status", ""); st != nullptr && st->is_object()) {
    if (const json* c = Field(*st, "code", "")) s.status = ParseStatusCode(*c);
    s.status_message = TextField(*st, "message", "");
  }
  std::string why;
  if (!ParseAttributes(Field(j, "attributes", ""), &s.attributes, &why)) {
    ctx.Skip("span " + s.span_id + ": " + why);
    return;
  }
  EmitOtlpSpan(std::move(s), res, ctx);
}

void ParseLog(const json& j, const ResourceInfo& res, const Ctx& ctx) {
  LogRecord l;
  if (!ParseTime(j, "timeUnixNano", "time_unix_nano", &l.time) ||
      !ParseTime(j, "observedTimeUnixNano", "observed_time_unix_nano", &l.observed_time)) {
    ctx.Skip("log: bad timeUnixNano/observedTimeUnixNano");
    return;
  }
  if (!ParseId(j, "traceId", "trace_id", &l.trace_id) ||
      !ParseId(j, "spanId", "span_id", &l.span_id)) {
    ctx.Skip("log: id is not a string");
    return;
  }
  l.severity_text = TextField(j, "severityText", "severity_text");
  if (const json* f = Field(j, "severityNumber", "severity_number"))
    l.severity_number = ParseSeverityNumber(*f);
  if (const json* b = Field(j, "body", "")) l.body = AnyValueText(*b);
  std::string why;
  if (!ParseAttributes(Field(j, "attributes", ""), &l.attributes, &why)) {
    ctx.Skip("log: " + why);
    return;
  }
  EmitOtlpLog(std::move(l), res, ctx);
}

// Common part of a data point: labels, time and flags. Returns false (and
// counts a skip) if the point is unusable.
bool ParsePointHeader(const json& p, const std::string& name, const ResourceInfo& res,
                      const Ctx& ctx, MetricSample* m) {
  Attributes labels;
  std::string why;
  if (!ParseAttributes(Field(p, "attributes", ""), &labels, &why)) {
    ctx.Skip("metric " + name + ": " + why);
    return false;
  }
  TimeNs time;
  if (!ParseTime(p, "timeUnixNano", "time_unix_nano", &time)) {
    ctx.Skip("metric " + name + ": bad timeUnixNano");
    return false;
  }
  int64_t flags = 0;
  if (const json* f = Field(p, "flags", ""); f != nullptr && !JsonToInt64(*f, &flags)) flags = 0;
  return StartOtlpPoint(name, res, std::move(labels), time, static_cast<uint64_t>(flags), ctx, m);
}

void ParseNumberPoint(const json& p, const std::string& name, MetricKind kind,
                      const ResourceInfo& res, const Ctx& ctx) {
  MetricSample m;
  if (!ParsePointHeader(p, name, res, ctx, &m)) return;
  m.kind = kind;
  if (const json* d = Field(p, "asDouble", "as_double")) {
    if (!JsonToDouble(*d, &m.value)) {
      ctx.Skip("metric " + name + ": asDouble is not a number");
      return;
    }
  } else if (const json* i = Field(p, "asInt", "as_int")) {
    int64_t v;
    if (!JsonToInt64(*i, &v)) {
      ctx.Skip("metric " + name + ": asInt is not an integer");
      return;
    }
    m.value = static_cast<double>(v);
  } else {
    ctx.Skip("metric " + name + ": data point without a value");
    return;
  }
  EmitOtlpNumberPoint(std::move(m), ctx);
}

void ParseHistogramPoint(const json& p, const std::string& name, const ResourceInfo& res,
                         const Ctx& ctx) {
  MetricSample m;
  if (!ParsePointHeader(p, name, res, ctx, &m)) return;
  if (const json* c = Field(p, "count", ""); c != nullptr && !JsonToUint64(*c, &m.count)) {
    ctx.Skip("histogram " + name + ": bad count");
    return;
  }
  if (const json* s = Field(p, "sum", ""); s != nullptr && !JsonToDouble(*s, &m.value)) {
    ctx.Skip("histogram " + name + ": bad or non-finite sum");
    return;
  }
  if (const json* bc = Field(p, "bucketCounts", "bucket_counts")) {
    if (!bc->is_array()) {
      ctx.Skip("histogram " + name + ": bucketCounts is not an array");
      return;
    }
    for (const auto& e : *bc) {
      uint64_t c;
      if (!JsonToUint64(e, &c)) {
        ctx.Skip("histogram " + name + ": bad bucket count");
        return;
      }
      m.bucket_counts.push_back(c);
    }
  }
  if (const json* eb = Field(p, "explicitBounds", "explicit_bounds")) {
    if (!eb->is_array()) {
      ctx.Skip("histogram " + name + ": explicitBounds is not an array");
      return;
    }
    for (const auto& e : *eb) {
      double b;
      if (!JsonToDouble(e, &b)) {
        ctx.Skip("histogram " + name + ": bounds not finite and increasing");
        return;
      }
      m.bounds.push_back(b);
    }
  }
  EmitOtlpHistogramPoint(std::move(m), ctx);
}

void ParseSummaryPoint(const json& p, const std::string& name, const ResourceInfo& res,
                       const Ctx& ctx) {
  MetricSample base;
  if (!ParsePointHeader(p, name, res, ctx, &base)) return;
  uint64_t count = 0;
  double sum = 0;
  if (const json* c = Field(p, "count", ""); c != nullptr && !JsonToUint64(*c, &count)) {
    ctx.Skip("summary " + name + ": bad count");
    return;
  }
  if (const json* s = Field(p, "sum", ""); s != nullptr && !JsonToDouble(*s, &sum)) {
    ctx.Skip("summary " + name + ": bad or non-finite sum");
    return;
  }
  std::vector<std::pair<double, double>> quantiles;
  if (const json* qv = Field(p, "quantileValues", "quantile_values"); qv != nullptr) {
    if (!qv->is_array()) {
      ctx.Skip("summary " + name + ": quantileValues is not an array");
    } else {
      for (const auto& q : *qv) {
        double quantile = 0, value = 0;
        const json* qf = Field(q, "quantile", "");
        const json* vf = Field(q, "value", "");
        if ((qf != nullptr && !JsonToDouble(*qf, &quantile)) ||
            (vf != nullptr && !JsonToDouble(*vf, &value))) {
          ctx.Skip("summary " + name + ": bad quantile value");
          continue;
        }
        quantiles.emplace_back(quantile, value);
      }
    }
  }
  EmitOtlpSummaryPoint(std::move(base), sum, count, quantiles, ctx);
}

template <typename Fn>
void ForEachPoint(const json& data, const std::string& name, const Ctx& ctx, Fn&& fn) {
  if (!data.is_object()) {
    ctx.Skip("metric " + name + ": data is not an object");
    return;
  }
  const json* pts = Field(data, "dataPoints", "data_points");
  if (pts == nullptr) return;
  if (!pts->is_array()) {
    ctx.Skip("metric " + name + ": dataPoints is not an array");
    return;
  }
  for (const auto& p : *pts) {
    if (!p.is_object()) {
      ctx.Skip("metric " + name + ": data point is not an object");
      continue;
    }
    fn(p);
  }
}

void ParseMetric(const json& j, const ResourceInfo& res, const Ctx& ctx) {
  const json* n = Field(j, "name", "");
  if (n == nullptr || !n->is_string() || n->get_ref<const std::string&>().empty()) {
    ctx.Skip("metric without a name");
    return;
  }
  const std::string name = n->get<std::string>();
  if (const json* g = Field(j, "gauge", "")) {
    ForEachPoint(*g, name, ctx, [&](const json& p) {
      ParseNumberPoint(p, name, MetricKind::kGauge, res, ctx);
    });
  } else if (const json* s = Field(j, "sum", "")) {
    bool monotonic = false;
    if (const json* f = Field(*s, "isMonotonic", "is_monotonic"))
      monotonic = f->is_boolean() ? f->get<bool>() : (f->is_string() && *f == "true");
    bool delta = false;
    if (const json* f = Field(*s, "aggregationTemporality", "aggregation_temporality")) {
      int64_t t;
      delta = JsonToInt64(*f, &t) ? t == 1
                                  : (f->is_string() && Upper(f->get<std::string>()).find(
                                                           "DELTA") != std::string::npos);
    }
    MetricKind kind = OtlpSumKind(monotonic, delta);
    ForEachPoint(*s, name, ctx, [&](const json& p) { ParseNumberPoint(p, name, kind, res, ctx); });
  } else if (const json* h = Field(j, "histogram", "")) {
    ForEachPoint(*h, name, ctx, [&](const json& p) { ParseHistogramPoint(p, name, res, ctx); });
  } else if (const json* sm = Field(j, "summary", "")) {
    ForEachPoint(*sm, name, ctx, [&](const json& p) { ParseSummaryPoint(p, name, res, ctx); });
  } else if (Field(j, "exponentialHistogram", "exponential_histogram") != nullptr) {
    ctx.Skip("metric " + name + ": exponentialHistogram is not supported");
  } else {
    ctx.Skip("metric " + name + ": no gauge/sum/histogram/summary data");
  }
}

template <typename Fn>
void ForEachResource(const json& list, std::string_view what, const Ctx& ctx, Fn&& fn) {
  if (!list.is_array()) {
    ctx.Skip(std::string(what) + " is not an array");
    return;
  }
  for (const auto& entry : list) {
    if (!entry.is_object()) {
      ctx.Skip(std::string(what) + " entry is not an object");
      continue;
    }
    ResourceInfo res;
    std::string why;
    if (!ParseResource(entry, &res, &why)) {
      ctx.Skip(std::string(what) + ": " + why);
      continue;
    }
    fn(entry, res);
  }
}

}  // namespace

Status ParseOtlpJson(std::string_view text, TelemetrySink& sink, ReadStats* stats,
                     std::string_view source, uint64_t line, const IngestLimits& limits) {
  TRIAD_RETURN_IF_ERROR(CheckJsonLimits(text, limits, "OTLP/JSON document"));
  json doc;
  std::string error;
  if (!ParseJsonText(text, &doc, &error)) return Status::Corruption("invalid JSON: " + error);
  if (!doc.is_object()) return Status::Corruption("OTLP document is not a JSON object");
  ReadStats local;
  Ctx ctx{sink, stats != nullptr ? stats : &local, source, line, &limits};
  bool known = false;
  if (const json* rs = Field(doc, "resourceSpans", "resource_spans")) {
    known = true;
    ForEachResource(*rs, "resourceSpans", ctx, [&](const json& e, const ResourceInfo& res) {
      ForEachScopeRecord(e, ctx,
                         {{"scopeSpans", "scope_spans"},
                          {"instrumentationLibrarySpans", "instrumentation_library_spans"}},
                         "spans", "", [&](const json& s) { ParseSpan(s, res, ctx); });
    });
  }
  if (const json* rl = Field(doc, "resourceLogs", "resource_logs")) {
    known = true;
    ForEachResource(*rl, "resourceLogs", ctx, [&](const json& e, const ResourceInfo& res) {
      ForEachScopeRecord(e, ctx,
                         {{"scopeLogs", "scope_logs"},
                          {"instrumentationLibraryLogs", "instrumentation_library_logs"}},
                         "logRecords", "log_records", [&](const json& l) { ParseLog(l, res, ctx); });
    });
  }
  if (const json* rm = Field(doc, "resourceMetrics", "resource_metrics")) {
    known = true;
    ForEachResource(*rm, "resourceMetrics", ctx, [&](const json& e, const ResourceInfo& res) {
      ForEachScopeRecord(e, ctx,
                         {{"scopeMetrics", "scope_metrics"},
                          {"instrumentationLibraryMetrics", "instrumentation_library_metrics"}},
                         "metrics", "", [&](const json& m) { ParseMetric(m, res, ctx); });
    });
  }
  if (!known && !doc.empty())
    ctx.Skip("object has none of resourceSpans/resourceLogs/resourceMetrics");
  return Status::OK();
}

Status ReadOtlpJsonFile(const std::string& path, TelemetrySink& sink, ReadStats* stats) {
  IngestLimits limits;
  limits.max_bytes = SIZE_MAX;  // ForEachJsonDocument bounds the documents
  return ForEachJsonDocument(path, stats,
                             [&](std::string_view doc, std::string_view source, uint64_t line) {
                               return ParseOtlpJson(doc, sink, stats, source, line, limits);
                             });
}

std::string WriteOtlpTraces(const std::vector<Span>& spans) {
  json rs = json::array();
  for (const OtlpSpanGroup& g : GroupOtlpSpans(spans)) {
    json list = json::array();
    for (const Span* s : g.spans) list.push_back(SpanJson(*s));
    rs.push_back(json{{"resource", ResourceJson(g.service, g.instance, g.host)},
                      {"scopeSpans", json::array({json{{"scope", ScopeJson()},
                                                       {"spans", std::move(list)}}})}});
  }
  return Dump(json{{"resourceSpans", std::move(rs)}});
}

std::string WriteOtlpLogs(const std::vector<LogRecord>& logs) {
  json rl = json::array();
  for (const OtlpLogGroup& g : GroupOtlpLogs(logs)) {
    json list = json::array();
    for (const LogRecord* l : g.logs) list.push_back(LogJson(*l));
    rl.push_back(json{{"resource", ResourceJson(g.service, g.instance, "")},
                      {"scopeLogs", json::array({json{{"scope", ScopeJson()},
                                                      {"logRecords", std::move(list)}}})}});
  }
  return Dump(json{{"resourceLogs", std::move(rl)}});
}

std::string WriteOtlpMetrics(const std::vector<MetricSample>& samples) {
  json rm = json::array();
  for (const OtlpMetricResourceGroup& r : GroupOtlpMetrics(samples)) {
    json metrics = json::array();
    for (const OtlpMetricGroup& g : r.metrics) {
      json points = json::array();
      for (const MetricSample* m : g.points) points.push_back(PointJson(*m));
      json metric = json{{"name", g.name}};
      switch (g.kind) {
        case MetricKind::kCounter:
          metric["sum"] = json{{"aggregationTemporality", 2},
                               {"isMonotonic", true},
                               {"dataPoints", std::move(points)}};
          break;
        case MetricKind::kHistogram:
          metric["histogram"] =
              json{{"aggregationTemporality", 2}, {"dataPoints", std::move(points)}};
          break;
        default:
          metric["gauge"] = json{{"dataPoints", std::move(points)}};
      }
      metrics.push_back(std::move(metric));
    }
    rm.push_back(json{{"resource", ResourceJson(r.service, r.instance, "")},
                      {"scopeMetrics", json::array({json{{"scope", ScopeJson()},
                                                         {"metrics", std::move(metrics)}}})}});
  }
  return Dump(json{{"resourceMetrics", std::move(rm)}});
}

}  // namespace triad
