#include "ingest/otlp_proto.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/stubs/logging.h>
#include <nlohmann/json.hpp>

#include <climits>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "ingest/json_util.h"
#include "ingest/line_reader.h"
#include "ingest/otlp_common.h"
#include "ingest/proto/logs_service.pb.h"
#include "ingest/proto/metrics_service.pb.h"
#include "ingest/proto/trace_service.pb.h"

namespace triad {

namespace pb = google::protobuf;
namespace pbc = opentelemetry::proto::common::v1;
namespace pbr = opentelemetry::proto::resource::v1;
namespace pbt = opentelemetry::proto::trace::v1;
namespace pbl = opentelemetry::proto::logs::v1;
namespace pbm = opentelemetry::proto::metrics::v1;
namespace ctr = opentelemetry::proto::collector::trace::v1;
namespace clg = opentelemetry::proto::collector::logs::v1;
namespace cmt = opentelemetry::proto::collector::metrics::v1;
using nlohmann::json;
using KeyValues = pb::RepeatedPtrField<pbc::KeyValue>;

namespace {

constexpr uint64_t kMaxTime = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
// Nesting tried once more after a failed parse, to tell "too deep" from "garbage".
constexpr int kProbeDepth = 100;

// ---------------------------------------------------------------- values

std::string HexId(const std::string& bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string Base64(const std::string& bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i < bytes.size()) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= uint8_t(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// AnyValue -> a plain JSON value, as the OTLP/JSON reader builds it (non-finite
// doubles as the proto3 JSON strings, bytes as base64).
json AnyValuePlain(const pbc::AnyValue& v, int depth) {
  if (depth > kOtlpMaxValueDepth) return kOtlpCutValue;
  switch (v.value_case()) {
    case pbc::AnyValue::kStringValue:
      return v.string_value();
    case pbc::AnyValue::kBoolValue:
      return v.bool_value();
    case pbc::AnyValue::kIntValue:
      return v.int_value();
    case pbc::AnyValue::kDoubleValue: {
      double d = v.double_value();
      if (std::isfinite(d)) return d;
      return std::isnan(d) ? "NaN" : (d > 0 ? "Infinity" : "-Infinity");
    }
    case pbc::AnyValue::kBytesValue:
      return Base64(v.bytes_value());
    case pbc::AnyValue::kArrayValue: {
      json arr = json::array();
      for (const auto& e : v.array_value().values()) arr.push_back(AnyValuePlain(e, depth + 1));
      return arr;
    }
    case pbc::AnyValue::kKvlistValue: {
      json obj = json::object();
      for (const auto& e : v.kvlist_value().values())
        obj[e.key()] = e.has_value() ? AnyValuePlain(e.value(), depth + 1) : json();
      return obj;
    }
    default:
      return json();
  }
}

std::string AnyValueText(const pbc::AnyValue& v) {
  switch (v.value_case()) {
    case pbc::AnyValue::kStringValue:
      return v.string_value();
    case pbc::AnyValue::kDoubleValue:
      return FormatDouble(v.double_value());
    default:
      return JsonValueToText(AnyValuePlain(v, 0));
  }
}

void AppendAttributes(const KeyValues& kvs, Attributes* out) {
  out->reserve(out->size() + kvs.size());
  for (const auto& kv : kvs)
    out->emplace_back(kv.key(), kv.has_value() ? AnyValueText(kv.value()) : std::string());
}

OtlpResourceInfo ResourceOf(const pbr::Resource& r) {
  Attributes attrs;
  AppendAttributes(r.attributes(), &attrs);
  return OtlpResourceFromAttributes(attrs);
}

// Parses `bytes` into *msg within the limits.
template <typename L, typename Msg = typename L::Request>
Status ParseRequest(std::string_view bytes, const OtlpProtoLimits& limits, Msg* msg) {
  const std::string what = Msg::descriptor()->name();
  if (bytes.size() > limits.max_bytes)
    return Status::InvalidArgument("OTLP " + what + " of " + std::to_string(bytes.size()) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(limits.max_bytes) + " bytes (max_bytes)");
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    return Status::InvalidArgument("OTLP " + what + " over 2 GiB");
  auto parse = [&](int depth, Msg* m) {
    pb::LogSilencer quiet;  // invalid UTF-8 in strings is logged by protobuf otherwise
    pb::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                static_cast<int>(bytes.size()));
    in.SetRecursionLimit(depth);
    return m->ParseFromCodedStream(&in) && in.ConsumedEntireMessage();
  };
  if (parse(std::max(1, limits.max_depth), msg)) return Status::OK();
  if (limits.max_depth < kProbeDepth) {
    Msg probe;
    if (parse(kProbeDepth, &probe))
      return Status::InvalidArgument("OTLP " + what + " nests messages deeper than " +
                                     std::to_string(limits.max_depth) + " levels (max_depth)");
  }
  return Status::Corruption("not a valid OTLP " + what +
                            " (truncated or malformed protobuf, or invalid UTF-8 in a string)");
}

// ---------------------------------------------------------------- reading

void ReadSpan(const pbt::Span& p, const OtlpResourceInfo& res, const OtlpEmitter& out) {
  Span s;
  s.trace_id = HexId(p.trace_id());
  s.span_id = HexId(p.span_id());
  s.parent_span_id = HexId(p.parent_span_id());
  if (p.start_time_unix_nano() > kMaxTime || p.end_time_unix_nano() > kMaxTime) {
    out.Skip("span " + s.span_id + ": bad start/end time");
    return;
  }
  s.start = static_cast<TimeNs>(p.start_time_unix_nano());
  s.end = static_cast<TimeNs>(p.end_time_unix_nano());
  s.name = p.name();
  int kind = p.kind();
  s.kind = (kind >= 0 && kind <= 5) ? static_cast<SpanKind>(kind) : SpanKind::kUnspecified;
  if (p.has_status()) {
    int code = p.status().code();
    s.status = (code >= 0 && code <= 2) ? static_cast<SpanStatus>(code) : SpanStatus::kUnset;
    s.status_message = p.status().message();
  }
  AppendAttributes(p.attributes(), &s.attributes);
  EmitOtlpSpan(std::move(s), res, out);
}

void ReadLog(const pbl::LogRecord& p, const OtlpResourceInfo& res, const OtlpEmitter& out) {
  if (p.time_unix_nano() > kMaxTime || p.observed_time_unix_nano() > kMaxTime) {
    out.Skip("log: bad timeUnixNano/observedTimeUnixNano");
    return;
  }
  LogRecord l;
  l.time = static_cast<TimeNs>(p.time_unix_nano());
  l.observed_time = static_cast<TimeNs>(p.observed_time_unix_nano());
  l.trace_id = HexId(p.trace_id());
  l.span_id = HexId(p.span_id());
  l.severity_text = p.severity_text();
  l.severity_number = p.severity_number();
  if (p.has_body()) l.body = AnyValueText(p.body());
  AppendAttributes(p.attributes(), &l.attributes);
  EmitOtlpLog(std::move(l), res, out);
}

// Labels, time and flags of any data point.
template <typename Point>
bool StartPoint(const Point& p, const std::string& name, const OtlpResourceInfo& res,
                const OtlpEmitter& out, MetricSample* m) {
  if (p.time_unix_nano() > kMaxTime) {
    out.Skip("metric " + name + ": bad timeUnixNano");
    return false;
  }
  Attributes labels;
  AppendAttributes(p.attributes(), &labels);
  return StartOtlpPoint(name, res, std::move(labels), static_cast<TimeNs>(p.time_unix_nano()),
                        p.flags(), out, m);
}

void ReadNumberPoints(const pb::RepeatedPtrField<pbm::NumberDataPoint>& points,
                      const std::string& name, MetricKind kind, const OtlpResourceInfo& res,
                      const OtlpEmitter& out) {
  for (const auto& p : points) {
    MetricSample m;
    if (!StartPoint(p, name, res, out, &m)) continue;
    m.kind = kind;
    if (p.value_case() == pbm::NumberDataPoint::kAsDouble) {
      m.value = p.as_double();
    } else if (p.value_case() == pbm::NumberDataPoint::kAsInt) {
      m.value = static_cast<double>(p.as_int());
    } else {
      out.Skip("metric " + name + ": data point without a value");
      continue;
    }
    EmitOtlpNumberPoint(std::move(m), out);
  }
}

void ReadMetric(const pbm::Metric& p, const OtlpResourceInfo& res, const OtlpEmitter& out) {
  if (p.name().empty()) {
    out.Skip("metric without a name");
    return;
  }
  const std::string& name = p.name();
  switch (p.data_case()) {
    case pbm::Metric::kGauge:
      ReadNumberPoints(p.gauge().data_points(), name, MetricKind::kGauge, res, out);
      break;
    case pbm::Metric::kSum:
      ReadNumberPoints(p.sum().data_points(), name,
                       OtlpSumKind(p.sum().is_monotonic(),
                                   p.sum().aggregation_temporality() ==
                                       pbm::AGGREGATION_TEMPORALITY_DELTA),
                       res, out);
      break;
    case pbm::Metric::kHistogram:
      for (const auto& h : p.histogram().data_points()) {
        MetricSample m;
        if (!StartPoint(h, name, res, out, &m)) continue;
        m.count = h.count();
        m.value = h.has_sum() ? h.sum() : 0.0;
        m.bucket_counts.assign(h.bucket_counts().begin(), h.bucket_counts().end());
        m.bounds.assign(h.explicit_bounds().begin(), h.explicit_bounds().end());
        EmitOtlpHistogramPoint(std::move(m), out);
      }
      break;
    case pbm::Metric::kSummary:
      for (const auto& s : p.summary().data_points()) {
        MetricSample m;
        if (!StartPoint(s, name, res, out, &m)) continue;
        std::vector<std::pair<double, double>> quantiles;
        quantiles.reserve(s.quantile_values_size());
        for (const auto& q : s.quantile_values()) quantiles.emplace_back(q.quantile(), q.value());
        EmitOtlpSummaryPoint(std::move(m), s.sum(), s.count(), quantiles, out);
      }
      break;
    case pbm::Metric::kExponentialHistogram:
      out.Skip("metric " + name + ": exponentialHistogram is not supported");
      break;
    default:
      out.Skip("metric " + name + ": no gauge/sum/histogram/summary data");
  }
}

// How each signal's request nests: request -> resource entries -> scope
// containers (current and pre-1.0) -> records; and what a record needs.
struct TracesLayout {
  using Request = ctr::ExportTraceServiceRequest;
  using Response = ctr::ExportTraceServiceResponse;
  static const auto& Entries(const Request& r) { return r.resource_spans(); }
  static const auto& Scopes(const pbt::ResourceSpans& e) { return e.scope_spans(); }
  static const auto& Legacy(const pbt::ResourceSpans& e) {
    return e.deprecated_instrumentation_library_spans();
  }
  static const auto& Records(const pbt::ScopeSpans& s) { return s.spans(); }
  static void Read(const pbt::Span& s, const OtlpResourceInfo& res, const OtlpEmitter& out) {
    ReadSpan(s, res, out);
  }
  static void SetRejected(int64_t n, Response* r) {
    r->mutable_partial_success()->set_rejected_spans(n);
  }
};

struct LogsLayout {
  using Request = clg::ExportLogsServiceRequest;
  using Response = clg::ExportLogsServiceResponse;
  static const auto& Entries(const Request& r) { return r.resource_logs(); }
  static const auto& Scopes(const pbl::ResourceLogs& e) { return e.scope_logs(); }
  static const auto& Legacy(const pbl::ResourceLogs& e) {
    return e.deprecated_instrumentation_library_logs();
  }
  static const auto& Records(const pbl::ScopeLogs& s) { return s.log_records(); }
  static void Read(const pbl::LogRecord& l, const OtlpResourceInfo& res, const OtlpEmitter& out) {
    ReadLog(l, res, out);
  }
  static void SetRejected(int64_t n, Response* r) {
    r->mutable_partial_success()->set_rejected_log_records(n);
  }
};

struct MetricsLayout {
  using Request = cmt::ExportMetricsServiceRequest;
  using Response = cmt::ExportMetricsServiceResponse;
  static const auto& Entries(const Request& r) { return r.resource_metrics(); }
  static const auto& Scopes(const pbm::ResourceMetrics& e) { return e.scope_metrics(); }
  static const auto& Legacy(const pbm::ResourceMetrics& e) {
    return e.deprecated_instrumentation_library_metrics();
  }
  static const auto& Records(const pbm::ScopeMetrics& s) { return s.metrics(); }
  static void Read(const pbm::Metric& m, const OtlpResourceInfo& res, const OtlpEmitter& out) {
    ReadMetric(m, res, out);
  }
  static void SetRejected(int64_t n, Response* r) {
    r->mutable_partial_success()->set_rejected_data_points(n);
  }
};

template <typename L>
Status ParseAndEmit(std::string_view bytes, const OtlpProtoLimits& limits,
                    const OtlpEmitter& out) {
  pb::Arena arena;
  auto* req = pb::Arena::CreateMessage<typename L::Request>(&arena);
  TRIAD_RETURN_IF_ERROR(ParseRequest<L>(bytes, limits, req));
  for (const auto& e : L::Entries(*req)) {
    const OtlpResourceInfo res = ResourceOf(e.resource());
    for (const auto* scopes : {&L::Scopes(e), &L::Legacy(e)})
      for (const auto& s : *scopes)
        for (const auto& r : L::Records(s)) L::Read(r, res, out);
  }
  return Status::OK();
}

template <typename L>
std::string ExportResponse(int64_t rejected, const std::string& message) {
  typename L::Response r;
  if (rejected > 0 || !message.empty()) {
    L::SetRejected(rejected, &r);
    r.mutable_partial_success()->set_error_message(message);
  }
  return r.SerializeAsString();
}

// ---------------------------------------------------------------- writing

// `s` as valid UTF-8 (protobuf rejects strings that are not): invalid bytes
// become U+FFFD, as the OTLP/JSON writer does.
std::string Utf8(const std::string& s) {
  if (pb::internal::IsStructurallyValidUTF8(s.data(), static_cast<int>(s.size()))) return s;
  return json::parse(json(s).dump(-1, ' ', false, json::error_handler_t::replace))
      .get<std::string>();
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Hex id -> its bytes (odd length: a leading 0); a non-hex id -> its characters.
std::string IdBytes(const std::string& id) {
  for (char c : id)
    if (HexDigit(c) < 0) return id;
  std::string hex = (id.size() % 2 == 1) ? "0" + id : id;
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<char>(HexDigit(hex[2 * i]) * 16 + HexDigit(hex[2 * i + 1]));
  return out;
}

void AddString(KeyValues* kvs, const std::string& key, const std::string& value) {
  pbc::KeyValue* kv = kvs->Add();
  kv->set_key(Utf8(key));
  kv->mutable_value()->set_string_value(Utf8(value));
}

void AddAttributes(KeyValues* kvs, const Attributes& attrs) {
  kvs->Reserve(kvs->size() + static_cast<int>(attrs.size()));
  for (const auto& [k, v] : attrs) AddString(kvs, k, v);
}

void FillResource(pbr::Resource* r, const std::string& service, const std::string& instance,
                  const std::string& host) {
  AddAttributes(r->mutable_attributes(), OtlpResourceAttributes(service, instance, host));
}

void FillSpan(const Span& s, pbt::Span* p) {
  p->set_trace_id(IdBytes(s.trace_id));
  p->set_span_id(IdBytes(s.span_id));
  if (!s.parent_span_id.empty()) p->set_parent_span_id(IdBytes(s.parent_span_id));
  p->set_name(Utf8(s.name));
  p->set_kind(static_cast<pbt::Span::SpanKind>(s.kind));
  p->set_start_time_unix_nano(static_cast<uint64_t>(s.start));
  p->set_end_time_unix_nano(static_cast<uint64_t>(s.end));
  AddAttributes(p->mutable_attributes(), s.attributes);
  for (const OtlpExtraAttribute& a : OtlpSpanConventionAttributes(s)) {
    pbc::KeyValue* kv = p->add_attributes();
    kv->set_key(a.key);
    if (a.is_int)
      kv->mutable_value()->set_int_value(std::stoll(a.value));
    else
      kv->mutable_value()->set_string_value(Utf8(a.value));
  }
  if (s.status != SpanStatus::kUnset || !s.status_message.empty()) {
    p->mutable_status()->set_code(static_cast<pbt::Status::StatusCode>(s.status));
    p->mutable_status()->set_message(Utf8(s.status_message));
  }
}

void FillLog(const LogRecord& l, pbl::LogRecord* p) {
  p->set_time_unix_nano(static_cast<uint64_t>(l.time));
  p->set_observed_time_unix_nano(static_cast<uint64_t>(l.observed_time));
  p->set_severity_number(static_cast<pbl::SeverityNumber>(l.severity_number));
  p->set_severity_text(Utf8(l.severity_text));
  p->mutable_body()->set_string_value(Utf8(l.body));
  AddAttributes(p->mutable_attributes(), l.attributes);
  if (!l.trace_id.empty()) p->set_trace_id(IdBytes(l.trace_id));
  if (!l.span_id.empty()) p->set_span_id(IdBytes(l.span_id));
}

template <typename Point>
void FillPointHeader(const MetricSample& m, Point* p) {
  AddAttributes(p->mutable_attributes(), m.labels);
  p->set_time_unix_nano(static_cast<uint64_t>(m.time));
}

void FillMetric(const OtlpMetricGroup& g, pbm::Metric* p) {
  p->set_name(Utf8(g.name));
  switch (g.kind) {
    case MetricKind::kHistogram: {
      pbm::Histogram* h = p->mutable_histogram();
      h->set_aggregation_temporality(pbm::AGGREGATION_TEMPORALITY_CUMULATIVE);
      for (const MetricSample* m : g.points) {
        pbm::HistogramDataPoint* d = h->add_data_points();
        FillPointHeader(*m, d);
        d->set_count(m->count);
        d->set_sum(m->value);
        d->mutable_bucket_counts()->Add(m->bucket_counts.begin(), m->bucket_counts.end());
        d->mutable_explicit_bounds()->Add(m->bounds.begin(), m->bounds.end());
      }
      return;
    }
    case MetricKind::kCounter: {
      pbm::Sum* s = p->mutable_sum();
      s->set_aggregation_temporality(pbm::AGGREGATION_TEMPORALITY_CUMULATIVE);
      s->set_is_monotonic(true);
      for (const MetricSample* m : g.points) {
        pbm::NumberDataPoint* d = s->add_data_points();
        FillPointHeader(*m, d);
        d->set_as_double(m->value);
      }
      return;
    }
    default: {
      pbm::Gauge* gauge = p->mutable_gauge();
      for (const MetricSample* m : g.points) {
        pbm::NumberDataPoint* d = gauge->add_data_points();
        FillPointHeader(*m, d);
        d->set_as_double(m->value);
      }
    }
  }
}

// ---------------------------------------------------------------- files

// Field numbers and wire types a record of each signal may hold (fields 1..16).
struct RecordShape {
  uint32_t allowed[17];  // bit w set: field n may have wire type w
};

constexpr uint32_t W(int wt) { return 1u << wt; }

// [traces, logs, metrics]
constexpr RecordShape kShapes[3] = {
    {{0, W(2), W(2), W(2), W(2), W(2), W(0), W(1), W(1), W(2), W(0), W(2), W(0), W(2), W(0),
      W(2), W(5)}},
    {{0, W(1), W(0), W(2), 0, W(2), W(2), W(0), W(5), W(2), W(2), W(1), W(2), 0, 0, 0, 0}},
    {{0, W(2), W(2), W(2), 0, W(2), 0, W(2), 0, W(2), W(2), W(2), W(2), 0, 0, 0, 0}},
};

struct WireReader {
  const uint8_t* p;
  const uint8_t* end;
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64 && p < end; shift += 7) {
      uint8_t b = *p++;
      *v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  // Reads a tag and the field's value; *payload is set for wire type 2.
  // Returns false on malformed input or (unless truncated_ok) truncation; with
  // truncated_ok, a length-delimited value that runs past the end is cut.
  bool Field(uint32_t* field, int* wt, std::string_view* payload, bool truncated_ok,
             bool* cut) {
    uint64_t tag;
    if (!Varint(&tag)) return false;
    *field = static_cast<uint32_t>(tag >> 3);
    *wt = static_cast<int>(tag & 7);
    if (*field == 0 || (tag >> 3) > (1u << 29)) return false;
    uint64_t v;
    switch (*wt) {
      case 0:
        return Varint(&v);
      case 1:
        if (end - p < 8) return false;
        p += 8;
        return true;
      case 5:
        if (end - p < 4) return false;
        p += 4;
        return true;
      case 2:
        if (!Varint(&v)) return false;
        if (v > static_cast<uint64_t>(end - p)) {
          if (!truncated_ok) return false;
          *cut = true;
          v = static_cast<uint64_t>(end - p);
        }
        *payload = std::string_view(reinterpret_cast<const char*>(p), v);
        p += v;
        return true;
      default:
        return false;  // groups are not used by OTLP
    }
  }
};

WireReader ReaderOf(std::string_view s) {
  auto* b = reinterpret_cast<const uint8_t*>(s.data());
  return WireReader{b, b + s.size()};
}

// Returns true iff `msg` is a structurally valid message (tags and lengths).
bool ValidMessage(std::string_view msg) {
  WireReader r = ReaderOf(msg);
  while (r.p < r.end) {
    uint32_t f;
    int wt;
    std::string_view payload;
    bool cut = false;
    if (!r.Field(&f, &wt, &payload, false, &cut)) return false;
  }
  return true;
}

struct Detection {
  bool valid = true;   // wire structure as an OTLP request
  int records = 0;     // records examined
  unsigned mask = 7;   // signals whose wire types fit every record (bit i = kShapes[i])
  unsigned whole = 0;  // signals of which some record is a complete, usable record
};

constexpr int kMaxDetectRecords = 64;

// Narrows d->mask by one record's field numbers and wire types, and adds to
// d->whole the signals for which it has what such a record always has (a span
// its span id, a metric its name and a data message).
void Classify(std::string_view rec, bool truncated_ok, Detection* d) {
  WireReader r = ReaderOf(rec);
  unsigned mask = d->mask;
  bool has_span_id = false, has_name = false, has_data = false;
  while (r.p < r.end) {
    uint32_t f;
    int wt;
    std::string_view payload;
    bool cut = false;
    if (!r.Field(&f, &wt, &payload, truncated_ok, &cut)) {
      if (!truncated_ok) d->valid = false;
      break;
    }
    if (f <= 16)
      for (int k = 0; k < 3; ++k)
        if (!(kShapes[k].allowed[f] & W(wt))) mask &= ~(1u << k);
    if (f == 2 && wt == 2) has_span_id = true;
    if (f == 1 && wt == 2) has_name = true;
    if (wt == 2 && (f == 5 || f == 7 || f == 9 || f == 10 || f == 11) &&
        (cut || ValidMessage(payload)))
      has_data = true;
  }
  unsigned whole = mask;
  if (!has_span_id) whole &= ~1u;
  if (!has_name || !has_data) whole &= ~4u;
  d->mask = mask;
  d->whole |= whole;
  ++d->records;
}

// Walks request (level 0) -> resource entries (1) -> scope containers (2) -> records.
void Walk(std::string_view msg, int level, bool truncated_ok, Detection* d) {
  WireReader r = ReaderOf(msg);
  while (r.p < r.end && d->valid && d->records < kMaxDetectRecords) {
    uint32_t f;
    int wt;
    std::string_view payload;
    bool cut = false;
    if (!r.Field(&f, &wt, &payload, truncated_ok, &cut)) {
      if (!truncated_ok) d->valid = false;
      return;
    }
    bool known = false;
    if (level == 0) {
      known = f == 1 && wt == 2;
      if (known) Walk(payload, 1, truncated_ok, d);
    } else if (level == 1) {
      known = (f == 1 || f == 2 || f == 3 || f == 1000) && wt == 2;
      if (known && (f == 2 || f == 1000)) Walk(payload, 2, truncated_ok, d);
    } else {
      known = (f == 1 || f == 2 || f == 3) && wt == 2;
      if (known && f == 2) Classify(payload, truncated_ok, d);
    }
    if (!known) d->valid = false;
    if (cut) return;
  }
}

Detection Detect(std::string_view bytes, bool truncated_ok) {
  Detection d;
  Walk(bytes, 0, truncated_ok, &d);
  return d;
}

bool Unambiguous(const Detection& d, OtlpSignal* out) {
  if (!d.valid || d.records == 0) return false;
  switch (d.mask & d.whole) {
    case 1: *out = OtlpSignal::kTraces; return true;
    case 2: *out = OtlpSignal::kLogs; return true;
    case 4: *out = OtlpSignal::kMetrics; return true;
    default: return false;
  }
}

// Splits `data` into length-delimited frames. Returns true iff the frames
// chain exactly to the end (and there is at least one); otherwise *frames holds
// those before the break.
bool SplitFrames(std::string_view data, std::vector<std::string_view>* frames) {
  WireReader r = ReaderOf(data);
  while (r.p < r.end) {
    uint64_t len;
    if (!r.Varint(&len) || len > static_cast<uint64_t>(r.end - r.p)) return false;
    frames->emplace_back(reinterpret_cast<const char*>(r.p), len);
    r.p += len;
  }
  return !frames->empty();
}

}  // namespace

const char* OtlpSignalName(OtlpSignal s) {
  switch (s) {
    case OtlpSignal::kTraces: return "traces";
    case OtlpSignal::kLogs: return "logs";
    case OtlpSignal::kMetrics: return "metrics";
  }
  return "?";
}

Status ParseOtlpProto(OtlpSignal kind, std::string_view bytes, TelemetrySink& sink,
                      ReadStats* stats, std::string_view source, const OtlpProtoLimits& limits,
                      uint64_t line) {
  ReadStats local;
  OtlpEmitter out{sink, stats != nullptr ? stats : &local, source, line, &limits};
  switch (kind) {
    case OtlpSignal::kTraces:
      return ParseAndEmit<TracesLayout>(bytes, limits, out);
    case OtlpSignal::kLogs:
      return ParseAndEmit<LogsLayout>(bytes, limits, out);
    case OtlpSignal::kMetrics:
      return ParseAndEmit<MetricsLayout>(bytes, limits, out);
  }
  return Status::InvalidArgument("unknown OTLP signal");
}

std::string WriteOtlpTracesProto(const std::vector<Span>& spans) {
  ctr::ExportTraceServiceRequest req;
  for (const OtlpSpanGroup& g : GroupOtlpSpans(spans)) {
    pbt::ResourceSpans* rs = req.add_resource_spans();
    FillResource(rs->mutable_resource(), g.service, g.instance, g.host);
    pbt::ScopeSpans* ss = rs->add_scope_spans();
    ss->mutable_scope()->set_name("triad");
    for (const Span* s : g.spans) FillSpan(*s, ss->add_spans());
  }
  return req.SerializeAsString();
}

std::string WriteOtlpLogsProto(const std::vector<LogRecord>& logs) {
  clg::ExportLogsServiceRequest req;
  for (const OtlpLogGroup& g : GroupOtlpLogs(logs)) {
    pbl::ResourceLogs* rl = req.add_resource_logs();
    FillResource(rl->mutable_resource(), g.service, g.instance, "");
    pbl::ScopeLogs* sl = rl->add_scope_logs();
    sl->mutable_scope()->set_name("triad");
    for (const LogRecord* l : g.logs) FillLog(*l, sl->add_log_records());
  }
  return req.SerializeAsString();
}

std::string WriteOtlpMetricsProto(const std::vector<MetricSample>& samples) {
  cmt::ExportMetricsServiceRequest req;
  for (const OtlpMetricResourceGroup& r : GroupOtlpMetrics(samples)) {
    pbm::ResourceMetrics* rm = req.add_resource_metrics();
    FillResource(rm->mutable_resource(), r.service, r.instance, "");
    pbm::ScopeMetrics* sm = rm->add_scope_metrics();
    sm->mutable_scope()->set_name("triad");
    for (const OtlpMetricGroup& g : r.metrics) FillMetric(g, sm->add_metrics());
  }
  return req.SerializeAsString();
}

std::string OtlpExportResponseProto(OtlpSignal kind, int64_t rejected,
                                    std::string_view error_message) {
  const std::string message = Utf8(std::string(error_message));
  switch (kind) {
    case OtlpSignal::kTraces:
      return ExportResponse<TracesLayout>(rejected, message);
    case OtlpSignal::kLogs:
      return ExportResponse<LogsLayout>(rejected, message);
    case OtlpSignal::kMetrics:
      return ExportResponse<MetricsLayout>(rejected, message);
  }
  return std::string();
}

std::string OtlpExportResponseJson(OtlpSignal kind, int64_t rejected,
                                   std::string_view error_message) {
  json j = json::object();
  if (rejected > 0 || !error_message.empty()) {
    json p = json::object();
    const char* key = kind == OtlpSignal::kTraces ? "rejectedSpans"
                      : kind == OtlpSignal::kLogs ? "rejectedLogRecords"
                                                  : "rejectedDataPoints";
    if (rejected != 0) p[key] = std::to_string(rejected);  // proto3 JSON: int64 as a string
    if (!error_message.empty()) p["errorMessage"] = std::string(error_message);
    j["partialSuccess"] = std::move(p);
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string OtlpPartialSuccessMessage(const ReadStats& stats) {
  if (stats.errors.empty()) return std::string();
  return std::to_string(stats.skipped) + " rejected; first: " + stats.errors.front();
}

std::string WriteOtlpProtoFrame(std::string_view message) {
  std::string out;
  uint64_t n = message.size();
  do {
    uint8_t b = n & 0x7f;
    n >>= 7;
    out.push_back(static_cast<char>(n ? (b | 0x80) : b));
  } while (n);
  out.append(message);
  return out;
}

bool DetectOtlpSignal(std::string_view bytes, OtlpSignal* out) {
  return Unambiguous(Detect(bytes, false), out);
}

bool LooksLikeOtlpProto(std::string_view head) {
  OtlpSignal s;
  WireReader r = ReaderOf(head);
  uint64_t len;
  if (r.Varint(&len) && len > 0) {
    size_t avail = static_cast<size_t>(r.end - r.p);
    std::string_view frame(reinterpret_cast<const char*>(r.p), std::min<uint64_t>(len, avail));
    if (Unambiguous(Detect(frame, len > avail), &s)) return true;
  }
  return Unambiguous(Detect(head, true), &s);
}

Status ParseOtlpProtoFile(std::string_view contents, TelemetrySink& sink, ReadStats* stats,
                          std::string_view source, const OtlpProtoLimits& limits) {
  ReadStats local;
  ReadStats* st = stats != nullptr ? stats : &local;
  if (contents.empty()) return Status::OK();
  std::vector<std::string_view> frames;
  const bool framed = SplitFrames(contents, &frames);
  bool frames_clean = framed;
  for (size_t i = 0; frames_clean && i < frames.size(); ++i) {
    Detection d = Detect(frames[i], false);
    OtlpSignal s;
    frames_clean = d.valid && (d.records == 0 || Unambiguous(d, &s));
  }
  const Detection whole = Detect(contents, false);
  if (!frames_clean && whole.valid) {  // one request
    ++st->lines;
    OtlpSignal s;
    if (whole.records == 0) return Status::OK();
    if (!Unambiguous(whole, &s))
      return Status::Corruption(std::string(source) +
                                ": cannot tell whether the OTLP request holds spans, logs or "
                                "metrics");
    return ParseOtlpProto(s, contents, sink, st, source, limits, 1);
  }
  if (frames.empty())
    return Status::Corruption(std::string(source) +
                              ": neither length-delimited OTLP protobuf requests nor one request");
  size_t ok = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    ++st->lines;
    const uint64_t line = i + 1;
    Detection d = Detect(frames[i], false);
    OtlpSignal s;
    if (d.valid && d.records == 0) {
      ++ok;
      continue;
    }
    if (!Unambiguous(d, &s)) {
      st->Skip(source, line,
               d.valid ? "cannot tell whether the OTLP request holds spans, logs or metrics"
                       : "not an OTLP protobuf request");
      continue;
    }
    Status status = ParseOtlpProto(s, frames[i], sink, st, source, limits, line);
    if (!status.ok()) {
      st->Skip(source, line, status.ToString());
      continue;
    }
    ++ok;
  }
  if (!framed) {
    ++st->lines;
    st->Skip(source, frames.size() + 1, "truncated or corrupt length-delimited frame; rest of the input ignored");
  }
  if (ok == 0)
    return Status::Corruption(std::string(source) + ": none of its " +
                              std::to_string(frames.size()) + " OTLP protobuf frames is valid");
  return Status::OK();
}

Status ReadOtlpProtoFile(const std::string& path, TelemetrySink& sink, ReadStats* stats) {
  std::unique_ptr<LineReader> in;
  TRIAD_RETURN_IF_ERROR(LineReader::Open(path, &in));
  std::string data;
  TRIAD_RETURN_IF_ERROR(in->ReadAll(&data));
  return ParseOtlpProtoFile(data, sink, stats, in->name());
}

}  // namespace triad
