#include "ingest/otlp_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <string>
#include <tuple>
#include <utility>

#include "ingest/json_util.h"

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
  json attrs = json::array();
  if (!service.empty()) attrs.push_back(StringKv("service.name", service));
  if (!instance.empty()) attrs.push_back(StringKv("service.instance.id", instance));
  if (!host.empty()) attrs.push_back(StringKv("host.name", host));
  return json{{"attributes", std::move(attrs)}};
}

json ScopeJson() { return json{{"name", "triad"}}; }

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

bool HasAnyAttr(const Attributes& attrs, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    const std::string* v = FindAttribute(attrs, k);
    if (v != nullptr && !v->empty()) return true;
  }
  return false;
}

// Groups items by a key, keeping the order of first appearance.
template <typename Key>
class Grouper {
 public:
  size_t IndexOf(const Key& k) {
    auto [it, inserted] = index_.emplace(k, keys_.size());
    if (inserted) keys_.push_back(k);
    return it->second;
  }
  const std::vector<Key>& keys() const { return keys_; }

 private:
  std::map<Key, size_t> index_;
  std::vector<Key> keys_;
};

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
  if (!s.http_method.empty() && !HasAnyAttr(s.attributes, {"http.request.method", "http.method"}))
    attrs.push_back(StringKv("http.request.method", s.http_method));
  if (!s.http_url.empty() &&
      !HasAnyAttr(s.attributes, {"url.full", "http.url", "http.target", "url.path", "http.path",
                                 "http.route"}))
    attrs.push_back(StringKv("url.full", s.http_url));
  if (s.http_status_code != 0 &&
      !HasAnyAttr(s.attributes, {"http.response.status_code", "http.status_code"}))
    attrs.push_back(json{{"key", "http.response.status_code"},
                         {"value", json{{"intValue", std::to_string(s.http_status_code)}}}});
  if (!s.peer.empty() &&
      !HasAnyAttr(s.attributes, {"peer.service", "server.address", "net.peer.name",
                                 "network.peer.address", "net.peer.ip"}))
    attrs.push_back(StringKv("peer.service", s.peer));
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

struct Ctx {
  TelemetrySink& sink;
  ReadStats* stats;
  std::string_view source;
  uint64_t line;
  void Skip(std::string_view why) const { stats->Skip(source, line, why); }
};

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
  if (depth > 32) return "\xE2\x80\xA6";
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

struct ResourceInfo {
  std::string service, instance, host;
};

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
  if (const std::string* v = FindAttribute(attrs, "service.name")) r->service = *v;
  if (const std::string* v = FindAttribute(attrs, "service.instance.id"); v && !v->empty())
    r->instance = *v;
  else if (const std::string* p = FindAttribute(attrs, "k8s.pod.name"))
    r->instance = *p;
  if (const std::string* v = FindAttribute(attrs, "host.name")) r->host = *v;
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
  if (s.trace_id.empty() || IsAllZeroId(s.trace_id)) {
    ctx.Skip("span without traceId");
    return;
  }
  if (s.span_id.empty() || IsAllZeroId(s.span_id)) {
    ctx.Skip("span without spanId");
    return;
  }
  if (IsAllZeroId(s.parent_span_id)) s.parent_span_id.clear();
  if (!ParseTime(j, "startTimeUnixNano", "start_time_unix_nano", &s.start) ||
      !ParseTime(j, "endTimeUnixNano", "end_time_unix_nano", &s.end)) {
    ctx.Skip("span " + s.span_id + ": bad start/end time");
    return;
  }
  if (s.end < s.start) {
    ctx.Skip("span " + s.span_id + ": ends before it starts");
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
  s.service = res.service;
  s.instance = res.instance;
  s.host = res.host;
  FillSpanFromSemanticConventions(&s);
  ++ctx.stats->records;
  ctx.sink.OnSpan(std::move(s));
}

void ParseLog(const json& j, const ResourceInfo& res, const Ctx& ctx) {
  LogRecord l;
  if (!ParseTime(j, "timeUnixNano", "time_unix_nano", &l.time) ||
      !ParseTime(j, "observedTimeUnixNano", "observed_time_unix_nano", &l.observed_time)) {
    ctx.Skip("log: bad timeUnixNano/observedTimeUnixNano");
    return;
  }
  if (l.time == 0) l.time = l.observed_time;
  if (!ParseId(j, "traceId", "trace_id", &l.trace_id) ||
      !ParseId(j, "spanId", "span_id", &l.span_id)) {
    ctx.Skip("log: id is not a string");
    return;
  }
  if (IsAllZeroId(l.trace_id)) l.trace_id.clear();
  if (IsAllZeroId(l.span_id)) l.span_id.clear();
  l.severity_text = TextField(j, "severityText", "severity_text");
  if (const json* f = Field(j, "severityNumber", "severity_number"))
    l.severity_number = ParseSeverityNumber(*f);
  if (l.severity_number == 0) l.severity_number = SeverityFromText(l.severity_text);
  if (const json* b = Field(j, "body", "")) l.body = AnyValueText(*b);
  std::string why;
  if (!ParseAttributes(Field(j, "attributes", ""), &l.attributes, &why)) {
    ctx.Skip("log: " + why);
    return;
  }
  l.service = res.service;
  l.instance = res.instance;
  ++ctx.stats->records;
  ctx.sink.OnLog(std::move(l));
}

void SortLabels(Attributes* labels) {
  std::stable_sort(labels->begin(), labels->end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
}

// Common part of a data point: labels and time. Returns false (and counts a
// skip) if the point is unusable.
bool ParsePointHeader(const json& p, const std::string& name, const ResourceInfo& res,
                      const Ctx& ctx, MetricSample* m) {
  m->name = name;
  m->service = res.service;
  m->instance = res.instance;
  std::string why;
  if (!ParseAttributes(Field(p, "attributes", ""), &m->labels, &why)) {
    ctx.Skip("metric " + name + ": " + why);
    return false;
  }
  SortLabels(&m->labels);
  if (!ParseTime(p, "timeUnixNano", "time_unix_nano", &m->time)) {
    ctx.Skip("metric " + name + ": bad timeUnixNano");
    return false;
  }
  if (m->time == 0) {
    ctx.Skip("metric " + name + ": data point without timeUnixNano");
    return false;
  }
  if (const json* f = Field(p, "flags", "")) {
    int64_t flags;
    if (JsonToInt64(*f, &flags) && (flags & 1)) {
      ctx.Skip("metric " + name + ": data point flagged no-recorded-value");
      return false;
    }
  }
  return true;
}

void Emit(MetricSample&& m, const Ctx& ctx) {
  ++ctx.stats->records;
  ctx.sink.OnMetric(std::move(m));
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
  if (!std::isfinite(m.value)) {
    ctx.Skip("metric " + name + ": non-finite value");
    return;
  }
  Emit(std::move(m), ctx);
}

void ParseHistogramPoint(const json& p, const std::string& name, const ResourceInfo& res,
                         const Ctx& ctx) {
  MetricSample m;
  if (!ParsePointHeader(p, name, res, ctx, &m)) return;
  m.kind = MetricKind::kHistogram;
  if (const json* c = Field(p, "count", ""); c != nullptr && !JsonToUint64(*c, &m.count)) {
    ctx.Skip("histogram " + name + ": bad count");
    return;
  }
  if (const json* s = Field(p, "sum", "")) {
    if (!JsonToDouble(*s, &m.value) || !std::isfinite(m.value)) {
      ctx.Skip("histogram " + name + ": bad or non-finite sum");
      return;
    }
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
      if (!JsonToDouble(e, &b) || !std::isfinite(b) ||
          (!m.bounds.empty() && b <= m.bounds.back())) {
        ctx.Skip("histogram " + name + ": bounds not finite and increasing");
        return;
      }
      m.bounds.push_back(b);
    }
  }
  if (m.bucket_counts.empty() && m.bounds.empty()) m.bucket_counts.push_back(m.count);
  if (m.bucket_counts.size() != m.bounds.size() + 1) {
    ctx.Skip("histogram " + name + ": bucketCounts size is not explicitBounds size + 1");
    return;
  }
  Emit(std::move(m), ctx);
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
  if (const json* s = Field(p, "sum", "");
      s != nullptr && (!JsonToDouble(*s, &sum) || !std::isfinite(sum))) {
    ctx.Skip("summary " + name + ": bad or non-finite sum");
    return;
  }
  if (const json* qv = Field(p, "quantileValues", "quantile_values"); qv != nullptr) {
    if (!qv->is_array()) {
      ctx.Skip("summary " + name + ": quantileValues is not an array");
    } else {
      for (const auto& q : *qv) {
        double quantile = 0, value = 0;
        const json* qf = Field(q, "quantile", "");
        const json* vf = Field(q, "value", "");
        if ((qf != nullptr && !JsonToDouble(*qf, &quantile)) ||
            (vf != nullptr && !JsonToDouble(*vf, &value)) || !std::isfinite(quantile) ||
            !std::isfinite(value)) {
          ctx.Skip("summary " + name + ": bad quantile value");
          continue;
        }
        MetricSample m = base;
        m.labels.emplace_back("quantile", FormatDouble(quantile));
        SortLabels(&m.labels);
        m.value = value;
        Emit(std::move(m), ctx);
      }
    }
  }
  MetricSample s = base;
  s.name = name + "_sum";
  s.value = sum;
  Emit(std::move(s), ctx);
  MetricSample c = std::move(base);
  c.name = name + "_count";
  c.value = static_cast<double>(count);
  Emit(std::move(c), ctx);
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
    MetricKind kind = (monotonic && !delta) ? MetricKind::kCounter : MetricKind::kGauge;
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
                     std::string_view source, uint64_t line) {
  json doc;
  std::string error;
  if (!ParseJsonText(text, &doc, &error)) return Status::Corruption("invalid JSON: " + error);
  if (!doc.is_object()) return Status::Corruption("OTLP document is not a JSON object");
  ReadStats local;
  Ctx ctx{sink, stats != nullptr ? stats : &local, source, line};
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
  return ForEachJsonDocument(path, stats,
                             [&](std::string_view doc, std::string_view source, uint64_t line) {
                               return ParseOtlpJson(doc, sink, stats, source, line);
                             });
}

std::string WriteOtlpTraces(const std::vector<Span>& spans) {
  using Key = std::tuple<std::string, std::string, std::string>;
  Grouper<Key> groups;
  std::vector<json> lists;
  for (const Span& s : spans) {
    size_t g = groups.IndexOf(Key(s.service, s.instance, s.host));
    if (g == lists.size()) lists.push_back(json::array());
    lists[g].push_back(SpanJson(s));
  }
  json rs = json::array();
  for (size_t g = 0; g < lists.size(); ++g) {
    const auto& [service, instance, host] = groups.keys()[g];
    rs.push_back(json{{"resource", ResourceJson(service, instance, host)},
                      {"scopeSpans", json::array({json{{"scope", ScopeJson()},
                                                       {"spans", std::move(lists[g])}}})}});
  }
  return Dump(json{{"resourceSpans", std::move(rs)}});
}

std::string WriteOtlpLogs(const std::vector<LogRecord>& logs) {
  using Key = std::pair<std::string, std::string>;
  Grouper<Key> groups;
  std::vector<json> lists;
  for (const LogRecord& l : logs) {
    size_t g = groups.IndexOf(Key(l.service, l.instance));
    if (g == lists.size()) lists.push_back(json::array());
    lists[g].push_back(LogJson(l));
  }
  json rl = json::array();
  for (size_t g = 0; g < lists.size(); ++g) {
    const auto& [service, instance] = groups.keys()[g];
    rl.push_back(json{{"resource", ResourceJson(service, instance, "")},
                      {"scopeLogs", json::array({json{{"scope", ScopeJson()},
                                                      {"logRecords", std::move(lists[g])}}})}});
  }
  return Dump(json{{"resourceLogs", std::move(rl)}});
}

std::string WriteOtlpMetrics(const std::vector<MetricSample>& samples) {
  using ResKey = std::pair<std::string, std::string>;
  using MetKey = std::pair<std::string, int>;
  Grouper<ResKey> resources;
  std::vector<Grouper<MetKey>> metric_groups;
  std::vector<std::vector<json>> points;  // [resource][metric] -> dataPoints array
  for (const MetricSample& m : samples) {
    size_t r = resources.IndexOf(ResKey(m.service, m.instance));
    if (r == metric_groups.size()) {
      metric_groups.emplace_back();
      points.emplace_back();
    }
    size_t k = metric_groups[r].IndexOf(MetKey(m.name, static_cast<int>(m.kind)));
    if (k == points[r].size()) points[r].push_back(json::array());
    points[r][k].push_back(PointJson(m));
  }
  json rm = json::array();
  for (size_t r = 0; r < points.size(); ++r) {
    json metrics = json::array();
    for (size_t k = 0; k < points[r].size(); ++k) {
      const auto& [name, kind] = metric_groups[r].keys()[k];
      json metric = json{{"name", name}};
      switch (static_cast<MetricKind>(kind)) {
        case MetricKind::kCounter:
          metric["sum"] = json{{"aggregationTemporality", 2},
                               {"isMonotonic", true},
                               {"dataPoints", std::move(points[r][k])}};
          break;
        case MetricKind::kHistogram:
          metric["histogram"] =
              json{{"aggregationTemporality", 2}, {"dataPoints", std::move(points[r][k])}};
          break;
        default:
          metric["gauge"] = json{{"dataPoints", std::move(points[r][k])}};
      }
      metrics.push_back(std::move(metric));
    }
    const auto& [service, instance] = resources.keys()[r];
    rm.push_back(json{{"resource", ResourceJson(service, instance, "")},
                      {"scopeMetrics", json::array({json{{"scope", ScopeJson()},
                                                         {"metrics", std::move(metrics)}}})}});
  }
  return Dump(json{{"resourceMetrics", std::move(rm)}});
}

}  // namespace triad
